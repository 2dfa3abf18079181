"""Shared fixtures: an isolated cache/config per test, a canary secret scanned for in every
log record, and the `cctoken` binary for the tests that mix it with Python.

Missing peers (the Genesys SDK, httpx, the CLI binary) skip loudly, and fail instead with
CCTOKEN_REQUIRE_PEERS=1, like the Rust tests.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

import cctoken
from cctoken.testing import Emulator

REPO = Path(__file__).resolve().parents[3]
CANARY_ID = "canary-client"
CANARY_SECRET = "CANARY-s3cret-7f1e9c"


def require_peer(what: str) -> None:
    """Skip (or, with CCTOKEN_REQUIRE_PEERS=1, fail) because `what` is missing."""
    message = f"PEER MISSING: {what} (install with scripts/install-peers)"
    if os.environ.get("CCTOKEN_REQUIRE_PEERS") == "1":
        pytest.fail(message)
    print(f"\n*** SKIPPED: {message} ***")
    pytest.skip(message)


def import_peer(module: str):  # type: ignore[no-untyped-def]
    try:
        return __import__(module)
    except ImportError:
        require_peer(f"python package {module}")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own XDG cache and config directories and no agent."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    for var in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        d = home / var.lower()
        d.mkdir(mode=0o700)
        monkeypatch.setenv(var, str(d))
    monkeypatch.setenv("HOME", str(home))
    for var in ("CCTOKEN_AGENT", "CCTOKEN_CONFIG", "CCTOKEN_CLIENT_SECRET", "GENESYSCLOUD_OAUTHCLIENT_SECRET",
                "GENESYSCLOUD_REGION", "GENESYSCLOUD_OAUTHCLIENT_ID"):
        monkeypatch.delenv(var, raising=False)
    return home


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> list[str]:
        return [self.format(r) for r in self.records]


@pytest.fixture
def logs() -> Iterator[Records]:
    """Every record of the `cctoken` logger at DEBUG and up."""
    h = Records()
    logger = logging.getLogger("cctoken")
    old = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(h)
    try:
        yield h
    finally:
        cctoken._native._flush_logs()
        logger.removeHandler(h)
        logger.setLevel(old)


CANARY_CONFIG = f"""
flavor = "generic"
[[clients]]
id = "{CANARY_ID}"
secrets = ["{CANARY_SECRET}"]
scopes = ["read"]
"""


@pytest.fixture
def canary_emulator() -> Iterator[Emulator]:
    """A generic emulator whose one client has the canary secret (and the demo clients)."""
    with Emulator(config=CANARY_CONFIG) as emu:
        yield emu


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


def source(emu: Emulator, **kw):  # type: ignore[no-untyped-def]
    return cctoken.TokenSource.generic(
        token_url=emu.token_url, client_id=emu.demo_client_id, client_secret=emu.demo_client_secret, **kw
    )


def token_requests(emu: Emulator) -> int:
    return int(emu.stats()["token_requests_total"])


@pytest.fixture
def cctoken_bin() -> str:
    """The `cctoken` CLI built by cargo (CCTOKEN_BIN, else target/debug/cctoken)."""
    path = os.environ.get("CCTOKEN_BIN") or str(REPO / "target" / "debug" / "cctoken")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        found = shutil.which("cctoken")
        if not found:
            require_peer(f"the cctoken binary ({path}; build it with cargo build -p cctoken-cli)")
        path = str(found)
    return path
