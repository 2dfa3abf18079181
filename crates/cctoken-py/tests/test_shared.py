"""Shared with the CLI beyond the disk cache: CCTOKEN_AGENT (a running `cctoken agent`
answers `from_profile`) and `cache="redis://…"` (a fleet's Redis serves another host's
disk-less process)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

import cctoken
from cctoken.testing import Emulator
from conftest import require_peer, token_requests


def write_profile(home: Path, emu: Emulator) -> None:
    conf = home / "xdg_config_home" / "cctoken"
    conf.mkdir(mode=0o700, exist_ok=True)
    (conf / "config.toml").write_text(
        f'[profiles.emu]\nprovider = "generic"\ntoken_url = "{emu.token_url}"\napi_base = "{emu.url}"\n'
        f'client_id = "{emu.demo_client_id}"\nclient_secret_env = "EMU_SECRET"\n'
    )


@pytest.fixture
def agent(isolated: Path, emu: Emulator, cctoken_bin: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    write_profile(isolated, emu)
    run = isolated / "run"
    run.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    env = dict(os.environ, EMU_SECRET=emu.demo_client_secret)
    p = subprocess.Popen([cctoken_bin, "agent"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert p.stdout is not None
        line = p.stdout.readline().strip()
        assert line.startswith("listening on unix:"), line
        yield "unix:" + line[len("listening on unix:") :]
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=30)


def test_from_profile_asks_the_agent_named_by_cctoken_agent(agent: str, emu: Emulator,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCTOKEN_AGENT", agent)
    # No secret here: the agent holds it.
    monkeypatch.delenv("EMU_SECRET", raising=False)
    src = cctoken.TokenSource.from_profile("emu")
    t = src.token()
    assert t.source == "agent"
    assert src.api_base == emu.url
    assert "agent=" in repr(src)
    # The agent answers every source from the token it holds.
    assert cctoken.TokenSource.from_profile("emu").token().access_token == t.access_token
    assert token_requests(emu) == 1


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        require_peer("redis-server")
    sock = tmp_path / "redis.sock"
    p = subprocess.Popen([str(server), "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
                          "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if sock.exists():
                break
            time.sleep(0.05)
        assert sock.exists(), "redis-server did not start"
        yield f"redis+unix://{sock}"
    finally:
        p.terminate()
        p.wait(timeout=30)


def test_a_redis_cache_serves_a_process_with_another_disk(emu: Emulator, redis_url: str, isolated: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def src() -> cctoken.TokenSource:
        return cctoken.TokenSource.generic(token_url=emu.token_url, client_id=emu.demo_client_id,
                                           client_secret=emu.demo_client_secret, cache=redis_url)

    first = src().token()
    other = isolated / "another-host-cache"
    other.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_CACHE_HOME", str(other))
    second = src().token()
    assert second.access_token == first.access_token
    assert second.source == "cache"
    assert token_requests(emu) == 1
