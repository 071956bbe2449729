"""Raw JSON reads, one GET or every page of a list: of a vault or HSM host through its
:mod:`scanner.azure.dataplane` client, or of ARM through an SDK client's pipeline.

Answers stay plain JSON (``json.loads`` of the body): no SDK model is built, because the
collector only maps REST shapes to rows (:mod:`scanner.azure.keys`). Errors are raised as the
SDK would raise them (``ResourceNotFoundError`` for 404, ``HttpResponseError`` with the service's
error code otherwise), so :mod:`scanner.azure.faults` describes them the same way.
"""

from __future__ import annotations

import json
from typing import Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    map_error,
)
from azure.core.rest import HttpRequest

from kvaudit.scanner.azure.dataplane import DataPlaneClient

_ERRORS = {401: ClientAuthenticationError, 404: ResourceNotFoundError}


async def get_json(client: DataPlaneClient | Any, url: str) -> Any:
    """The decoded body of ``GET url`` through a data-plane client or any azure-core client (an
    ARM SDK client's ``send_request``); an answer other than 200 raises."""
    if isinstance(client, DataPlaneClient):
        response = await client.get(url)
    else:
        response = await client.send_request(HttpRequest("GET", url))
    if response.status_code != 200:
        map_error(status_code=response.status_code, response=response, error_map=_ERRORS)
        raise HttpResponseError(response=response)
    return json.loads(response.content)


async def list_items(client: DataPlaneClient | Any, url: str) -> list[Any]:
    """Every ``value`` item of a paged list, following ``nextLink``; any failed page fails it all."""
    items: list[Any] = []
    next_url: str | None = url
    while next_url:
        page = await get_json(client, next_url)
        items.extend(page.get("value") or [])
        next_url = page.get("nextLink")
    return items
