"""A faithful OAuth2 token server for tests: the Rust emulator (SPEC §10), in-process.

>>> from cctoken.testing import Emulator
>>> with Emulator("genesys", token_lifetime="3s") as emu:
...     src = cctoken.TokenSource.generic(token_url=emu.token_url,
...         client_id=emu.demo_client_id, client_secret=emu.demo_client_secret)
...     emu.fault({"kind": "status", "status": 503, "count": 2})
...     src.token().source
'network'

It speaks client credentials, discovery, introspection and revocation in three flavors
(``generic``, ``genesys``, ``cxone``), injects faults (``fault()``: 5xx, 429 with
``Retry-After``, connection resets, HTML pages, truncated bodies, delays) and counts
everything (``stats()``, ``activity()``). With pytest, the ``cctoken_emulator`` fixture
gives a fresh one per test.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence, Union

from . import _native

__all__ = ["Emulator"]


def _lifetime_ms(value: Union[str, float, int, None]) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
        for suffix in ("ms", "s", "m", "h"):
            if text.endswith(suffix):
                number = text[: -len(suffix)].strip()
                try:
                    return int(float(number) * units[suffix] * 1000)
                except ValueError:
                    break
        raise ValueError(f"token_lifetime={value!r} is not a duration such as '3s', '500ms' or '1h'")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError("token_lifetime= must be seconds or a duration string such as '3s'")
    return int(value * 1000)


class Emulator:
    """The emulator on ``127.0.0.1`` at a free port, until :meth:`close` (or the end of a
    ``with`` block).

    ``flavor`` is ``"generic"``, ``"genesys"`` or ``"cxone"``; ``demo`` registers the demo
    clients (``demo_client_id``/``demo_client_secret``, and for CXone
    ``demo_access_key_id``/``demo_access_key_secret``); ``token_lifetime`` is seconds or a
    duration string (``"3s"``); ``config`` is an emulator TOML file (a path) or its text.
    """

    def __init__(
        self,
        flavor: str = "generic",
        *,
        demo: bool = True,
        token_lifetime: Union[str, float, int, None] = None,
        config: Union[str, "os.PathLike[str]", None] = None,
    ) -> None:
        toml = None
        if config is not None:
            if isinstance(config, os.PathLike) or ("\n" not in config and Path(config).is_file()):
                toml = Path(config).read_text(encoding="utf-8")
            else:
                toml = str(config)
        self._native = _native._Emulator(flavor, demo, _lifetime_ms(token_lifetime), toml)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: the issuer, and the API base of the Genesys routes."""
        return self._native.url

    @property
    def token_url(self) -> str:
        """The token endpoint."""
        return self._native.url + "/oauth/token"

    @property
    def flavor(self) -> str:
        return self._native.flavor

    @property
    def demo_client_id(self) -> str:
        return self._native.demo_client_id

    @property
    def demo_client_secret(self) -> str:
        return self._native.demo_client_secret

    @property
    def demo_access_key_id(self) -> str | None:
        return self._native.demo_access_key_id

    @property
    def demo_access_key_secret(self) -> str | None:
        return self._native.demo_access_key_secret

    def stats(self) -> dict[str, Any]:
        """The counters (as ``/_emulator/stats``): ``token_requests_total``, ``tokens_issued_total``, …"""
        result: dict[str, Any] = json.loads(self._native.stats_json())
        return result

    def activity(self) -> list[dict[str, Any]]:
        """The activity log, oldest first: one dict per request, with the exact reason of every rejection."""
        result: list[dict[str, Any]] = json.loads(self._native.activity_json())
        return result

    def fault(self, spec: Union[Mapping[str, Any], Sequence[Mapping[str, Any]]]) -> None:
        """Queue faults for the next token requests, e.g. ``{"kind": "status", "status": 503, "count": 2}``.

        Kinds: ``status``, ``rate_limit`` (``retry_after``), ``delay`` (``ms``), ``html``,
        ``truncate``, ``reset``, ``token_rate_limit``; with ``count``, ``probability``,
        ``seed``, ``client``, ``after``, ``until``.
        """
        self._native.fault_json(json.dumps(spec if isinstance(spec, Mapping) else list(spec)))

    def clear_faults(self) -> int:
        """Drop the queued faults; how many there were."""
        n: int = self._native.clear_faults()
        return n

    def close(self) -> None:
        """Stop serving (idempotent)."""
        self._native.close()

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<cctoken.testing.Emulator {self.flavor} {self.url}>"
