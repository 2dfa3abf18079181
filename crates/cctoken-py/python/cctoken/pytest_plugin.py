"""The pytest plugin of cctoken (entry point ``pytest11``): the ``cctoken_emulator`` fixture.

>>> def test_my_client(cctoken_emulator):
...     src = cctoken.TokenSource.generic(token_url=cctoken_emulator.token_url,
...         client_id=cctoken_emulator.demo_client_id,
...         client_secret=cctoken_emulator.demo_client_secret, cache="memory")
...     cctoken_emulator.fault({"kind": "status", "status": 503, "count": 1})
...     assert src.token().token_type == "Bearer"

Mark a test ``@pytest.mark.cctoken_emulator(flavor="genesys", token_lifetime="3s")`` to
get another flavor or lifetime (the keywords of :class:`cctoken.testing.Emulator`).
"""

from __future__ import annotations

from typing import Iterator

import pytest

from .testing import Emulator


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cctoken_emulator(flavor='generic', *, demo=True, token_lifetime=None, config=None): "
        "configure the cctoken_emulator fixture",
    )


@pytest.fixture
def cctoken_emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A running :class:`cctoken.testing.Emulator` (generic flavor, demo clients), stopped
    after the test."""
    marker = request.node.get_closest_marker("cctoken_emulator")
    args = marker.args if marker else ()
    kwargs = marker.kwargs if marker else {}
    with Emulator(*args, **kwargs) as emu:
        yield emu
