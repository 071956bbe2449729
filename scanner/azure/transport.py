"""A small azure-core transport for the data planes: aiohttp, whole bodies, a plain response.

azure-core's ``AioHttpTransport`` wraps every answer in a response object built for streaming
and for two generations of its API (attribute shims, header copies, lazy decoding); per request
that cost more CPU than aiohttp itself, and a scan sends some 170,000 of them. The pipeline
(user agent, retries, the Key Vault challenge, pacing) stays azure-core's: only the last step,
putting bytes on the wire, is this one, and it answers an :class:`azure.core.rest.AsyncHttpResponse`
with the body already read, which is all a raw-JSON read needs.

Transport failures are raised as azure-core's ``ServiceRequestError`` (the request never got
out: retried) and ``ServiceResponseError`` (no complete answer: retried as a read error), as
``AioHttpTransport`` raises them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.core.pipeline.transport import AsyncHttpTransport
from azure.core.rest import AsyncHttpResponse, HttpRequest


class BufferedResponse(AsyncHttpResponse):
    """An answer whose body is already in memory.

    An answer to a direct GET (:meth:`LeanAioHttpTransport.get`) has no request object until an
    error report asks for one: most answers are 200s whose body is all that is read."""

    def __init__(
        self, request: HttpRequest | None, status: int, reason: str, headers: Any, body: bytes, url: str = ""
    ) -> None:
        self._request = request
        self._url = url or (request.url if request is not None else "")
        self._status = status
        self._reason = reason
        self._headers = headers  # aiohttp's case-insensitive multidict
        self._body = body

    @property
    def request(self) -> HttpRequest:
        if self._request is None:
            self._request = HttpRequest("GET", self._url)
        return self._request

    @property
    def status_code(self) -> int:
        return self._status

    @property
    def headers(self) -> Any:
        return self._headers

    @property
    def reason(self) -> str:
        return self._reason

    @property
    def content_type(self) -> str | None:
        return self._headers.get("Content-Type")

    @property
    def is_closed(self) -> bool:
        return True

    @property
    def is_stream_consumed(self) -> bool:
        return True

    @property
    def encoding(self) -> str | None:
        return "utf-8"

    @property
    def url(self) -> str:
        return self._url

    @property
    def content(self) -> bytes:
        return self._body

    def text(self, encoding: str | None = None) -> str:
        return self._body.decode(encoding or "utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self._body)

    def raise_for_status(self) -> None:
        if self._status >= 400:
            raise HttpResponseError(response=self)

    async def read(self) -> bytes:
        return self._body

    async def iter_raw(self, **kwargs: Any) -> AsyncIterator[bytes]:
        yield self._body

    async def iter_bytes(self, **kwargs: Any) -> AsyncIterator[bytes]:
        yield self._body

    async def close(self) -> None:
        return None

    async def __aexit__(self, *args: Any) -> None:
        return None

    def __iter__(self) -> Iterator[bytes]:  # pragma: no cover - not a stream
        yield self._body

    def __repr__(self) -> str:
        return f"<BufferedResponse: {self._status} {self._reason}>"


class LeanAioHttpTransport(AsyncHttpTransport):
    """Sends over one aiohttp session (one connection pool), which it owns and closes."""

    def __init__(self, session: aiohttp.ClientSession, timeout: float) -> None:
        self.session = session
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)

    async def send(self, request: HttpRequest, **kwargs: Any) -> BufferedResponse:  # type: ignore[override]
        content = request.content if request.content else None
        return await self._exchange(request.method, request.url, dict(request.headers), content, request)

    async def get(self, url: str, headers: dict[str, str]) -> BufferedResponse:
        """``GET url`` with exactly ``headers``, outside any pipeline (:mod:`scanner.azure.dataplane`)."""
        return await self._exchange("GET", url, headers, None, None)

    async def _exchange(
        self, method: str, url: str, headers: dict[str, str], content: Any, request: HttpRequest | None
    ) -> BufferedResponse:
        try:
            async with self.session.request(
                method, url, headers=headers, data=content, timeout=self._timeout, allow_redirects=False
            ) as answer:
                body = await answer.read()
                return BufferedResponse(request, answer.status, answer.reason or "", answer.headers, body, url)
        except aiohttp.ClientConnectorError as exc:
            raise ServiceRequestError(exc, error=exc) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ServiceResponseError(exc, error=exc) from exc

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        await self.session.close()

    async def __aenter__(self) -> LeanAioHttpTransport:
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self.close()
