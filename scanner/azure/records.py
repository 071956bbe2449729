"""Pure mapping from REST-shaped JSON (ARM, Resource Graph, data plane) to inventory rows.

Collectors fetch; these functions only translate, so they can be tested on the official REST
examples without a network. Every row gets the provenance columns here, in one place.
Platform defaults filled in for absent properties are listed in the row's ``defaults``.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from scanner.inventory import normalise_id

SOURCE = "azure"

#: Documented platform defaults for properties a GET may omit.
VAULT_DEFAULTS: dict[str, Any] = {
    "soft_delete_enabled": True,  # soft delete cannot be turned off for vaults since 2020
    "soft_delete_retention_days": 90,
    "purge_protection_enabled": False,  # absent until someone enables it (irreversibly)
    "public_network_access": "Enabled",
    "network_default_action": "Allow",  # no networkAcls: reachable from every network
    "network_bypass": "AzureServices",
    "rbac_authorization_enabled": False,  # access-policy model unless enableRbacAuthorization is true
}


def provenance(api_version: str | None, defaults: list[str] | None = None) -> dict[str, Any]:
    return {"source": SOURCE, "api_version": api_version, "defaults": defaults or []}


def get(data: Any, *path: str) -> Any:
    """``data[a][b]...`` or None; REST bodies omit what is unset, at any depth."""
    for step in path:
        if not isinstance(data, dict):
            return None
        data = data.get(step)
    return data


def arm_parts(resource_id: str) -> tuple[str | None, str | None]:
    """(subscription id, resource group) of an ARM id, lower-cased, or None where absent."""
    segments = [s for s in resource_id.split("/") if s]
    lowered = [s.lower() for s in segments]
    sub = rg = None
    if "subscriptions" in lowered:
        i = lowered.index("subscriptions")
        sub = lowered[i + 1] if i + 1 < len(lowered) else None
    if "resourcegroups" in lowered:
        i = lowered.index("resourcegroups")
        rg = lowered[i + 1] if i + 1 < len(lowered) else None
    return sub, rg


def kind_of(resource_type: str | None) -> str | None:
    kind = (resource_type or "").lower()
    if kind == "microsoft.keyvault/vaults":
        return "vault"
    if kind == "microsoft.keyvault/managedhsms":
        return "managed_hsm"
    return None


_ACTIVATION = {"active": True, "notactivated": False, "failed": False}


def vault_records(resource: dict[str, Any], api_version: str | None) -> dict[str, list[dict[str, Any]]]:
    """Rows for ``vaults``, ``access_policies`` and ``private_endpoints`` from one vault or HSM body."""
    kind = kind_of(resource.get("type"))
    display_id = str(resource.get("id") or "")
    vid = normalise_id(display_id)
    props = resource.get("properties") or {}
    sub, rg = arm_parts(display_id)
    acls = props.get("networkAcls")
    observed: dict[str, Any] = {
        "soft_delete_enabled": props.get("enableSoftDelete"),
        "soft_delete_retention_days": props.get("softDeleteRetentionInDays"),
        "purge_protection_enabled": props.get("enablePurgeProtection"),
        "public_network_access": props.get("publicNetworkAccess"),
        "network_default_action": get(acls, "defaultAction"),
        "network_bypass": get(acls, "bypass"),
    }
    if kind == "vault":
        observed["rbac_authorization_enabled"] = props.get("enableRbacAuthorization")
    defaults = []
    for column, value in observed.items():
        if value is None:
            observed[column] = VAULT_DEFAULTS[column]
            defaults.append(column)
    if observed["soft_delete_enabled"] is False and "soft_delete_retention_days" in defaults:
        observed["soft_delete_retention_days"] = None  # no retention when soft delete is off
        defaults.remove("soft_delete_retention_days")
    sku = get(props, "sku", "name") if kind == "vault" else get(resource, "sku", "name")
    activation = get(props, "securityDomainProperties", "activationStatus")
    vault = {
        "id": vid,
        "display_id": display_id,
        "name": resource.get("name"),
        "kind": kind,
        "subscription_id": sub,
        "resource_group": rg,
        "location": resource.get("location"),
        "tenant_id": props.get("tenantId"),
        "sku": sku,
        "uri": props.get("vaultUri") if kind == "vault" else props.get("hsmUri"),
        "rbac_authorization_enabled": None,  # vaults only; managed HSMs always use local RBAC
        **observed,
        "ip_rules": [r.get("value") for r in get(acls, "ipRules") or [] if isinstance(r, dict)],
        "virtual_network_rules": [
            normalise_id(r.get("id")) for r in get(acls, "virtualNetworkRules") or [] if isinstance(r, dict)
        ],
        "security_domain_activated": (
            _ACTIVATION.get(str(activation).lower()) if kind == "managed_hsm" and activation else None
        ),
        "tags": resource.get("tags") or {},
        **provenance(api_version, defaults),
    }
    policies = [
        {
            "id": f"{vid}/accesspolicies/{str(p.get('objectId')).lower()}"
            + (f"/{str(p['applicationId']).lower()}" if p.get("applicationId") else ""),
            "vault_id": vid,
            "tenant_id": p.get("tenantId"),
            "object_id": p.get("objectId"),
            "application_id": p.get("applicationId"),
            "key_permissions": list(get(p, "permissions", "keys") or []),
            "secret_permissions": list(get(p, "permissions", "secrets") or []),
            "certificate_permissions": list(get(p, "permissions", "certificates") or []),
            **provenance(api_version),
        }
        for p in (props.get("accessPolicies") or [])
        if isinstance(p, dict)
    ]
    endpoints = [private_endpoint_record(vid, c, api_version) for c in props.get("privateEndpointConnections") or []]
    return {"vaults": [vault], "access_policies": policies, "private_endpoints": endpoints}


def private_endpoint_record(target_id: str, conn: dict[str, Any], api_version: str | None) -> dict[str, Any]:
    conn_id = conn.get("id") or f"{target_id}/privateendpointconnections/{conn.get('name')}"
    props = conn.get("properties") or {}
    return {
        "id": normalise_id(conn_id),
        "target_id": target_id,
        "name": conn.get("name") or str(conn_id).rstrip("/").rsplit("/", 1)[-1],
        "private_endpoint_id": normalise_id(get(props, "privateEndpoint", "id")),
        "connection_state": get(props, "privateLinkServiceConnectionState", "status"),
        "provisioning_state": props.get("provisioningState"),
        **provenance(api_version),
    }


def role_assignment_record(
    assignment: dict[str, Any],
    definition: dict[str, Any] | None,
    plane: str,
    vault_id: str | None,
    api_version: str | None,
) -> dict[str, Any]:
    """A role assignment row on either plane, joined with its role definition when it was readable."""
    props = assignment.get("properties") or {}
    perms = get(definition, "properties", "permissions") or []
    if plane == "managed_hsm":
        row_id = f"{vault_id}/roleassignments/{str(assignment.get('name')).lower()}"
        scope = props.get("scope")
    else:
        row_id = normalise_id(assignment.get("id"))
        scope = normalise_id(props.get("scope"))
    return {
        "id": row_id,
        "plane": plane,
        "name": assignment.get("name"),
        "vault_id": vault_id,
        "scope": scope,
        "principal_id": props.get("principalId"),
        "principal_type": props.get("principalType"),
        "principal_name": None,
        "role_definition_id": normalise_id(props.get("roleDefinitionId")),
        "role_name": get(definition, "properties", "roleName"),
        "actions": _union(perms, "actions") if definition else None,
        "data_actions": _union(perms, "dataActions") if definition else None,
        "not_data_actions": _union(perms, "notDataActions") if definition else None,
        **provenance(api_version),
    }


def _union(permissions: list[dict[str, Any]], field: str) -> list[str]:
    out: list[str] = []
    for perm in permissions:
        for item in perm.get(field) or []:
            if item not in out:
                out.append(item)
    return out


def diagnostic_setting_record(target_id: str, setting: dict[str, Any], api_version: str | None) -> dict[str, Any]:
    props = setting.get("properties") or {}
    logs = [
        {
            "category": entry.get("category"),
            "category_group": entry.get("categoryGroup"),
            "enabled": entry.get("enabled"),
            "retention_days": get(entry, "retentionPolicy", "days")
            if get(entry, "retentionPolicy", "enabled")
            else None,
        }
        for entry in props.get("logs") or []
    ]
    return {
        "id": normalise_id(setting.get("id"))
        or f"{target_id}/providers/microsoft.insights/diagnosticsettings/" + str(setting.get("name")).lower(),
        "target_id": target_id,
        "name": setting.get("name"),
        "logs": logs,
        "workspace_id": normalise_id(props.get("workspaceId") or None),
        "storage_account_id": normalise_id(props.get("storageAccountId") or None),
        "event_hub_authorization_rule_id": normalise_id(props.get("eventHubAuthorizationRuleId") or None),
        "marketplace_partner_id": normalise_id(props.get("marketplacePartnerId") or None),
        **provenance(api_version),
    }


def decode_release_policy(encoded: bytes | str | None) -> dict[str, Any] | None:
    """The release policy document: raw JSON bytes (as the SDK gives) or base64url JSON text."""
    if encoded is None:
        return None
    raw = encoded.encode() if isinstance(encoded, str) else bytes(encoded)
    for candidate in (raw, _b64url(raw)):
        if candidate is None:
            continue
        try:
            doc = json.loads(candidate.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            continue
        if isinstance(doc, dict):
            return doc
    return None


def _b64url(raw: bytes) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        return None


def rsa_size(n: bytes | None) -> int | None:
    """RSA modulus length in bits: the data plane has no key_size, only the modulus."""
    if not n:
        return None
    return int.from_bytes(bytes(n), "big").bit_length() or None


def as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
