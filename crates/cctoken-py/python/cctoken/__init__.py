"""OAuth2 client-credentials tokens that work the first time and keep working.

The same Rust core as the ``cctoken`` CLI: a :class:`TokenSource` shares the CLI's
encrypted on-disk cache (so one request serves every thread, task and process, and a token
the CLI fetched serves Python), refreshes ahead of expiry, keeps serving the current token
through server faults, and honours ``CCTOKEN_AGENT`` and the profile file's ``[cache]``.

>>> import cctoken, requests
>>> src = cctoken.TokenSource.from_profile("prod")
>>> requests.get(src.api_base + "/api/v2/users/me", auth=cctoken.requests.BearerAuth(src))

Records go to the :mod:`logging` logger ``cctoken``; no record, ``repr`` or exception ever
holds a secret or a token.
"""

from __future__ import annotations

import atexit as _atexit
import os as _os

from . import _native
from ._errors import (
    ConfigError,
    InvalidClient,
    InvalidScope,
    RateLimited,
    Rejected,
    TokenError,
    Unavailable,
    UnauthorizedClient,
)
from ._native import AsyncTokenSource, Token, TokenSource

__version__: str = _native.__version__

__all__ = [
    "TokenSource",
    "AsyncTokenSource",
    "Token",
    "TokenError",
    "ConfigError",
    "Rejected",
    "InvalidClient",
    "UnauthorizedClient",
    "InvalidScope",
    "Unavailable",
    "RateLimited",
]

# After os.fork() the child's first call builds a new runtime and new sources (gunicorn
# --preload, Celery, multiprocessing's fork start method): the parent's threads are gone.
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_native._after_fork_in_child)

# Before the interpreter finalizes, the extension's threads stop touching Python.
_atexit.register(_native._at_exit)


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    # The adapters import their optional dependency, so they load on first use:
    # `cctoken.requests.BearerAuth` works after a plain `import cctoken`.
    if name in ("requests", "httpx", "genesys", "testing"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
