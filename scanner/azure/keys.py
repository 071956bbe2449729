"""Keys and their versions from the data plane, read as raw JSON.

What each call fills (every rule reads only these columns; see the README's call map):

- ``GET /keys`` (pages of 25): the key names, ``keys.kid``.
- ``GET /keys/{name}/versions`` (pages of 25): one ``key_versions`` row per version with its
  attributes (enabled, exp, nbf, created, exportable). Listing returns no key material.
- ``GET /keys/{name}`` (the current version): the key's material and policy (``keys``: kty,
  key_size, curve, key_ops, release policy, tags, managed; the same columns of the current
  version's ``key_versions`` row).
- ``GET /keys/{name}/{version}`` only for versions a consumer pins (other than the current
  one): their material, so a pinned version is described as fully as the current one.
- ``GET /keys/{name}/rotationpolicy``: the rotation columns of ``keys``.
- ARM ``managedHSMs/keys/{name}`` for oct-HSM keys only: their size, which the data plane hides.

Older, unpinned versions keep kty, key_size, curve and key_ops null (not read): no rule reads
per-version material, only enabled, expires and created, which the listing gives.

The mapping from JSON to rows is in :func:`version_row_from_attributes`,
:func:`material_from_bundle` and :func:`key_row_from_json`, through the field table's data-plane paths.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kvaudit.scanner.azure.apiversions import API_VERSIONS
from kvaudit.scanner.azure.faults import READ_FAILURES, ErrorLog, is_not_found
from kvaudit.scanner.azure.records import provenance
from kvaudit.scanner.azure.rest import get_json, list_items
from kvaudit.scanner.azure.session import AzureSession
from kvaudit.scanner.azure.util import rest_dict
from kvaudit.scanner.fields import (
    DATAPLANE,
    FIELDS,
    MISSING,
    REST,
    ROTATION_COLUMNS,
    dataplane_key_row,
    fill,
    rotation_columns,
)
from kvaudit.scanner.inventory import TABLES

API = API_VERSIONS["keyvault_data"]
#: The key material columns, which only ``GET /keys/{name}[/{version}]`` can fill.
MATERIAL = ("kty", "key_size", "curve", "key_ops")
#: The ``key_versions`` columns set here, not by the field table.
IDENTITY_COLUMNS = ("id", "key_id", "vault_id", "key_name", "version", "kid")
#: The ``key_versions`` columns a list-versions KeyItem can fill: the field table's key columns
#: of that table, less the material a KeyItem never carries. Filling only these, not every key
#: column, is most of the CPU saved per version (a scan maps some 150,000 of them).
ITEM_COLUMNS = tuple(
    c for c in TABLES["key_versions"] if c in FIELDS["keys"] and c not in (*MATERIAL, *IDENTITY_COLUMNS)
)


def version_of(kid: str) -> str:
    return kid.rstrip("/").rsplit("/", 1)[-1]


def version_row_from_attributes(key_id: str, vault_id: str, name: str, item: dict[str, Any]) -> dict[str, Any]:
    """A ``key_versions`` row from a KeyItem (list-versions page) or a KeyBundle.

    The columns come from the field table's data-plane paths; a KeyItem carries no key material,
    so its type, size, curve and operations are unknown (null), never "none"."""
    kid = str(item.get("kid") or (item.get("key") or {}).get("kid") or "")
    version = version_of(kid)
    if isinstance(item.get("key"), dict):
        row = {**provenance(API), **dataplane_key_row(item, table="key_versions")}
    else:
        filled = fill("keys", item, DATAPLANE, columns=ITEM_COLUMNS)
        row = {**provenance(API), **filled.values, **dict.fromkeys(MATERIAL), **filled.provenance()}
    return {
        **row,
        "id": f"{key_id}/versions/{version.lower()}",
        "key_id": key_id,
        "vault_id": vault_id,
        "key_name": name,
        "version": version,
        "kid": kid,
    }


def rotation_from_json(policy: dict[str, Any]) -> dict[str, Any]:
    """Rotation columns from a data-plane rotation policy (the field table's REST shape). A key
    that never had a policy still answers 200 with the service default (no id, no timestamps,
    only a Notify action): its actions are reported, but no policy is present."""
    attributes = policy.get("attributes") or {}
    columns = rotation_columns(None, REST, policy=policy).values
    columns["rotation_policy_present"] = (
        policy.get("id") is not None or attributes.get("created") is not None or attributes.get("updated") is not None
    )
    return columns


def key_row_from_json(
    vault: dict[str, Any],
    key_id: str,
    name: str,
    listed: dict[str, Any],
    bundle: dict[str, Any],
    rotation: dict[str, Any],
) -> dict[str, Any]:
    """The ``keys`` row from the listing's KeyItem and the current version's KeyBundle."""
    return {
        **provenance(API),
        **dataplane_key_row(bundle),
        **rotation,
        "id": key_id,
        "vault_id": vault["id"],
        "vault_name": vault["name"],
        "name": name,
        "kid": listed.get("kid"),
        "current_version": version_of(str((bundle.get("key") or {}).get("kid") or listed.get("kid") or "")),
    }


_UNKNOWN_ROTATION = dict.fromkeys(ROTATION_COLUMNS)
_NO_ROTATION = rotation_columns(None, REST, policy=MISSING).values


def material_from_bundle(bundle: dict[str, Any]) -> dict[str, Any]:
    """kty, key_size (RSA: from the modulus), curve and key_ops of a KeyBundle, by the field table."""
    row = dataplane_key_row(bundle, table="key_versions")
    return {column: row.get(column) for column in MATERIAL}


class KeyCollector:
    """Reads one vault's keys; failures become collection errors scoped to the key or version.

    ``pins`` maps a lower-cased key name to the lower-cased versions consumers pin.
    """

    def __init__(
        self, session: AzureSession, errors: ErrorLog, vault: dict[str, Any], pins: dict[str, set[str]] | None = None
    ):
        self.session = session
        self.errors = errors
        self.vault = vault
        self.vault_id: str = vault["id"]
        self.pins = pins or {}
        self.client = session.data_plane(vault["uri"])
        self.base = vault["uri"].rstrip("/")

    def _url(self, path: str) -> str:
        return f"{self.base}{path}?api-version={API}"

    async def collect(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        """(keys rows, key_versions rows), or None when the key list itself could not be read."""
        ok, listed = await self.errors.guard(
            lambda: list_items(self.client, self._url("/keys")),
            self.vault_id,
            "keys.list",
            ("keys", "key_versions"),
            vault_id=self.vault_id,
            api_version=API,
        )
        if not ok:
            return None
        results = await asyncio.gather(*(self._key(item) for item in listed or [] if item.get("kid")))
        keys = [k for k, _ in results if k is not None]
        versions = [v for _, vs in results for v in vs]
        return keys, versions

    async def _key(self, listed: dict[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        name = version_of(str(listed["kid"]))
        key_id = f"{self.vault_id}/keys/{name.lower()}"
        ok, items = await self.errors.guard(
            lambda: list_items(self.client, self._url(f"/keys/{name}/versions")),
            key_id,
            "keys.list_versions",
            ("keys", "key_versions"),
            vault_id=self.vault_id,
            api_version=API,
        )
        if not ok:  # the key is gone or unreadable: its other reads would fail the same way
            return None, []
        bundle, rotation = await asyncio.gather(self._bundle(name, key_id, None), self._rotation_policy(name, key_id))
        versions = [version_row_from_attributes(key_id, self.vault_id, name, item) for item in items or []]
        if bundle is None:
            return None, versions
        current = version_of(str((bundle.get("key") or {}).get("kid") or ""))
        by_version = {row["version"].lower(): row for row in versions}
        pinned = sorted(v for v in self.pins.get(name.lower(), ()) if v in by_version and v != current.lower())
        fetched = await asyncio.gather(*(self._bundle(name, key_id, by_version[v]["version"]) for v in pinned))
        row = key_row_from_json(self.vault, key_id, name, listed, bundle, rotation)
        if row["kty"] and row["kty"].startswith("oct") and self.vault["kind"] == "managed_hsm":
            size = await self._hsm_key_size(name, key_id)
            if size is not None:
                row["key_size"] = size
        described = [(current.lower(), {c: row[c] for c in MATERIAL})]
        described += [(v, material_from_bundle(b)) for v, b in zip(pinned, fetched, strict=True) if b is not None]
        for version, material in described:
            if version in by_version:
                by_version[version].update(material)
        return row, versions

    async def _bundle(self, name: str, key_id: str, version: str | None) -> dict[str, Any] | None:
        """A KeyBundle (the current version when ``version`` is None), or None after recording why."""
        path = f"/keys/{name}" + (f"/{version}" if version else "")
        scope = f"{key_id}/versions/{version.lower()}" if version else key_id
        ok, bundle = await self.errors.guard(
            lambda: get_json(self.client, self._url(path)),
            scope,
            "keys.get",
            ("keys", "key_versions"),
            vault_id=self.vault_id,
            api_version=API,
        )
        return bundle if ok else None

    async def _rotation_policy(self, name: str, key_id: str) -> dict[str, Any]:
        """Rotation columns; 404 means no policy (False), any other failure leaves them null."""
        try:
            policy = await get_json(self.client, self._url(f"/keys/{name}/rotationpolicy"))
        except READ_FAILURES as exc:
            if is_not_found(exc):
                return dict(_NO_ROTATION)
            self.errors.record(
                key_id, "keys.get_rotation_policy", ("keys",), exc, vault_id=self.vault_id, api_version=API
            )
            return dict(_UNKNOWN_ROTATION)
        if not isinstance(policy, dict):
            return dict(_NO_ROTATION)
        return rotation_from_json(policy)

    async def _hsm_key_size(self, name: str, key_id: str) -> int | None:
        mgmt = self.session.keyvault_mgmt(self.vault["subscription_id"])
        try:
            key = await mgmt.managed_hsm_keys.get(self.vault["resource_group"], self.vault["name"], name)
        except READ_FAILURES as exc:
            self.errors.record(
                key_id,
                "managed_hsm_keys.get",
                ("keys", "key_versions"),
                exc,
                vault_id=self.vault_id,
                api_version=API_VERSIONS["keyvault_mgmt"],
            )
            return None
        size = (rest_dict(key).get("properties") or {}).get("keySize")
        return int(size) if isinstance(size, int) else None
