"""pool_size= and api_rate_limit=: the source hands out the tokens of a paced pool
(SPEC §13, cctoken::pool) against the in-process emulator."""

from __future__ import annotations

import asyncio
import time

import pytest

import cctoken
from cctoken.testing import Emulator
from conftest import source, token_requests


def test_a_pool_spreads_the_calls_over_its_tokens(emu: Emulator) -> None:
    src = source(emu, pool_size=2, api_rate_limit="10/1s", cache="memory")
    assert src.pool_size == 2
    seen = set()
    for _ in range(12):
        seen.add(src.token().access_token)
    # 9 calls per token and second (90 % of the limit): 12 calls need both tokens.
    assert len(seen) == 2
    assert token_requests(emu) == 2
    assert source(emu, cache="memory").pool_size == 1


def test_a_call_with_no_room_is_refused_locally_with_its_wait(emu: Emulator) -> None:
    src = source(emu, api_rate_limit="1/60s", cache="memory")
    assert src.pool_size == 1
    src.token()
    started = time.monotonic()
    with pytest.raises(cctoken.RateLimited) as e:
        src.token()
    # Refused after waiting at most the pool's 2 s, never sent to the API.
    assert time.monotonic() - started < 5
    assert e.value.retry_after is not None and 50 < e.value.retry_after <= 60
    assert token_requests(emu) == 1


def test_the_async_source_leases_from_its_pool(emu: Emulator) -> None:
    async def main() -> set[str]:
        src = cctoken.AsyncTokenSource.generic(
            token_url=emu.token_url,
            client_id=emu.demo_client_id,
            client_secret=emu.demo_client_secret,
            pool_size=2,
            api_rate_limit="10/1s",
            cache="memory",
        )
        tokens = [await src.token() for _ in range(12)]
        return {t.access_token for t in tokens}

    assert len(asyncio.run(main())) == 2


def test_invalidate_reaches_the_slot_that_holds_the_token(emu: Emulator) -> None:
    src = source(emu, pool_size=2, cache="memory")
    t = src.token()
    assert src.invalidate(t.access_token)
    assert src.token().access_token != t.access_token


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"pool_size": 0}, "pool"),
        ({"api_rate_limit": "lots"}, "api_rate_limit"),
        ({"pool_size": 2, "min_ttl": 60}, "min_ttl"),
    ],
)
def test_bad_pool_settings_are_config_errors(emu: Emulator, kw: dict[str, object], message: str) -> None:
    with pytest.raises(cctoken.ConfigError, match=message):
        source(emu, cache="memory", **kw)


def test_pool_size_must_be_an_int(emu: Emulator) -> None:
    with pytest.raises(TypeError):
        source(emu, pool_size="2")
    with pytest.raises(ValueError, match="min_ttl"):
        source(emu, pool_size=2, cache="memory").token(min_ttl=30)
