"""Role assignments that reach each vault, on both planes, joined with their role definitions.

Azure RBAC: ``list_for_scope(<vault id>)`` returns the assignments at the vault, above it
(management group, subscription, resource group) and below it (individual keys), which is
exactly the set that governs the vault. Managed HSM local RBAC lives in the HSM's data plane at
``/``, ``/keys`` and ``/keys/<name>``. Role definitions are fetched once per id per scan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from kvaudit.scanner.azure.apiversions import API_VERSIONS
from kvaudit.scanner.azure.faults import READ_FAILURES, ErrorLog
from kvaudit.scanner.azure.records import role_assignment_record
from kvaudit.scanner.azure.rest import list_items
from kvaudit.scanner.azure.session import AzureSession
from kvaudit.scanner.azure.util import collect_list, rest_dict
from kvaudit.scanner.inventory import normalise_id

ARM_API = API_VERSIONS["authorization"]
HSM_API = API_VERSIONS["keyvault_data"]


class OnceCache:
    """Async memo: concurrent callers for the same key share one request and its outcome."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    async def get(self, key: str, fetch: Callable[[], Awaitable[Any]]) -> Any:
        task = self._tasks.get(key)
        if task is None:
            task = self._tasks[key] = asyncio.ensure_future(fetch())
        return await task


def _vault_of_scope(scope: str | None, vault_id: str) -> str | None:
    """The vault when the assignment sits at or below it; None for inherited scopes."""
    scope = normalise_id(scope) or ""
    return vault_id if scope == vault_id or scope.startswith(vault_id + "/") else None


class AzureRbacCollector:
    def __init__(self, session: AzureSession, errors: ErrorLog) -> None:
        self.session = session
        self.errors = errors
        self._definitions = OnceCache()

    async def for_vault(self, vault: dict[str, Any]) -> list[dict[str, Any]]:
        client = self.session.authorization(vault["subscription_id"])
        ok, assignments = await self.errors.guard(
            lambda: collect_list(client.role_assignments.list_for_scope(vault["display_id"])),
            vault["id"],
            "role_assignments.list_for_scope",
            ("role_assignments",),
            vault_id=vault["id"],
            api_version=ARM_API,
        )
        if not ok:
            return []
        bodies = [rest_dict(a) for a in assignments or []]
        definitions = await asyncio.gather(
            *(self._definition(vault, (b.get("properties") or {}).get("roleDefinitionId")) for b in bodies)
        )
        return [
            role_assignment_record(
                b, d, "azure", _vault_of_scope((b.get("properties") or {}).get("scope"), vault["id"]), ARM_API
            )
            for b, d in zip(bodies, definitions, strict=True)
        ]

    async def _definition(self, vault: dict[str, Any], definition_id: str | None) -> dict[str, Any] | None:
        if not definition_id:
            return None
        client = self.session.authorization(vault["subscription_id"])
        # A role definition's GUID is unique across scopes (built-ins are the same in every
        # subscription), so one read serves every spelling of its id.
        key = _guid(definition_id)

        async def fetch() -> dict[str, Any] | None:
            try:
                return rest_dict(await client.role_definitions.get_by_id(definition_id))
            except READ_FAILURES as exc:
                self.errors.record(
                    normalise_id(definition_id),
                    "role_definitions.get_by_id",
                    ("role_assignments",),
                    exc,
                    api_version=ARM_API,
                )
                return None

        return await self._definitions.get(key, fetch)


def _guid(definition_id: str | None) -> str:
    return str(definition_id or "").rstrip("/").rsplit("/", 1)[-1].lower()


async def hsm_local_rbac(
    session: AzureSession, errors: ErrorLog, hsm: dict[str, Any], key_names: list[str]
) -> list[dict[str, Any]]:
    """Local role assignments of one managed HSM at ``/``, ``/keys`` and each ``/keys/<name>``.

    Read as raw JSON through the HSM's data-plane pipeline (the same pool and challenge as its
    keys); the REST bodies are what :func:`role_assignment_record` maps.
    """
    client = session.data_plane(hsm["uri"])
    base = hsm["uri"].rstrip("/")
    hid = hsm["id"]

    def url(scope: str, kind: str) -> str:
        prefix = "" if scope == "/" else scope.rstrip("/")
        return f"{base}{prefix}/providers/Microsoft.Authorization/{kind}?api-version={HSM_API}"

    ok, defs = await errors.guard(
        lambda: list_items(client, url("/", "roleDefinitions")),
        hid,
        "hsm.role_definitions.list",
        ("role_assignments",),
        vault_id=hid,
        api_version=HSM_API,
    )
    definitions = {_guid(d.get("id")): d for d in defs or [] if isinstance(d, dict)}
    scopes = ["/", "/keys", *(f"/keys/{name}" for name in key_names)]

    async def list_scope(scope: str) -> list[Any]:
        ok, found = await errors.guard(
            lambda: list_items(client, url(scope, "roleAssignments")),
            f"{hid}{scope.rstrip('/')}",
            "hsm.role_assignments.list",
            ("role_assignments",),
            vault_id=hid,
            api_version=HSM_API,
        )
        return found or []

    rows: dict[str, dict[str, Any]] = {}
    for found in await asyncio.gather(*(list_scope(s) for s in scopes)):
        for body in found:
            definition = definitions.get(_guid((body.get("properties") or {}).get("roleDefinitionId")))
            row = role_assignment_record(body, definition, "managed_hsm", hid, HSM_API)
            rows.setdefault(row["id"], row)
    return list(rows.values())
