"""Constructors for the pieces of an estate, shaped like the official REST examples.

``build_estate`` composes these into whole estates; keeping the body shapes here means the small
hand-written estate and the generated scale estate cannot drift apart in shape.  All ARM ids keep
their display case; the server matches them case-insensitively, as ARM does.

Vault and HSM URIs are written with their public host names (``https://<name>.vault.azure.net/``);
the server rewrites every such host of a vault it serves to that vault's local port when it starts,
so consumers' key URLs and ``vaultUri`` always agree with what the fake actually serves.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

from tests.fakeazure.keymaterial import version_id

KV = "Microsoft.KeyVault"
AUTHZ = "providers/Microsoft.Authorization"

#: Azure built-in role ids (same in every tenant).
ARM_ROLES: dict[str, str] = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Key Vault Crypto Officer": "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
    "Key Vault Crypto User": "12338af0-0e69-4776-bea7-57ae8d297424",
    "Key Vault Crypto Service Encryption User": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    "Key Vault Reader": "21090545-7ca7-4776-b22c-e363652d74d2",
    "Key Vault Contributor": "f25e0fa2-a7c8-4377-a976-54943a77a395",
    "Managed HSM contributor": "18500a29-7fe2-46b2-a342-b16a415e101d",
}

_ARM_ROLE_PERMISSIONS: dict[str, tuple[list[str], list[str]]] = {
    "Owner": (["*"], []),
    "Contributor": (["*"], []),
    "Reader": (["*/read"], []),
    "Key Vault Administrator": (["Microsoft.KeyVault/*"], ["Microsoft.KeyVault/vaults/*"]),
    "Key Vault Crypto Officer": (["Microsoft.KeyVault/vaults/read"], ["Microsoft.KeyVault/vaults/keys/*"]),
    "Key Vault Crypto User": (
        [],
        [
            "Microsoft.KeyVault/vaults/keys/read",
            "Microsoft.KeyVault/vaults/keys/update/action",
            "Microsoft.KeyVault/vaults/keys/backup/action",
            "Microsoft.KeyVault/vaults/keys/encrypt/action",
            "Microsoft.KeyVault/vaults/keys/decrypt/action",
            "Microsoft.KeyVault/vaults/keys/wrap/action",
            "Microsoft.KeyVault/vaults/keys/unwrap/action",
            "Microsoft.KeyVault/vaults/keys/sign/action",
            "Microsoft.KeyVault/vaults/keys/verify/action",
        ],
    ),
    "Key Vault Crypto Service Encryption User": (
        [],
        [
            "Microsoft.KeyVault/vaults/keys/read",
            "Microsoft.KeyVault/vaults/keys/wrap/action",
            "Microsoft.KeyVault/vaults/keys/unwrap/action",
        ],
    ),
    "Key Vault Reader": (["Microsoft.KeyVault/*/read"], ["Microsoft.KeyVault/vaults/*/read"]),
    "Key Vault Contributor": (["Microsoft.KeyVault/*"], []),
    "Managed HSM contributor": (["Microsoft.KeyVault/managedHSMs/*"], []),
}

#: Managed HSM local built-in roles (data plane, ids of the form Microsoft.KeyVault/providers/...).
HSM_ROLES: dict[str, str] = {
    "Managed HSM Administrator": "a290e904-7015-4bba-90c8-60543313cdb4",
    "Managed HSM Crypto Officer": "515eb02d-2335-4d2d-92f2-b1cbdf9c3778",
    "Managed HSM Crypto User": "21dbd100-6940-42c2-9190-5d6cb909625b",
    "Managed HSM Policy Administrator": "4bd23610-cdcf-4971-bdee-bdc562cc28e4",
    "Managed HSM Crypto Auditor": "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3",
    "Managed HSM Crypto Service Encryption User": "33413926-3206-4cdd-b39a-83574fe37a17",
    "Managed HSM Backup": "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8",
}

_HSM = "Microsoft.KeyVault/managedHsm"
_HSM_ROLE_DATA_ACTIONS: dict[str, list[str]] = {
    "Managed HSM Administrator": [
        f"{_HSM}/roleAssignments/write/action",
        f"{_HSM}/roleAssignments/delete/action",
        f"{_HSM}/roleAssignments/read/action",
        f"{_HSM}/roleDefinitions/read/action",
        f"{_HSM}/securitydomain/upload/action",
        f"{_HSM}/backup/start/action",
    ],
    "Managed HSM Crypto Officer": [
        f"{_HSM}/keys/read/action",
        f"{_HSM}/keys/write/action",
        f"{_HSM}/keys/delete",
        f"{_HSM}/keys/deletedKeys/delete",
        f"{_HSM}/keys/backup/action",
        f"{_HSM}/keys/import/action",
        f"{_HSM}/keys/release/action",
        f"{_HSM}/roleAssignments/read/action",
        f"{_HSM}/roleDefinitions/read/action",
    ],
    "Managed HSM Crypto User": [
        f"{_HSM}/keys/read/action",
        f"{_HSM}/keys/write/action",
        f"{_HSM}/keys/encrypt/action",
        f"{_HSM}/keys/decrypt/action",
        f"{_HSM}/keys/wrap/action",
        f"{_HSM}/keys/unwrap/action",
        f"{_HSM}/keys/sign/action",
        f"{_HSM}/keys/verify/action",
        f"{_HSM}/keys/release/action",
    ],
    "Managed HSM Policy Administrator": [f"{_HSM}/roleAssignments/write/action", f"{_HSM}/roleAssignments/read/action"],
    "Managed HSM Crypto Auditor": [f"{_HSM}/keys/read/action", f"{_HSM}/roleAssignments/read/action"],
    "Managed HSM Crypto Service Encryption User": [
        f"{_HSM}/keys/read/action",
        f"{_HSM}/keys/wrap/action",
        f"{_HSM}/keys/unwrap/action",
    ],
    "Managed HSM Backup": [f"{_HSM}/backup/start/action", f"{_HSM}/backup/status/action", f"{_HSM}/keys/backup/action"],
}


def arm_role_definitions() -> list[dict[str, Any]]:
    """Built-in Azure role definitions in the GetRoleDefinitionById shape (tenant-level ids)."""
    out = []
    for role, guid in ARM_ROLES.items():
        actions, data_actions = _ARM_ROLE_PERMISSIONS.get(role, ([], []))
        out.append(
            {
                "properties": {
                    "roleName": role,
                    "type": "BuiltInRole",
                    "description": f"{role} (built-in)",
                    "assignableScopes": ["/"],
                    "permissions": [
                        {"actions": actions, "notActions": [], "dataActions": data_actions, "notDataActions": []}
                    ],
                },
                "id": f"/{AUTHZ}/roleDefinitions/{guid}",
                "type": "Microsoft.Authorization/roleDefinitions",
                "name": guid,
            }
        )
    return out


def hsm_role_definitions() -> list[dict[str, Any]]:
    """Managed HSM local built-in role definitions in the ListRoleDefinitions shape."""
    out = []
    for role, guid in HSM_ROLES.items():
        out.append(
            {
                "properties": {
                    "roleName": role,
                    "type": "AKVBuiltInRole",
                    "description": role,
                    "assignableScopes": ["/"],
                    "permissions": [
                        {
                            "actions": [],
                            "notActions": [],
                            "dataActions": _HSM_ROLE_DATA_ACTIONS[role],
                            "notDataActions": [],
                        }
                    ],
                },
                "id": f"Microsoft.KeyVault/{AUTHZ}/roleDefinitions/{guid}",
                "type": "Microsoft.Authorization/roleDefinitions",
                "name": guid,
            }
        )
    return out


def rg_id(sub: str, rg: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}"


def vault(
    sub: str,
    rg: str,
    name: str,
    *,
    tenant: str,
    sku: str = "standard",
    location: str = "westeurope",
    rbac: bool = True,
    soft_delete_days: int = 90,
    purge_protection: bool | None = True,
    public_network: str = "Enabled",
    default_action: str = "Deny",
    bypass: str = "AzureServices",
    access_policies: list[dict[str, Any]] | None = None,
    tags: dict[str, str] | None = None,
    private_endpoints: Iterable[tuple[str, str]] = (),
) -> dict[str, Any]:
    """A vault body as Vaults_Get returns it (2026-05-15); ``purge_protection=None`` omits the
    property, as the service does for vaults where it was never enabled."""
    vid = f"{rg_id(sub, rg)}/providers/{KV}/vaults/{name}"
    props: dict[str, Any] = {
        "tenantId": tenant,
        "sku": {"family": "A", "name": sku},
        "accessPolicies": access_policies or [],
        "vaultUri": f"https://{name}.vault.azure.net/",
        "enabledForDeployment": False,
        "enabledForDiskEncryption": False,
        "enabledForTemplateDeployment": False,
        "enableSoftDelete": True,
        "softDeleteRetentionInDays": soft_delete_days,
        "enableRbacAuthorization": rbac,
        "networkAcls": {"bypass": bypass, "defaultAction": default_action, "ipRules": [], "virtualNetworkRules": []},
        "publicNetworkAccess": public_network,
        "provisioningState": "Succeeded",
        "privateEndpointConnections": [pec(vid, pe, status, sub, rg) for pe, status in private_endpoints],
    }
    if purge_protection is not None:
        props["enablePurgeProtection"] = purge_protection
    return {
        "id": vid,
        "name": name,
        "type": f"{KV}/vaults",
        "location": location,
        "tags": tags or {},
        "systemData": {
            "createdAt": "2024-01-10T09:00:00.0000000Z",
            "createdBy": "platform@contoso.com",
            "createdByType": "User",
            "lastModifiedAt": "2024-06-01T09:00:00.0000000Z",
            "lastModifiedBy": "platform@contoso.com",
            "lastModifiedByType": "User",
        },
        "properties": props,
    }


def managed_hsm(
    sub: str,
    rg: str,
    name: str,
    *,
    tenant: str,
    admins: list[str],
    location: str = "westeurope",
    security_domain: str = "Active",
    public_network: str = "Disabled",
    purge_protection: bool = True,
    soft_delete_days: int = 90,
    private_endpoints: Iterable[tuple[str, str]] = (),
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A managed HSM body as ManagedHsms_Get returns it, with the schema's optional properties."""
    hid = f"{rg_id(sub, rg)}/providers/{KV}/managedHSMs/{name}"
    message = (
        "Your HSM has been activated and can be used for cryptographic operations."
        if security_domain == "Active"
        else "Your HSM is provisioned and ready to be activated. Download the security domain to activate it."
    )
    return {
        "id": hid,
        "name": name,
        "type": f"{KV}/managedHSMs",
        "location": location,
        "sku": {"family": "B", "name": "Standard_B1"},
        "tags": tags or {},
        "properties": {
            "tenantId": tenant,
            "initialAdminObjectIds": admins,
            "enableSoftDelete": True,
            "softDeleteRetentionInDays": soft_delete_days,
            "enablePurgeProtection": purge_protection,
            "hsmUri": f"https://{name}.managedhsm.azure.net/",
            "provisioningState": "Succeeded",
            "statusMessage": "The Managed HSM is provisioned and ready to use.",
            "networkAcls": {
                "bypass": "AzureServices",
                "defaultAction": "Deny",
                "ipRules": [],
                "virtualNetworkRules": [],
            },
            "publicNetworkAccess": public_network,
            "regions": [],
            "securityDomainProperties": {"activationStatus": security_domain, "activationStatusMessage": message},
            "privateEndpointConnections": [pec(hid, pe, status, sub, rg) for pe, status in private_endpoints],
        },
    }


def pec(owner_id: str, pe_name: str, status: str, sub: str, rg: str) -> dict[str, Any]:
    """A private endpoint connection as embedded in the vault body (id, etag, properties)."""
    return {
        "id": f"{owner_id}/privateEndpointConnections/{pe_name}-conn",
        "etag": "",
        "properties": {
            "privateEndpoint": {"id": f"{rg_id(sub, rg)}/providers/Microsoft.Network/privateEndpoints/{pe_name}"},
            "privateLinkServiceConnectionState": {
                "status": status,
                "actionsRequired": "None",
                "description": "Auto-approved" if status == "Approved" else "Awaiting approval",
            },
            "provisioningState": "Succeeded",
        },
    }


def key_version(
    seed: str,
    kty: str,
    ops: list[str],
    *,
    created: int,
    enabled: bool = True,
    exp: int | None = None,
    nbf: int | None = None,
    key_size: int | None = None,
    crv: str | None = None,
    exportable: bool = False,
    release_policy: dict[str, Any] | None = None,
    hsm: bool = False,
) -> dict[str, Any]:
    """One key version as the estate stores it; the server turns it into a KeyBundle."""
    attributes: dict[str, Any] = {
        "enabled": enabled,
        "created": created,
        "updated": created,
        "recoveryLevel": "Recoverable" if hsm else "Recoverable+Purgeable",
        "recoverableDays": 90,
        "exportable": exportable,
    }
    if exp is not None:
        attributes["exp"] = exp
    if nbf is not None:
        attributes["nbf"] = nbf
    out: dict[str, Any] = {"version": version_id(seed), "kty": kty, "key_ops": ops, "attributes": attributes}
    if key_size is not None:
        out["key_size"] = key_size
    if crv is not None:
        out["crv"] = crv
    if release_policy is not None:
        out["release_policy"] = release_policy
    return out


def release_policy(
    claims: dict[str, str], *, immutable: bool, authority: str = "https://sharedeus.eus.attest.azure.net/"
) -> dict[str, Any]:
    """A secure key release policy: JSON document, base64url in ``data`` as the service returns it."""
    doc = {
        "version": "1.0.0",
        "anyOf": [{"authority": authority, "allOf": [{"claim": c, "equals": v} for c, v in claims.items()]}],
    }
    data = base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).rstrip(b"=").decode()
    return {"contentType": "application/json; charset=utf-8", "data": data, "immutable": immutable}


def rotation_policy(*, rotate_after: str | None, expiry: str | None, created: int) -> dict[str, Any]:
    """An explicitly set rotation policy (GetKeyRotationPolicy shape, without the id the server adds)."""
    actions: list[dict[str, Any]] = []
    if rotate_after:
        actions.append({"trigger": {"timeAfterCreate": rotate_after}, "action": {"type": "Rotate"}})
    actions.append({"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}})
    attributes: dict[str, Any] = {"created": created, "updated": created}
    if expiry:
        attributes["expiryTime"] = expiry
    return {"lifetimeActions": actions, "attributes": attributes}


def role_assignment(
    scope: str,
    name: str,
    role_id: str,
    principal: str,
    principal_type: str = "ServicePrincipal",
) -> dict[str, Any]:
    """An Azure RBAC role assignment body (RoleAssignments_ListForScope 2022-04-01 shape)."""
    prefix = "" if scope == "/" else scope
    # Below a subscription the service reports the subscription-qualified definition id.
    parts = scope.split("/")
    definition_scope = f"/subscriptions/{parts[2]}" if scope.lower().startswith("/subscriptions/") else ""
    return {
        "properties": {
            "roleDefinitionId": f"{definition_scope}/{AUTHZ}/roleDefinitions/{role_id}",
            "principalId": principal,
            "principalType": principal_type,
            "scope": scope,
            "condition": None,
            "conditionVersion": None,
            "createdOn": "2024-03-01T10:00:00.0000000Z",
            "updatedOn": "2024-03-01T10:00:00.0000000Z",
            "createdBy": None,
            "updatedBy": None,
            "delegatedManagedIdentityResourceId": None,
            "description": None,
        },
        "id": f"{prefix}/{AUTHZ}/roleAssignments/{name}",
        "type": "Microsoft.Authorization/roleAssignments",
        "name": name,
    }


def hsm_role_assignment(scope: str, name: str, role: str, principal: str) -> dict[str, Any]:
    """A Managed HSM local role assignment (ListRoleAssignments 7.6 shape); scope is /, /keys or /keys/x."""
    prefix = "" if scope == "/" else scope
    return {
        "properties": {
            "roleDefinitionId": f"Microsoft.KeyVault/{AUTHZ}/roleDefinitions/{HSM_ROLES[role]}",
            "principalId": principal,
            "scope": scope,
        },
        "id": f"{prefix}/{AUTHZ}/roleAssignments/{name}",
        "type": "Microsoft.Authorization/roleAssignments",
        "name": name,
    }


def diagnostic_setting(
    resource_id: str,
    name: str,
    *,
    workspace: str | None = None,
    storage: str | None = None,
    logs: list[dict[str, Any]] | None = None,
    metrics: bool = True,
) -> dict[str, Any]:
    """A diagnostic setting (2021-05-01-preview shape). ``logs`` entries name a category or categoryGroup."""
    props: dict[str, Any] = {
        "storageAccountId": storage,
        "serviceBusRuleId": None,
        "workspaceId": workspace,
        "eventHubAuthorizationRuleId": None,
        "eventHubName": None,
        "marketplacePartnerId": None,
        "logAnalyticsDestinationType": None,
        "metrics": [{"category": "AllMetrics", "enabled": metrics, "retentionPolicy": {"enabled": False, "days": 0}}],
        "logs": logs or [],
    }
    return {
        "id": f"{resource_id}/providers/microsoft.insights/diagnosticSettings/{name}",
        "type": "Microsoft.Insights/diagnosticSettings",
        "name": name,
        "properties": props,
    }


def log_entry(
    *, category: str | None = None, group: str | None = None, enabled: bool = True, retention_days: int = 0
) -> dict[str, Any]:
    return {
        "category": category,
        "categoryGroup": group,
        "enabled": enabled,
        "retentionPolicy": {"enabled": retention_days > 0, "days": retention_days},
    }


def resource(
    sub: str, rg: str, rtype: str, name: str, properties: dict[str, Any], *, location: str = "westeurope", **extra: Any
) -> dict[str, Any]:
    """Any other ARM resource (consumers, workspaces) with its real property shape."""
    return {
        "id": f"{rg_id(sub, rg)}/providers/{rtype}/{name}",
        "name": name.split("/")[-1],
        "type": rtype,
        "location": location,
        "tags": {},
        "properties": properties,
        **extra,
    }
