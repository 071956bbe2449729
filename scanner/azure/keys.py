"""Keys and every key version from the data plane (azure-keyvault-keys aio).

Listing returns neither type nor size, so each version is read with ``get_key(name, version)``.
The key type is kept as a string because the SDK has no enum member for OKP. RSA size comes
from the modulus; an oct-HSM key's size is visible only through the ARM ``managed_hsm_keys``
API, which is read for those keys alone.
"""

from __future__ import annotations

import asyncio
from typing import Any

from scanner.azure.apiversions import API_VERSIONS
from scanner.azure.faults import READ_FAILURES, ErrorLog, is_not_found
from scanner.azure.records import as_utc, decode_release_policy, provenance, rsa_size
from scanner.azure.session import AzureSession
from scanner.azure.util import collect_list, rest_dict

API = API_VERSIONS["keyvault_data"]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def version_record(key_id: str, vault_id: str, name: str, key: Any) -> dict[str, Any]:
    """A ``key_versions`` row from a ``KeyVaultKey``."""
    props = key.properties
    jwk = key.key
    kty = _text(key.key_type)
    return {
        "id": f"{key_id}/versions/{str(props.version).lower()}",
        "key_id": key_id,
        "vault_id": vault_id,
        "key_name": name,
        "version": props.version,
        "kid": key.id,
        "kty": kty,
        "key_size": rsa_size(getattr(jwk, "n", None)) if kty and kty.startswith("RSA") else None,
        "curve": _text(getattr(jwk, "crv", None)),
        "key_ops": [_text(op) for op in key.key_operations or []],
        "enabled": props.enabled,
        "expires": as_utc(props.expires_on),
        "not_before": as_utc(props.not_before),
        "created": as_utc(props.created_on),
        "exportable": props.exportable,
        **provenance(API),
    }


def _rotation(policy: Any) -> dict[str, Any]:
    """Rotation columns from a policy. A key that never had a policy still answers 200 with the
    service default (no id, no timestamps, only a Notify action): that counts as absent."""
    actions = list(policy.lifetime_actions or [])
    present = policy.id is not None or policy.created_on is not None or policy.updated_on is not None
    rotate = next((a for a in actions if str(_text(a.action)).lower() == "rotate"), None)
    return {
        "rotation_policy_present": present,
        "rotation_actions": [_text(a.action).capitalize() for a in actions if a.action is not None],
        "rotation_time_after_create": rotate.time_after_create if rotate else None,
        "rotation_expiry_time": policy.expires_in,
    }


class KeyCollector:
    """Reads one vault's keys; failures become collection errors scoped to the key or version."""

    def __init__(self, session: AzureSession, errors: ErrorLog, vault: dict[str, Any]):
        self.session = session
        self.errors = errors
        self.vault = vault
        self.vault_id: str = vault["id"]
        self.client = session.keys(vault["uri"])

    async def collect(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        """(keys rows, key_versions rows), or None when the key list itself could not be read."""
        ok, listed = await self.errors.guard(
            lambda: collect_list(self.client.list_properties_of_keys()),
            self.vault_id,
            "keys.list",
            ("keys", "key_versions"),
            vault_id=self.vault_id,
            api_version=API,
        )
        if not ok:
            return None
        results = await asyncio.gather(*(self._key(p) for p in listed or []))
        keys = [k for k, _ in results if k is not None]
        versions = [v for _, vs in results for v in vs]
        return keys, versions

    async def _key(self, listed: Any) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        name: str = listed.name
        key_id = f"{self.vault_id}/keys/{name.lower()}"
        ok, version_props = await self.errors.guard(
            lambda: collect_list(self.client.list_properties_of_key_versions(name)),
            key_id,
            "keys.list_versions",
            ("keys", "key_versions"),
            vault_id=self.vault_id,
            api_version=API,
        )
        if not ok:
            return None, []
        fetched = await asyncio.gather(*(self._version(name, key_id, p.version) for p in version_props or []))
        keys = [k for k in fetched if k is not None]
        rotation = await self._rotation_policy(name, key_id)
        if not keys:
            return None, []
        latest = max(
            keys,
            key=lambda k: (
                k.properties.created_on is not None,
                k.properties.created_on,
                k.properties.updated_on is not None,
                k.properties.updated_on,
            ),
        )
        versions = [version_record(key_id, self.vault_id, name, k) for k in keys]
        current = version_record(key_id, self.vault_id, name, latest)
        if current["kty"] and current["kty"].startswith("oct") and self.vault["kind"] == "managed_hsm":
            size = await self._hsm_key_size(name, key_id)
            if size is not None:
                current["key_size"] = size
                for row in versions:
                    if row["id"] == current["id"]:
                        row["key_size"] = size
        policy = latest.properties.release_policy
        row = {
            "id": key_id,
            "vault_id": self.vault_id,
            "vault_name": self.vault["name"],
            "name": name,
            "kid": listed.id,
            "current_version": latest.properties.version,
            **{
                c: current[c]
                for c in (
                    "kty",
                    "key_size",
                    "curve",
                    "key_ops",
                    "enabled",
                    "expires",
                    "not_before",
                    "created",
                    "exportable",
                )
            },
            "updated": as_utc(latest.properties.updated_on),
            "release_policy": decode_release_policy(policy.encoded_policy) if policy else None,
            "release_policy_immutable": policy.immutable if policy else None,
            **rotation,
            "tags": latest.properties.tags or {},
            "managed": bool(latest.properties.managed) if latest.properties.managed is not None else None,
            **provenance(API),
        }
        return row, versions

    async def _version(self, name: str, key_id: str, version: str) -> Any:
        version_id = f"{key_id}/versions/{str(version).lower()}"
        ok, key = await self.errors.guard(
            lambda: self.client.get_key(name, version),
            version_id,
            "keys.get",
            ("keys", "key_versions"),
            vault_id=self.vault_id,
            api_version=API,
        )
        return key if ok else None

    async def _rotation_policy(self, name: str, key_id: str) -> dict[str, Any]:
        """Rotation columns; 404 means no policy (False), any other failure leaves them null."""
        unknown = {
            "rotation_policy_present": None,
            "rotation_actions": None,
            "rotation_time_after_create": None,
            "rotation_expiry_time": None,
        }
        try:
            policy = await self.client.get_key_rotation_policy(name)
        except READ_FAILURES as exc:
            if is_not_found(exc):
                return {**unknown, "rotation_policy_present": False, "rotation_actions": []}
            self.errors.record(
                key_id, "keys.get_rotation_policy", ("keys",), exc, vault_id=self.vault_id, api_version=API
            )
            return unknown
        if policy is None:
            return {**unknown, "rotation_policy_present": False, "rotation_actions": []}
        return _rotation(policy)

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
