"""Small asyncio helpers the native module uses (not public)."""

from __future__ import annotations

from typing import Any, Awaitable


async def headers_of(token: Awaitable[Any]) -> dict[str, str]:
    t = await token
    return {"Authorization": f"{t.token_type} {t.access_token}"}
