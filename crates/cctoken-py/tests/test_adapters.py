"""The adapters against the emulator's protected API (/api/v2/tokens/me): requests and
httpx (sync and async) recover from a revoked token with exactly one new fetch, and the
Genesys SDK's TokensApi works through cctoken.genesys.ApiClient across token lifetimes."""

from __future__ import annotations

import asyncio
import time

import cctoken
from cctoken.testing import Emulator
from conftest import import_peer, source, token_requests


def revoke(emu: Emulator, token: str) -> None:
    """Revoke `token` at the emulator (DELETE /api/v2/tokens/me), as an admin would."""
    import urllib.request

    req = urllib.request.Request(emu.url + "/api/v2/tokens/me", method="DELETE",
                                 headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status in (200, 202, 204)


def test_requests_bearer_auth_recovers_from_a_401_with_one_fetch(emu: Emulator) -> None:
    requests = import_peer("requests")
    src = source(emu)
    s = requests.Session()
    s.auth = cctoken.requests.BearerAuth(src)
    assert s.get(emu.url + "/api/v2/tokens/me", timeout=30).status_code == 200
    revoke(emu, src.token().access_token)
    r = s.get(emu.url + "/api/v2/tokens/me", timeout=30)
    assert r.status_code == 200
    assert [h.status_code for h in r.history] == [401]
    assert token_requests(emu) == 2
    assert s.get(emu.url + "/api/v2/tokens/me", timeout=30).status_code == 200
    assert token_requests(emu) == 2


def test_httpx_bearer_auth_sync_recovers_from_a_401(emu: Emulator) -> None:
    httpx = import_peer("httpx")
    src = source(emu)
    with httpx.Client(auth=cctoken.httpx.BearerAuth(src), timeout=30) as c:
        assert c.get(emu.url + "/api/v2/tokens/me").status_code == 200
        revoke(emu, src.token().access_token)
        assert c.get(emu.url + "/api/v2/tokens/me").status_code == 200
    assert token_requests(emu) == 2


def test_httpx_bearer_auth_async_recovers_from_a_401(emu: Emulator) -> None:
    httpx = import_peer("httpx")
    src = cctoken.AsyncTokenSource.generic(
        token_url=emu.token_url, client_id=emu.demo_client_id, client_secret=emu.demo_client_secret
    )

    async def main() -> None:
        async with httpx.AsyncClient(auth=cctoken.httpx.BearerAuth(src), timeout=30) as c:
            assert (await c.get(emu.url + "/api/v2/tokens/me")).status_code == 200
            revoke(emu, (await src.token()).access_token)
            assert (await c.get(emu.url + "/api/v2/tokens/me")).status_code == 200

    asyncio.run(main())
    assert token_requests(emu) == 2


def test_genesys_sdk_tokens_api_across_more_than_three_lifetimes() -> None:
    gc = import_peer("PureCloudPlatformClientV2")
    with Emulator("genesys", token_lifetime="2s") as emu:
        src = cctoken.TokenSource.genesys(
            region="us-east-1", client_id=emu.demo_client_id, client_secret=emu.demo_client_secret,
            token_url=emu.token_url, api_base=emu.url, cache="memory",
        )
        api = gc.TokensApi(cctoken.genesys.ApiClient(src))
        seen = set()
        deadline = time.monotonic() + 30
        calls = 0
        while len(seen) < 4 and time.monotonic() < deadline:
            info = api.get_tokens_me()
            assert info is not None
            calls += 1
            seen.add(src.token().access_token)
            time.sleep(0.1)
        assert len(seen) >= 4, f"{len(seen)} tokens in {calls} calls"
        assert emu.stats()["api_requests_total"] >= calls


def test_genesys_api_client_retries_once_after_a_401() -> None:
    gc = import_peer("PureCloudPlatformClientV2")
    with Emulator("genesys") as emu:
        src = cctoken.TokenSource.genesys(
            region="us-east-1", client_id=emu.demo_client_id, client_secret=emu.demo_client_secret,
            token_url=emu.token_url, api_base=emu.url,
        )
        api = gc.TokensApi(cctoken.genesys.ApiClient(src))
        api.get_tokens_me()
        revoke(emu, src.token().access_token)
        api.get_tokens_me()
        assert token_requests(emu) == 2
