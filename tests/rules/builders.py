"""Small record builders for rule fixtures: each returns one inventory row as a dict, with the
compliant value of every column a rule reads, so a case states only what it changes."""

from __future__ import annotations

from typing import Any

import pandas as pd

from kvaudit.rules.engine import evaluate
from kvaudit.rules.registry import get
from kvaudit.scanner.inventory import Inventory
from kvaudit.scanner.policy import Policy, parse

NOW = pd.Timestamp("2026-11-23T00:00:00Z")
SUB = "00000000-0000-0000-0000-00000000000a"
RG = f"/subscriptions/{SUB}/resourceGroups/rg"
HSM_USER = "21dbd100-6940-42c2-9190-5d6cb909625b"
HSM_OFFICER = "515eb02d-2335-4d2d-92f2-b1cbdf9c3778"
HSM_ADMIN = "a290e904-7015-4bba-90c8-60543313cdb4"
NAMES = {
    HSM_USER: "Managed HSM Crypto User",
    HSM_OFFICER: "Managed HSM Crypto Officer",
    HSM_ADMIN: "Managed HSM Administrator",
}


def vault(name: str, hsm: bool = False, **props: Any) -> dict[str, Any]:
    kind = "managedHSMs" if hsm else "vaults"
    suffix = "managedhsm.azure.net" if hsm else "vault.azure.net"
    row: dict[str, Any] = {
        "id": f"{RG}/providers/Microsoft.KeyVault/{kind}/{name}".lower(),
        "display_id": f"{RG}/providers/Microsoft.KeyVault/{kind}/{name}",
        "name": name,
        "kind": "managed_hsm" if hsm else "vault",
        "subscription_id": SUB,
        "resource_group": "rg",
        "sku": "Standard_B1" if hsm else "premium",
        "uri": f"https://{name}.{suffix}/",
        "soft_delete_enabled": True,
        "soft_delete_retention_days": 90,
        "purge_protection_enabled": True,
        "public_network_access": "Disabled",
        "network_default_action": "Deny",
        "network_bypass": "None",
        "rbac_authorization_enabled": None if hsm else True,
        "security_domain_activated": True if hsm else None,
        "source": "snapshot",
    }
    row.update(props)
    return row


def key(v: dict[str, Any], name: str, **props: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": f"{v['id']}/keys/{name.lower()}",
        "vault_id": v["id"],
        "vault_name": v["name"],
        "name": name,
        "kid": f"{v['uri'].rstrip('/')}/keys/{name}",
        "current_version": "v2",
        "kty": "RSA-HSM",
        "key_size": 3072,
        "key_ops": ["wrapKey", "unwrapKey"],
        "enabled": True,
        "expires": "2027-06-01T00:00:00Z",
        "created": "2026-06-01T00:00:00Z",
        "exportable": False,
        "rotation_policy_present": True,
        "rotation_actions": ["Rotate"],
        "managed": False,
        "tags": {},
        "source": "snapshot",
    }
    row.update(props)
    return row


def version(k: dict[str, Any], name: str, **props: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": f"{k['id']}/versions/{name}",
        "key_id": k["id"],
        "vault_id": k["vault_id"],
        "key_name": k["name"],
        "version": name,
        "kid": f"{k['kid']}/{name}",
        "kty": k.get("kty"),
        "enabled": True,
        "expires": "2027-06-01T00:00:00Z",
        "created": "2026-06-01T00:00:00Z",
        "source": "snapshot",
    }
    row.update(props)
    return row


def hsm_role(hsm: dict[str, Any], name: str, scope: str, guid: str, principal: str, **props: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": f"{hsm['id']}/roleassignments/{name}",
        "plane": "managed_hsm",
        "name": name,
        "vault_id": hsm["id"],
        "scope": scope,
        "principal_id": principal,
        "principal_type": "ServicePrincipal",
        "role_definition_id": f"Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{guid}",
        "role_name": NAMES.get(guid),
        "source": "snapshot",
    }
    row.update(props)
    return row


def azure_role(scope: str, name: str, role: str, principal: str, vault_id: str | None = None, **props: Any) -> dict:
    row: dict[str, Any] = {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}".lower(),
        "plane": "azure",
        "name": name,
        "vault_id": vault_id,
        "scope": scope,
        "principal_id": principal,
        "principal_type": "ServicePrincipal",
        "role_name": role,
        "source": "snapshot",
    }
    row.update(props)
    return row


def access_policy(v: dict[str, Any], object_id: str, permissions: list[str] | None) -> dict[str, Any]:
    return {
        "id": f"{v['id']}/accesspolicies/{object_id}",
        "vault_id": v["id"],
        "object_id": object_id,
        "key_permissions": permissions,
        "source": "snapshot",
    }


def diag(v: dict[str, Any], name: str, logs: Any = "audit", **props: Any) -> dict[str, Any]:
    """A diagnostic setting; ``logs`` defaults to the audit category group, None means unread."""
    row: dict[str, Any] = {
        "id": f"{v['id']}/providers/microsoft.insights/diagnosticsettings/{name}",
        "target_id": v["id"],
        "name": name,
        "logs": [{"category_group": "audit", "enabled": True}] if logs == "audit" else logs,
        "workspace_id": "/subscriptions/x/resourcegroups/m/providers/microsoft.operationalinsights/workspaces/w",
        "source": "snapshot",
    }
    row.update(props)
    return row


def private_endpoint(v: dict[str, Any], name: str, state: str | None) -> dict[str, Any]:
    return {
        "id": f"{v['id']}/privateendpointconnections/{name}",
        "target_id": v["id"],
        "name": name,
        "connection_state": state,
    }


def ref(
    name: str, k: dict[str, Any] | None, version_: str | None, purpose: str, principal: str | None = None, **props: Any
) -> dict:
    uri = (k["kid"] if k else "https://elsewhere.vault.azure.net/keys/x") + (f"/{version_}" if version_ else "")
    row: dict[str, Any] = {
        "id": f"/subscriptions/{SUB}/consumers/{name}#keyuri",
        "consumer_id": f"/subscriptions/{SUB}/consumers/{name}",
        "consumer_type": "helm-values",
        "consumer_name": name,
        "principal_id": principal,
        "key_uri": uri,
        "vault_host": uri.split("/")[2],
        "vault_id": k["vault_id"] if k else None,
        "key_id": k["id"] if k else None,
        "key_name": k["name"] if k else None,
        "key_version": version_,
        "pinned": version_ is not None,
        "purpose": purpose,
        "source": "snapshot",
    }
    row.update(props)
    return row


def inventory(**tables: list[dict[str, Any]]) -> Inventory:
    return Inventory.from_records(tables)


def results(rule_id: str, inv: Inventory, policy: str | Policy | None = None) -> list[tuple[str, str]]:
    """Sorted (resource name, status) pairs of one rule over ``inv``."""
    pol = parse(policy, "policy.toml") if isinstance(policy, str) else policy
    evaluation = evaluate(inv, pol, now=NOW, rules=[get(rule_id)])
    out = evaluation.outcomes[0].results
    return sorted(zip(out["resource_name"].astype(str), out["status"].astype(str), strict=True))
