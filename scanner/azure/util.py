"""Small helpers shared by the collectors: REST-shaped dicts from SDK models, async listing."""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Any, TypeVar

T = TypeVar("T")


def rest_dict(model: Any) -> dict[str, Any]:
    """The REST (camelCase) JSON of an SDK model, whichever generator produced it.

    Mapping works on REST JSON only, so Resource Graph rows, ARM list results and SDK models all
    go through the same code.
    """
    if model is None:
        return {}
    if isinstance(model, dict):
        return model
    if hasattr(model, "serialize"):  # msrest-generated (authorization, monitor, resource graph)
        return model.serialize(keep_readonly=True)
    if hasattr(model, "as_dict"):  # typespec-generated (keyvault management 14.x)
        return model.as_dict()
    raise TypeError(f"cannot convert {type(model).__name__} to REST JSON")


async def collect_list(pager: AsyncIterable[T]) -> list[T]:
    """Drain an async pager; a failure on any page fails the whole listing (no partial tables)."""
    return [item async for item in pager]
