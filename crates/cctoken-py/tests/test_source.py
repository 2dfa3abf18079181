"""TokenSource and Token against the in-process emulator: the basics, refresh ahead,
serving through faults, invalidation, min_ttl, and sharing the cache with the CLI."""

from __future__ import annotations

import os
import stat
import subprocess
import time

import pytest

import cctoken
from cctoken.testing import Emulator
from conftest import source, token_requests


def test_a_token_and_its_fields(emu: Emulator) -> None:
    src = source(emu, scopes=["read"])
    t = src.token()
    assert t.token_type == "Bearer"
    assert t.source == "network"
    assert t.scope == "read"
    assert t.expires_at > time.time()
    assert 0 < t.expires_in <= 3600
    assert src.headers() == {"Authorization": "Bearer " + t.access_token}
    # The same object while the token stays the same; one request in all.
    assert src.token() is src.token()
    assert token_requests(emu) == 1
    assert t.access_token not in repr(t)
    assert t.fingerprint in repr(t)


def test_the_disk_cache_serves_a_second_source_and_is_private(emu: Emulator, isolated) -> None:  # type: ignore[no-untyped-def]
    a = source(emu).token()
    b = source(emu).token()
    assert b.access_token == a.access_token
    assert b.source == "cache"
    assert token_requests(emu) == 1
    cache = isolated / "xdg_cache_home" / "cctoken"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    files = [p for p in cache.rglob("*") if p.is_file()]
    assert files
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        assert a.access_token.encode() not in f.read_bytes()


def test_memory_cache_shares_nothing(emu: Emulator) -> None:
    source(emu, cache="memory").token()
    source(emu, cache="memory").token()
    assert token_requests(emu) == 2


def test_invalidate_drops_the_current_token_once(emu: Emulator) -> None:
    src = source(emu)
    t1 = src.token()
    assert src.invalidate(t1.access_token) is True
    assert src.invalidate(t1.access_token) is False  # already dropped
    t2 = src.token()
    assert t2.access_token != t1.access_token
    assert token_requests(emu) == 2
    # A second process's source (same disk cache) gets the new token, not the rejected one.
    assert source(emu).token().access_token == t2.access_token
    assert token_requests(emu) == 2


def test_min_ttl_beyond_the_lifetime_is_a_config_error() -> None:
    with Emulator(token_lifetime="60s") as emu:
        src = source(emu)
        assert src.token(min_ttl=10).expires_in > 10
        with pytest.raises(cctoken.Rejected) as e:
            src.token(min_ttl="5m")
        assert "exec" in str(e.value)


def test_refresh_ahead_replaces_the_token_before_it_expires() -> None:
    with Emulator(token_lifetime="2s") as emu:
        src = source(emu, cache="memory")
        seen = [src.token()]
        deadline = time.monotonic() + 15
        while len(seen) < 4 and time.monotonic() < deadline:
            t = src.token()
            assert t.expires_in > 0
            if t.access_token != seen[-1].access_token:
                # The new one arrived while the old one was still valid.
                assert seen[-1].expires_at > time.time() - 0.5
                seen.append(t)
            time.sleep(0.02)
        assert len(seen) >= 4
        assert token_requests(emu) == len(seen) or token_requests(emu) == len(seen) + 1


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 503, "count": 3},
        {"kind": "rate_limit", "retry_after": 1, "count": 2},
        {"kind": "reset", "count": 3},
    ],
)
def test_serving_through_faults_while_the_token_is_valid(fault: dict) -> None:  # type: ignore[type-arg]
    with Emulator(token_lifetime="4s") as emu:
        src = source(emu, cache="memory")
        first = src.token()
        emu.fault(fault)
        deadline = time.monotonic() + 20
        served = []
        while time.monotonic() < deadline:
            t = src.token()  # never raises while `first` is valid
            served.append(t.access_token)
            if t.access_token != first.access_token:
                break
            time.sleep(0.02)
        assert served[-1] != first.access_token, "a new token once the faults were spent"
        assert emu.stats()["faults_applied_total"] >= 1


def test_a_token_fetched_by_the_cli_serves_python_and_the_reverse(emu: Emulator, cctoken_bin: str) -> None:
    env = dict(os.environ, CCTOKEN_CLIENT_SECRET=emu.demo_client_secret)
    def cli() -> str:
        out = subprocess.run(
            [cctoken_bin, "get", "--token-url", emu.token_url, "--client-id", emu.demo_client_id],
            env=env, capture_output=True, text=True, timeout=60, check=True,
        )
        return out.stdout.strip()

    by_cli = cli()
    assert token_requests(emu) == 1
    t = source(emu).token()
    assert t.access_token == by_cli and t.source == "cache"
    assert token_requests(emu) == 1
    # The reverse: a token Python fetched (after invalidating that one) serves the CLI.
    src = source(emu)
    src.invalidate(src.token().access_token)
    by_python = src.token().access_token
    assert token_requests(emu) == 2
    assert cli() == by_python
    assert token_requests(emu) == 2


def test_from_profile_uses_the_clis_profile_file(emu: Emulator, isolated, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    conf = isolated / "xdg_config_home" / "cctoken"
    conf.mkdir(mode=0o700)
    (conf / "config.toml").write_text(
        f'[profiles.emu]\ntoken_url = "{emu.token_url}"\nclient_id = "{emu.demo_client_id}"\n'
        'client_secret_env = "EMU_SECRET"\nscopes = ["read"]\n'
    )
    monkeypatch.setenv("EMU_SECRET", emu.demo_client_secret)
    t = cctoken.TokenSource.from_profile("emu").token()
    assert t.scope == "read"
    with pytest.raises(cctoken.ConfigError) as e:
        cctoken.TokenSource.from_profile("nope")
    assert "emu" in str(e.value)


def test_keywords_are_checked() -> None:
    with pytest.raises(TypeError):
        cctoken.TokenSource.generic(token_url="http://127.0.0.1:9/t", client_id="x", client_secret="s", colour="red")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        cctoken.TokenSource.generic(token_url="http://127.0.0.1:9/t", client_id="x", client_secret=42)  # type: ignore[arg-type]
    with pytest.raises(cctoken.ConfigError):
        cctoken.TokenSource.generic(token_url="http://127.0.0.1:9/t", client_id="x", client_secret="s", cache="floppy")
    with pytest.raises(cctoken.ConfigError):
        cctoken.TokenSource.generic(token_url="not a url", client_id="x", client_secret="s")
    # A callable secret, and the §4 normalisation (a trailing newline is stripped).
    cctoken.TokenSource.generic(token_url="http://127.0.0.1:9/t", client_id="x", client_secret=lambda: "s\n")


def test_closed_sources_refuse_calls(emu: Emulator) -> None:
    with source(emu) as src:
        src.token()
    with pytest.raises(ValueError):
        src.token()


def test_genesys_and_cxone_constructors() -> None:
    with Emulator("genesys") as emu:
        src = cctoken.TokenSource.genesys(
            region="eu-west-1", client_id=emu.demo_client_id, client_secret=emu.demo_client_secret,
            token_url=emu.token_url, api_base=emu.url,
        )
        assert src.token().token_type == "Bearer"
        assert src.api_base is not None and src.api_base.startswith(emu.url)
    with Emulator("cxone") as emu:
        src = cctoken.TokenSource.cxone(
            client_id=emu.demo_client_id, client_secret=emu.demo_client_secret,
            access_key_id=emu.demo_access_key_id, access_key_secret=emu.demo_access_key_secret,  # type: ignore[arg-type]
            issuer=emu.url,
        )
        assert src.token().token_type == "Bearer"
