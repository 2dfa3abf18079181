"""The official Genesys Cloud Python SDK (``PureCloudPlatformClientV2``) with tokens from
a :class:`cctoken.TokenSource`.

>>> import PureCloudPlatformClientV2 as gc, cctoken
>>> src = cctoken.TokenSource.genesys(region="eu-west-1", client_id=cid,
...                                   client_secret_env="GENESYS_SECRET")
>>> api = gc.TokensApi(cctoken.genesys.ApiClient(src))
>>> api.get_tokens_me().organization.name
'Example Org'

The SDK keeps the token of ``get_client_credentials_token`` forever (it discards
``expires_in`` and has no client-credentials refresh). This ``ApiClient`` reads
``access_token`` from ``source`` on every call instead, so the SDK's API classes keep
working for as long as the process runs; a 401 invalidates the token and retries once.
"""

from __future__ import annotations

import threading
from typing import Any

import PureCloudPlatformClientV2 as _gc  # type: ignore[import-untyped]
from PureCloudPlatformClientV2.rest import ApiException  # type: ignore[import-untyped]

from ._native import TokenSource

__all__ = ["ApiClient"]


class ApiClient(_gc.ApiClient):  # type: ignore[misc]
    """A ``PureCloudPlatformClientV2.ApiClient`` whose ``access_token`` always comes fresh
    from ``source``. ``host`` defaults to the source's ``api_base``; other keywords go to
    the SDK's ``ApiClient``."""

    def __init__(self, source: TokenSource, host: str | None = None, **kw: Any) -> None:
        self._cctoken_source = source
        self._cctoken_sent = threading.local()
        super().__init__(host=(host or source.api_base or "").rstrip("/") or None, **kw)

    @property
    def access_token(self) -> str:
        token = self._cctoken_source.token().access_token
        self._cctoken_sent.token = token
        return token

    @access_token.setter
    def access_token(self, value: str) -> None:
        # The SDK assigns "" in __init__ and the token of its own grant calls; the source
        # is the only place tokens come from here.
        pass

    def call_api(self, resource_path: str, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().call_api(resource_path, method, *args, **kwargs)
        except ApiException as e:
            sent = getattr(self._cctoken_sent, "token", None)
            if e.status != 401 or sent is None or kwargs.get("callback") is not None:
                raise
            # The Authorization header is set again from `access_token` on the resend.
            self._cctoken_source.invalidate(sent)
            return super().call_api(resource_path, method, *args, **kwargs)
