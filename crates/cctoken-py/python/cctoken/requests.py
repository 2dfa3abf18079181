"""``requests`` authentication with a :class:`cctoken.TokenSource`.

>>> import requests, cctoken
>>> session = requests.Session()
>>> session.auth = cctoken.requests.BearerAuth(src)
>>> session.get(api + "/api/v2/tokens/me").status_code
200

Each request carries a fresh token. When the API answers 401, the token is invalidated
(once for every thread and process sharing it) and the request is sent again, once, with
a new token.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.auth import AuthBase

from ._native import TokenSource

__all__ = ["BearerAuth"]


class BearerAuth(AuthBase):
    """A :class:`requests.auth.AuthBase` that sets ``Authorization: Bearer …`` from
    ``source`` and recovers from one 401 per request."""

    def __init__(self, source: TokenSource) -> None:
        self.source = source

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self.source.token().access_token
        r.headers["Authorization"] = "Bearer " + token
        r.register_hook("response", self._on_response)
        return r

    def _on_response(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        request = response.request
        if response.status_code != 401 or getattr(request, "_cctoken_retried", False):
            return response
        sent = str(request.headers.get("Authorization", ""))
        if sent.startswith("Bearer "):
            self.source.invalidate(sent[len("Bearer ") :])
        retry = request.copy()
        retry._cctoken_retried = True  # type: ignore[attr-defined]
        retry.headers["Authorization"] = "Bearer " + self.source.token().access_token
        # The first answer is consumed and its connection released before the resend.
        response.content
        response.close()
        if hasattr(retry, "body") and hasattr(retry.body, "seek"):
            retry.body.seek(0)  # type: ignore[union-attr]
        new = response.connection.send(retry, **kwargs)
        new.history.append(response)
        new.request = retry
        return new

    def __repr__(self) -> str:
        return f"<cctoken.requests.BearerAuth {self.source!r}>"
