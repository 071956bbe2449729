"""Pure mapping from REST-shaped JSON (ARM, Resource Graph, data plane) to inventory rows.

Collectors fetch; these functions only translate, so they can be tested on the official REST
examples without a network. Property paths, platform defaults and conversions come from the
field table (:mod:`scanner.fields`), the same one every IaC source reads; only identity and join
columns are set here. Every row gets the provenance columns here, in one place.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kvaudit.scanner.fields import REST, decode_release_policy, fill, rsa_size
from kvaudit.scanner.inventory import normalise_id
from kvaudit.scanner.reference import role_name

SOURCE = "azure"

__all__ = ["decode_release_policy", "rsa_size"]


def provenance(
    api_version: str | None, defaults: list[str] | None = None, unresolved: list[str] | None = None
) -> dict[str, Any]:
    return {"source": SOURCE, "api_version": api_version, "defaults": defaults or [], "unresolved": unresolved or []}


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


def vault_records(resource: dict[str, Any], api_version: str | None) -> dict[str, list[dict[str, Any]]]:
    """Rows for ``vaults``, ``access_policies`` and ``private_endpoints`` from one vault or HSM body."""
    kind = kind_of(resource.get("type"))
    display_id = str(resource.get("id") or "")
    vid = normalise_id(display_id)
    props = resource.get("properties") or {}
    sub, rg = arm_parts(display_id)
    filled = fill("vaults", resource, REST, kind)
    vault = {
        "id": vid,
        "display_id": display_id,
        "name": resource.get("name"),
        "kind": kind,
        "subscription_id": sub,
        "resource_group": rg,
        "rbac_authorization_enabled": None,  # vaults only; managed HSMs always use local RBAC
        "security_domain_activated": None,  # managed HSMs only
        **filled.values,
        **provenance(api_version, filled.defaults, filled.unresolved),
    }
    policies = [
        access_policy_record(vid, p, api_version) for p in props.get("accessPolicies") or [] if isinstance(p, dict)
    ]
    endpoints = [private_endpoint_record(vid, c, api_version) for c in props.get("privateEndpointConnections") or []]
    return {"vaults": [vault], "access_policies": policies, "private_endpoints": endpoints}


def access_policy_record(vault_id: str, policy: dict[str, Any], api_version: str | None) -> dict[str, Any]:
    filled = fill("access_policies", policy, REST)
    object_id = str(policy.get("objectId")).lower()
    app = f"/{str(policy['applicationId']).lower()}" if policy.get("applicationId") else ""
    return {
        "id": f"{vault_id}/accesspolicies/{object_id}{app}",
        "vault_id": vault_id,
        **filled.values,
        **provenance(api_version, filled.defaults, filled.unresolved),
    }


def private_endpoint_record(target_id: str, conn: dict[str, Any], api_version: str | None) -> dict[str, Any]:
    conn_id = conn.get("id") or f"{target_id}/privateendpointconnections/{conn.get('name')}"
    filled = fill("private_endpoints", conn, REST)
    return {
        "id": normalise_id(conn_id),
        "target_id": target_id,
        "name": conn.get("name") or str(conn_id).rstrip("/").rsplit("/", 1)[-1],
        **filled.values,
        **provenance(api_version, filled.defaults, filled.unresolved),
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
    filled = fill("role_assignments", assignment, REST)
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
        "principal_name": None,
        **filled.values,
        "role_name": get(definition, "properties", "roleName") or role_name(props.get("roleDefinitionId")),
        "actions": _union(perms, "actions") if definition else None,
        "data_actions": _union(perms, "dataActions") if definition else None,
        "not_data_actions": _union(perms, "notDataActions") if definition else None,
        **provenance(api_version, filled.defaults, filled.unresolved),
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
    filled = fill("diagnostic_settings", setting, REST)
    return {
        "id": normalise_id(setting.get("id"))
        or f"{target_id}/providers/microsoft.insights/diagnosticsettings/" + str(setting.get("name")).lower(),
        "target_id": target_id,
        "name": setting.get("name"),
        "logs": logs,
        **filled.values,
        **provenance(api_version, filled.defaults, filled.unresolved),
    }


def as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
