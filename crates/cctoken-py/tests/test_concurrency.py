"""Single flight: 200 threads, 1,000 asyncio tasks and 20 processes (Python and the CLI
mixed), all cold, make one upstream request; cancelling awaiters leaves the shared
request running; a forked child's first call works."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading

import pytest

import cctoken
from cctoken.testing import Emulator
from conftest import source, token_requests


def test_200_threads_cold_make_one_request() -> None:
    with Emulator() as emu:
        # A slow token endpoint keeps every thread waiting on the one request.
        emu.fault({"kind": "delay", "ms": 300, "count": 1})
        src = source(emu)
        barrier = threading.Barrier(200, timeout=60)
        tokens: list[str] = []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                barrier.wait()
                tokens.append(src.token().access_token)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=run) for _ in range(200)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors
        assert len(tokens) == 200 and len(set(tokens)) == 1
        assert token_requests(emu) == 1


def test_1000_tasks_cold_make_one_request() -> None:
    with Emulator() as emu:
        emu.fault({"kind": "delay", "ms": 300, "count": 1})
        src = cctoken.AsyncTokenSource.generic(
            token_url=emu.token_url, client_id=emu.demo_client_id, client_secret=emu.demo_client_secret
        )

        async def main() -> list[str]:
            got = await asyncio.wait_for(asyncio.gather(*(src.token() for _ in range(1000))), 120)
            return [t.access_token for t in got]

        tokens = asyncio.run(main())
        assert len(tokens) == 1000 and len(set(tokens)) == 1
        assert token_requests(emu) == 1


def test_cancelling_every_awaiter_still_completes_and_caches_the_request() -> None:
    with Emulator() as emu:
        emu.fault({"kind": "delay", "ms": 500, "count": 1})
        src = cctoken.AsyncTokenSource.generic(
            token_url=emu.token_url, client_id=emu.demo_client_id, client_secret=emu.demo_client_secret
        )

        async def main() -> str:
            waiters = [asyncio.ensure_future(src.token()) for _ in range(10)]
            await asyncio.sleep(0.1)
            waiters[0].cancel()  # one cancelled: the others still get the token
            got = await asyncio.wait_for(asyncio.gather(*waiters[1:]), 60)
            assert len({t.access_token for t in got}) == 1
            # Now cancel every awaiter of a second request.
            first = got[0].access_token
            src.invalidate(first)
            emu.fault({"kind": "delay", "ms": 500, "count": 1})
            more = [asyncio.ensure_future(src.token()) for _ in range(5)]
            await asyncio.sleep(0.1)
            for w in more:
                w.cancel()
            await asyncio.gather(*more, return_exceptions=True)
            # The request completes on its own and its token lands in the disk cache.
            for _ in range(600):
                if emu.stats()["tokens_issued_total"] == 2:
                    break
                await asyncio.sleep(0.05)
            return first

        first = asyncio.run(main())
        assert emu.stats()["tokens_issued_total"] == 2
        # A new source (another process, as far as the cache knows) reads it: no request.
        t = source(emu).token()
        assert t.access_token != first and t.source == "cache"
        assert token_requests(emu) == 2


CHILD = r"""
import sys, cctoken
src = cctoken.TokenSource.generic(token_url=sys.argv[1], client_id=sys.argv[2], client_secret_env="EMU_SECRET")
sys.stdin.readline()  # start together
print(src.token().access_token)
"""


def test_20_processes_cold_python_and_cli_mixed_make_one_request(cctoken_bin: str) -> None:
    with Emulator() as emu:
        emu.fault({"kind": "delay", "ms": 500, "count": 1})
        env = dict(os.environ, EMU_SECRET=emu.demo_client_secret, CCTOKEN_CLIENT_SECRET=emu.demo_client_secret)
        procs = []
        for i in range(20):
            if i % 2 == 0:
                cmd = [sys.executable, "-c", CHILD, emu.token_url, emu.demo_client_id]
            else:
                cmd = [cctoken_bin, "get", "--token-url", emu.token_url, "--client-id", emu.demo_client_id]
            procs.append(subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
            outs.append(out.strip())
        assert len(set(outs)) == 1
        assert token_requests(emu) == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_first_call_works() -> None:
    with Emulator() as emu:
        src = source(emu, cache="memory")
        parent = src.token().access_token
        # A thread of the parent is inside a request while the fork happens.
        emu.fault({"kind": "delay", "ms": 2000, "count": 1})
        other = source(emu, cache="memory")
        busy = threading.Thread(target=other.token)
        busy.start()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            code = 1
            try:
                os.close(r)
                t = src.token().access_token  # held before the fork: served from memory
                fresh = source(emu, cache="memory").token().access_token  # a request of its own
                os.write(w, f"{t == parent} {bool(fresh)}".encode())
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        _, status = os.waitpid(pid, 0)
        got = os.read(r, 100).decode()
        os.close(r)
        busy.join(timeout=60)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        assert got == "True True"
