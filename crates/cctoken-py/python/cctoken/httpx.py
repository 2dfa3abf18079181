"""``httpx`` authentication with a cctoken source, for sync and async clients.

>>> import httpx, cctoken
>>> with httpx.Client(auth=cctoken.httpx.BearerAuth(src)) as client:
...     client.get(api + "/api/v2/tokens/me").status_code
200
>>> async with httpx.AsyncClient(auth=cctoken.httpx.BearerAuth(async_src)) as client:
...     (await client.get(api + "/api/v2/tokens/me")).status_code
200

A :class:`cctoken.TokenSource` serves ``httpx.Client``, a :class:`cctoken.AsyncTokenSource`
serves ``httpx.AsyncClient`` without blocking the event loop. On a 401 the token is
invalidated and the request sent again, once.
"""

from __future__ import annotations

from typing import AsyncGenerator, Generator, Union

import httpx

from ._native import AsyncTokenSource, TokenSource

__all__ = ["BearerAuth"]


def _sent_token(request: httpx.Request) -> str | None:
    value = request.headers.get("Authorization", "")
    return value[len("Bearer ") :] if value.startswith("Bearer ") else None


class BearerAuth(httpx.Auth):
    """An :class:`httpx.Auth` over ``source``: sync flows need a :class:`cctoken.TokenSource`,
    async flows a :class:`cctoken.AsyncTokenSource`."""

    def __init__(self, source: Union[TokenSource, AsyncTokenSource]) -> None:
        self.source = source

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        src = self.source
        if not isinstance(src, TokenSource):
            raise TypeError("httpx.Client needs a cctoken.TokenSource (AsyncTokenSource is for httpx.AsyncClient)")
        request.headers["Authorization"] = "Bearer " + src.token().access_token
        response = yield request
        if response.status_code == 401:
            sent = _sent_token(request)
            if sent is not None:
                src.invalidate(sent)
            response.read()
            request.headers["Authorization"] = "Bearer " + src.token().access_token
            yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        src = self.source
        if not isinstance(src, AsyncTokenSource):
            raise TypeError("httpx.AsyncClient needs a cctoken.AsyncTokenSource (TokenSource is for httpx.Client)")
        request.headers["Authorization"] = "Bearer " + (await src.token()).access_token
        response = yield request
        if response.status_code == 401:
            sent = _sent_token(request)
            if sent is not None:
                src.invalidate(sent)
            await response.aread()
            request.headers["Authorization"] = "Bearer " + (await src.token()).access_token
            yield request

    def __repr__(self) -> str:
        return f"<cctoken.httpx.BearerAuth {self.source!r}>"
