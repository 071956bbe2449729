"""Turning a failed read into a ``collection_errors`` row, so the scan goes on.

Rules that needed the missing data return UNKNOWN for the scope named here (``affects`` lists
the tables whose rows for that scope are incomplete), never PASS; and the CLI exits 3 for an
incomplete scan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from kvaudit.scanner.azure.records import provenance

T = TypeVar("T")

#: Exceptions that mean "this read failed", as opposed to a bug in kvaudit.
READ_FAILURES: tuple[type[BaseException], ...] = (AzureError, asyncio.TimeoutError, OSError, ValueError)


def status_of(exc: BaseException) -> int | None:
    if isinstance(exc, HttpResponseError):
        return exc.status_code
    return None


def describe(exc: BaseException) -> str:
    """A one-line reason: the HTTP status and service error code, or the transport failure."""
    if isinstance(exc, HttpResponseError):
        code = getattr(getattr(exc, "error", None), "code", None)
        reason = exc.reason or ""
        text = f"HTTP {exc.status_code}" + (f" {reason}" if reason else "") + (f" ({code})" if code else "")
        return text
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        inner = getattr(exc, "inner_exception", None) or exc
        name = type(inner).__name__
        message = " ".join(str(getattr(exc, "message", "") or inner).split())[:200]
        return f"{type(exc).__name__}: {name}: {message}" if message else f"{type(exc).__name__}: {name}"
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, ResourceNotFoundError) or status_of(exc) == 404


@dataclass
class ErrorLog:
    """Collects ``collection_errors`` rows from every collector of one scan."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def record(
        self,
        resource_id: str | None,
        operation: str,
        affects: Iterable[str],
        exc: BaseException | None = None,
        *,
        vault_id: str | None = None,
        status_code: int | None = None,
        error: str | None = None,
        api_version: str | None = None,
    ) -> None:
        self.rows.append(
            {
                "id": resource_id,
                "vault_id": vault_id,
                "operation": operation,
                "affects": sorted(set(affects)),
                "status_code": status_code if status_code is not None else (status_of(exc) if exc else None),
                "error": error or (describe(exc) if exc else None),
                **provenance(api_version),
            }
        )

    async def guard(
        self,
        call: Callable[[], Awaitable[T]],
        resource_id: str | None,
        operation: str,
        affects: Iterable[str],
        *,
        vault_id: str | None = None,
        api_version: str | None = None,
    ) -> tuple[bool, T | None]:
        """Run one read; on failure record it and return ``(False, None)`` so the caller moves on."""
        try:
            return True, await call()
        except READ_FAILURES as exc:
            self.record(resource_id, operation, affects, exc, vault_id=vault_id, api_version=api_version)
            return False, None
