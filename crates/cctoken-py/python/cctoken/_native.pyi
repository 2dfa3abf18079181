"""Type stubs of the native module ``cctoken._native`` (checked by ``mypy.stubtest``)."""

import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, final

from typing_extensions import Self

__all__ = [
    "Token",
    "TokenSource",
    "AsyncTokenSource",
    "_Emulator",
    "_after_fork_in_child",
    "_at_exit",
    "_flush_logs",
    "_dropped_log_records",
    "__version__",
]

__version__: str

_Secret = str | Callable[[], str]
_Duration = float | int | str
_Scopes = str | Sequence[str]

@final
class Token:
    @property
    def access_token(self) -> str: ...
    @property
    def token_type(self) -> str: ...
    @property
    def expires_at(self) -> float: ...
    @property
    def expires_in(self) -> float: ...
    @property
    def scope(self) -> str | None: ...
    @property
    def source(self) -> Literal["network", "cache", "agent"]: ...
    @property
    def fingerprint(self) -> str: ...

@final
class TokenSource:
    @classmethod
    def from_profile(
        cls,
        name: str | None = None,
        *,
        config: str | os.PathLike[str] | None = None,
        **kw: Any,
    ) -> Self: ...
    @classmethod
    def genesys(
        cls,
        *,
        region: str,
        client_id: str,
        client_secret: _Secret | None = None,
        **kw: Any,
    ) -> Self: ...
    @classmethod
    def generic(
        cls,
        *,
        token_url: str | None = None,
        issuer: str | None = None,
        client_id: str,
        client_secret: _Secret | None = None,
        **kw: Any,
    ) -> Self: ...
    @classmethod
    def cxone(
        cls,
        *,
        client_id: str,
        client_secret: _Secret | None = None,
        access_key_id: str,
        access_key_secret: _Secret | None = None,
        issuer: str | None = None,
        **kw: Any,
    ) -> Self: ...
    def token(self, min_ttl: _Duration | None = None) -> Token: ...
    def headers(self) -> dict[str, str]: ...
    def invalidate(self, access_token: str) -> bool: ...
    @property
    def api_base(self) -> str | None: ...
    @property
    def pool_size(self) -> int: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *_exc: object) -> bool: ...

@final
class AsyncTokenSource:
    @classmethod
    def from_profile(
        cls,
        name: str | None = None,
        *,
        config: str | os.PathLike[str] | None = None,
        **kw: Any,
    ) -> Self: ...
    @classmethod
    def genesys(
        cls,
        *,
        region: str,
        client_id: str,
        client_secret: _Secret | None = None,
        **kw: Any,
    ) -> Self: ...
    @classmethod
    def generic(
        cls,
        *,
        token_url: str | None = None,
        issuer: str | None = None,
        client_id: str,
        client_secret: _Secret | None = None,
        **kw: Any,
    ) -> Self: ...
    @classmethod
    def cxone(
        cls,
        *,
        client_id: str,
        client_secret: _Secret | None = None,
        access_key_id: str,
        access_key_secret: _Secret | None = None,
        issuer: str | None = None,
        **kw: Any,
    ) -> Self: ...
    def token(self, min_ttl: _Duration | None = None) -> Awaitable[Token]: ...
    def headers(self) -> Awaitable[dict[str, str]]: ...
    def invalidate(self, access_token: str) -> bool: ...
    @property
    def api_base(self) -> str | None: ...
    @property
    def pool_size(self) -> int: ...
    def close(self) -> None: ...
    def aclose(self) -> Awaitable[None]: ...
    def __aenter__(self) -> Awaitable[Self]: ...
    def __aexit__(self, *_exc: object) -> Awaitable[bool]: ...

@final
class _Emulator:
    def __new__(
        cls,
        flavor: str,
        demo: bool,
        token_lifetime_ms: int | None,
        config_toml: str | None,
    ) -> Self: ...
    @property
    def url(self) -> str: ...
    @property
    def flavor(self) -> str: ...
    @property
    def demo_client_id(self) -> str: ...
    @property
    def demo_client_secret(self) -> str: ...
    @property
    def demo_access_key_id(self) -> str | None: ...
    @property
    def demo_access_key_secret(self) -> str | None: ...
    def stats_json(self) -> str: ...
    def activity_json(self) -> str: ...
    def fault_json(self, json: str) -> None: ...
    def clear_faults(self) -> int: ...
    def close(self) -> None: ...

def _after_fork_in_child() -> None: ...
def _at_exit() -> None: ...
def _flush_logs() -> None: ...
def _dropped_log_records() -> int: ...
