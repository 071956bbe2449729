"""What every handler shares: the per-request context, error bodies and paging.

Kept apart from the handlers so that ARM, the data plane and the query APIs page and fail in the
same way the real services do (``nextLink`` as an absolute URL, ``{"error": {"code", "message"}}``).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.fakeazure.faults import FaultState
from tests.fakeazure.index import EstateIndex, Owner

BROKEN = "broken"


@dataclass
class Call:
    """One request as the handlers see it."""

    request: web.Request
    plane: str  # "arm", "vault" (vaults and HSMs) or "identity"
    owner: Owner | None
    path: str
    query: dict[str, str]
    route: str
    base: str  # scheme://host:port as the client addressed it
    body: bytes
    index: EstateIndex
    state: FaultState
    page_size: int | None

    def json_body(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except ValueError as exc:
            raise FakeError(400, "InvalidRequestContent", f"The request content was invalid: {exc}") from exc


class FakeError(Exception):
    """Raised by handlers; rendered as the services' error envelope."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None, inner: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.inner = inner

    def response(self) -> web.Response:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.inner:
            error["innererror"] = {"code": self.inner}
        return json_response({"error": error}, status=self.status, headers=self.headers)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(), status=status, headers=headers, content_type="application/json", charset="utf-8"
    )


def encode_token(offset: int) -> str:
    raw = json.dumps({"NextMarker": f"2!{offset}!", "TargetLocation": 0}).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_token(token: str | None) -> int:
    """Offset from a continuation token; a malformed token is the client's error, as in the service."""
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        marker = json.loads(base64.urlsafe_b64decode(padded))["NextMarker"]
        return int(marker.split("!")[1])
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise FakeError(400, "BadParameter", f"The continuation token is invalid: {token!r}") from exc


def page(
    call: Call,
    items: list[Any],
    *,
    default_size: int,
    token_param: str = "$skiptoken",
    size_param: str | None = None,
    max_size: int | None = None,
) -> dict[str, Any]:
    """One page of ``items`` in the ``{"value", "nextLink"}`` shape, driven by the request query.

    A ``truncate`` fault makes the first page link to a page that always fails.
    """
    token = call.query.get(token_param)
    if token == BROKEN:
        raise FakeError(
            call.state.faults.truncate_status,
            "InternalServerError",
            "The service encountered an internal error while reading the next page.",
        )
    size = call.page_size or default_size
    if size_param and call.query.get(size_param):
        try:
            size = max(1, int(call.query[size_param]))
        except ValueError as exc:
            raise FakeError(400, "BadParameter", f"{size_param} must be an integer") from exc
        if max_size and size > max_size:
            raise FakeError(400, "BadParameter", f"{size_param} must be between 1 and {max_size}")
    offset = decode_token(token)
    chunk = items[offset : offset + size]
    next_token = encode_token(offset + size) if offset + size < len(items) else None
    if offset == 0 and call.state.truncates(call.route):
        next_token = BROKEN
    next_link = None
    if next_token:
        query = {k: v for k, v in call.query.items() if k != token_param}
        query[token_param] = next_token
        next_link = f"{call.base}{call.path}?{urlencode(query, safe='$/')}"
    return {"value": chunk, "nextLink": next_link}
