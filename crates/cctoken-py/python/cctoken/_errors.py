"""The exceptions of cctoken: one hierarchy mirroring the Rust core's error taxonomy.

They are plain Python classes (the native module raises them by name), so they pickle,
subclass and type-check like any other exception. No secret or token ever appears in
their text or attributes: a secret is shown by its fingerprint (``len=N sha256:XXXXXXXX``).

>>> try:
...     TokenSource.generic(token_url=url, client_id="x", client_secret="wrong").token()
... except cctoken.InvalidClient as e:
...     print(e.exit_code, e.kind, e.hint is not None)
3 invalid_client True
"""

from __future__ import annotations

__all__ = [
    "TokenError",
    "ConfigError",
    "Rejected",
    "InvalidClient",
    "UnauthorizedClient",
    "InvalidScope",
    "Unavailable",
    "RateLimited",
]


class TokenError(Exception):
    """Base of every cctoken error.

    Attributes: ``kind`` (the taxonomy name, e.g. ``"invalid_client"``), ``hint`` (what to
    do, or None), ``status`` (the HTTP status, or None), ``fingerprint`` (of the secret
    that was presented, or None), ``exit_code`` (the CLI's: 2 config, 3 rejected,
    4 unavailable) and ``message`` (the one-line message without the hint).
    ``str(e)`` is the CLI's message plus the hint.
    """

    exit_code: int = 1

    def __init__(
        self,
        text: str,
        *,
        kind: str = "",
        hint: str | None = None,
        status: int | None = None,
        fingerprint: str | None = None,
        exit_code: int | None = None,
        message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(text)
        self.kind = kind
        self.hint = hint
        self.status = status
        self.fingerprint = fingerprint
        if exit_code is not None:
            self.exit_code = exit_code
        self.message = message if message is not None else text.split("\n", 1)[0]
        if retry_after is not None or isinstance(self, RateLimited):
            self.retry_after = retry_after

    def __reduce__(self):  # type: ignore[no-untyped-def]
        kw = {
            "kind": self.kind,
            "hint": self.hint,
            "status": self.status,
            "fingerprint": self.fingerprint,
            "exit_code": self.exit_code,
            "message": self.message,
            "retry_after": getattr(self, "retry_after", None),
        }
        return (_rebuild, (type(self), str(self), kw))


def _rebuild(cls: type[TokenError], text: str, kw: dict) -> TokenError:  # type: ignore[type-arg]
    return cls(text, **kw)


class ConfigError(TokenError):
    """Bad configuration or input, found before anything was sent (exit code 2)."""

    exit_code = 2


class Rejected(TokenError):
    """The server refused the request; retrying will not help (exit code 3)."""

    exit_code = 3


class InvalidClient(Rejected):
    """Unknown client id, wrong secret, or a client authentication method the server refuses."""


class UnauthorizedClient(Rejected):
    """The client may not use the client-credentials grant."""


class InvalidScope(Rejected):
    """A requested scope is unknown or not granted to this client."""


class Unavailable(TokenError):
    """The server could not be reached or answered with a temporary failure (exit code 4)."""

    exit_code = 4


class RateLimited(Unavailable):
    """The server asked to slow down; ``retry_after`` is its wait in seconds, or None."""

    retry_after: float | None = None
