"""Builds the embedded demo estate: Northwind Robotics, a small company whose Key Vault and
Managed HSM estate mirrors the deployments in the project's deployment guides, with both
compliant and misconfigured resources so that every rule has something to say.

The estate ships as ``scanner/demo/estate.json`` (a snapshot). Regenerate it with
``python -m scanner.demo.build``; a test keeps the JSON and this builder in step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scanner.inventory import Inventory, SourceInfo, normalise_id
from scanner.snapshot import to_document

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUB_PROD = "4a1c9e0b-6f0e-4c2e-9d7a-1b2c3d4e5f60"
SUB_SHARED = "8d3e2f10-2a4b-4c6d-8e9f-0a1b2c3d4e5f"
API_MGMT = "2026-05-15"
API_DATA = "2025-07-01"
API_AUTHZ = "2022-04-01"
API_DIAG = "2021-05-01-preview"
CREATED = "2026-03-02T09:15:00+00:00"
WORKSPACE = f"/subscriptions/{SUB_SHARED}/resourceGroups/rg-monitoring/providers/Microsoft.OperationalInsights/workspaces/law-nw-security"

# Principals (object ids) of the people and workloads in the estate.
PLATFORM_ADMIN_1 = "0b5c2a7e-1111-4c3d-9e8f-000000000001"
PLATFORM_ADMIN_2 = "0b5c2a7e-1111-4c3d-9e8f-000000000002"
PLATFORM_ADMIN_3 = "0b5c2a7e-1111-4c3d-9e8f-000000000003"
CONTROL_PLANE_MI = "5e0f7a11-2222-4b6c-8d9e-000000000010"
KEK_SERVICE_MI = "5e0f7a11-2222-4b6c-8d9e-000000000011"
CI_SIGNER_SP = "5e0f7a11-2222-4b6c-8d9e-000000000012"
CVM_RELEASE_MI = "5e0f7a11-2222-4b6c-8d9e-000000000013"
ETH_SIGNER_APP = "5e0f7a11-2222-4b6c-8d9e-000000000014"
LEGACY_APP = "5e0f7a11-2222-4b6c-8d9e-000000000015"
DEPARTED_USER = "5e0f7a11-2222-4b6c-8d9e-000000000099"
PLATFORM_ADMIN_4 = "0b5c2a7e-1111-4c3d-9e8f-000000000004"
KEY_CUSTODIAN = "0b5c2a7e-1111-4c3d-9e8f-000000000005"
ETH_OPS_APP = "5e0f7a11-2222-4b6c-8d9e-000000000016"
STORAGE_ARCHIVE = f"/subscriptions/{SUB_SHARED}/resourceGroups/rg-monitoring/providers/Microsoft.Storage/storageAccounts/stnwauditarchive"


def vault_arm_id(sub: str, rg: str, name: str, hsm: bool = False) -> str:
    kind = "managedHSMs" if hsm else "vaults"
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/{kind}/{name}"


def _vault(sub: str, rg: str, name: str, hsm: bool = False, **props: Any) -> dict[str, Any]:
    display = vault_arm_id(sub, rg, name, hsm)
    uri = f"https://{name}.managedhsm.azure.net/" if hsm else f"https://{name}.vault.azure.net/"
    row: dict[str, Any] = {
        "id": normalise_id(display),
        "display_id": display,
        "name": name,
        "kind": "managed_hsm" if hsm else "vault",
        "subscription_id": sub,
        "resource_group": rg,
        "location": "westeurope",
        "tenant_id": TENANT,
        "uri": uri,
        "soft_delete_enabled": True,
        "soft_delete_retention_days": 90,
        "purge_protection_enabled": True,
        "public_network_access": "Disabled",
        "network_default_action": "Deny",
        "network_bypass": "None",
        "ip_rules": [],
        "virtual_network_rules": [],
        "rbac_authorization_enabled": None if hsm else True,
        "security_domain_activated": True if hsm else None,
        "tags": {"owner": "platform-security", "env": "prod"},
        "source": "demo",
        "api_version": API_MGMT,
    }
    row.update(props)
    return row


def _key(vault: dict[str, Any], name: str, versions: list[dict[str, Any]], **props: Any) -> tuple[dict, list[dict]]:
    """A key and its versions; the key row mirrors the newest version."""
    key_id = f"{vault['id']}/keys/{name.lower()}"
    kid = f"{vault['uri'].rstrip('/')}/keys/{name}"
    version_rows = []
    for v in versions:
        version_rows.append(
            {
                "id": f"{key_id}/versions/{v['version']}",
                "key_id": key_id,
                "vault_id": vault["id"],
                "key_name": name,
                "version": v["version"],
                "kid": f"{kid}/{v['version']}",
                "kty": props.get("kty"),
                "key_size": props.get("key_size"),
                "curve": props.get("curve"),
                "key_ops": props.get("key_ops"),
                "enabled": v.get("enabled", True),
                "expires": v.get("expires"),
                "created": v.get("created", CREATED),
                "exportable": props.get("exportable", False),
                "source": "demo",
                "api_version": API_DATA,
            }
        )
    newest = versions[-1]
    key = {
        "id": key_id,
        "vault_id": vault["id"],
        "vault_name": vault["name"],
        "name": name,
        "kid": kid,
        "current_version": newest["version"],
        "enabled": newest.get("enabled", True),
        "expires": newest.get("expires"),
        "created": versions[0].get("created", CREATED),
        "updated": newest.get("created", CREATED),
        "exportable": False,
        "rotation_policy_present": True,
        "rotation_actions": ["Rotate", "Notify"],
        "rotation_time_after_create": "P90D",
        "rotation_expiry_time": "P1Y",
        "managed": False,
        "tags": {},
        "source": "demo",
        "api_version": API_DATA,
    }
    key.update(props)
    return key, version_rows


def _hsm_role(hsm: dict[str, Any], name: str, scope: str, role: str, guid: str, principal: str, ptype: str) -> dict:
    return {
        "id": f"{hsm['id']}/roleassignments/{name}",
        "plane": "managed_hsm",
        "name": name,
        "vault_id": hsm["id"],
        "scope": scope,
        "principal_id": principal,
        "principal_type": ptype,
        "role_definition_id": f"Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{guid}",
        "role_name": role,
        "source": "demo",
        "api_version": "7.6",
    }


def _azure_role(
    scope: str, name: str, role: str, guid: str, principal: str, ptype: str, vault_id: str | None = None
) -> dict:
    display = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
    return {
        "id": normalise_id(display),
        "plane": "azure",
        "name": name,
        "vault_id": vault_id,
        "scope": scope,
        "principal_id": principal,
        "principal_type": ptype,
        "role_definition_id": f"/subscriptions/{SUB_PROD}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
        "role_name": role,
        "source": "demo",
        "api_version": API_AUTHZ,
    }


def _diag(
    vault: dict[str, Any],
    name: str,
    logs: list[dict[str, Any]],
    workspace: str | None = WORKSPACE,
    storage: str | None = None,
) -> dict:
    display = f"{vault['display_id']}/providers/Microsoft.Insights/diagnosticSettings/{name}"
    return {
        "id": normalise_id(display),
        "target_id": vault["id"],
        "name": name,
        "logs": logs,
        "workspace_id": workspace,
        "storage_account_id": storage,
        "source": "demo",
        "api_version": API_DIAG,
    }


def _pe(vault: dict[str, Any], name: str, state: str) -> dict:
    return {
        "id": f"{vault['id']}/privateendpointconnections/{name}",
        "target_id": vault["id"],
        "name": name,
        "private_endpoint_id": f"/subscriptions/{vault['subscription_id']}/resourceGroups/rg-network/providers/Microsoft.Network/privateEndpoints/{name}",
        "connection_state": state,
        "provisioning_state": "Succeeded",
        "source": "demo",
        "api_version": API_MGMT,
    }


def _ref(
    consumer_id: str,
    ctype: str,
    cname: str,
    key: dict[str, Any],
    version: str | None,
    purpose: str,
    principal: str | None,
) -> dict:
    uri = key["kid"] + (f"/{version}" if version else "")
    host = uri.split("/")[2].lower()
    return {
        "id": f"{normalise_id(consumer_id)}#keyuri",
        "consumer_id": consumer_id,
        "consumer_type": ctype,
        "consumer_name": cname,
        "principal_id": principal,
        "key_uri": uri,
        "vault_host": host,
        "vault_id": key["vault_id"],
        "key_id": key["id"],
        "key_name": key["name"],
        "key_version": version,
        "pinned": version is not None,
        "purpose": purpose,
        "source": "demo",
    }


AUDIT_LOGS = [{"category": None, "category_group": "audit", "enabled": True, "retention_days": None}]
METRICS_ONLY: list[dict[str, Any]] = []

HSM_CRYPTO_USER = "21dbd100-6940-42c2-9190-5d6cb909625b"
HSM_CRYPTO_OFFICER = "515eb02d-2335-4d2d-92f2-b1cbdf9c3778"
HSM_ADMIN = "a290e904-7015-4bba-90c8-60543313cdb4"
KV_ADMIN = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
KV_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
KV_CRYPTO_SERVICE_ENC_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"


def build() -> Inventory:
    """The demo estate as an inventory."""
    app = _vault(SUB_PROD, "rg-payments", "kv-nw-payments", sku="premium")
    legacy = _vault(
        SUB_PROD,
        "rg-legacy",
        "kv-nw-legacy",
        sku="standard",
        soft_delete_enabled=False,
        soft_delete_retention_days=7,
        purge_protection_enabled=False,
        public_network_access="Enabled",
        network_default_action="Allow",
        network_bypass="AzureServices",
        rbac_authorization_enabled=False,
        tags={"owner": "legacy-billing", "env": "prod"},
    )
    eth = _vault(
        SUB_PROD,
        "rg-web3",
        "kv-nw-eth-signer",
        sku="premium",
        public_network_access="Enabled",
        network_default_action="Deny",
        ip_rules=["203.0.113.0/24"],
        rbac_authorization_enabled=False,
        soft_delete_retention_days=30,
    )
    platform = _vault(SUB_SHARED, "rg-platform-hsm", "hsm-nw-platform", hsm=True, sku="Standard_B1")
    kek = _vault(
        SUB_SHARED,
        "rg-kek-hsm",
        "hsm-nw-kek",
        hsm=True,
        sku="Standard_B1",
        public_network_access="Enabled",
        network_default_action="Allow",
        network_bypass="AzureServices",
        purge_protection_enabled=False,
        soft_delete_retention_days=28,
    )
    # Provisioned for disaster recovery but never activated: nobody downloaded its security domain.
    dr = _vault(
        SUB_SHARED, "rg-platform-hsm", "hsm-nw-dr", hsm=True, sku="Standard_B1", security_domain_activated=False
    )
    vaults = [app, legacy, eth, platform, kek, dr]

    keys: list[dict] = []
    versions: list[dict] = []

    def add(pair: tuple[dict, list[dict]]) -> dict:
        keys.append(pair[0])
        versions.extend(pair[1])
        return pair[0]

    payments_kek = add(
        _key(
            app,
            "payments-cmk",
            [
                {
                    "version": "3f1c2b0a9d8e4f7a8b6c5d4e3f2a1b0c",
                    "expires": "2027-03-01T00:00:00+00:00",
                    "enabled": False,
                },
                {"version": "9a8b7c6d5e4f40312a1b0c9d8e7f6a5b", "expires": "2027-06-01T00:00:00+00:00"},
            ],
            kty="RSA-HSM",
            key_size=3072,
            key_ops=["wrapKey", "unwrapKey"],
            expires="2027-06-01T00:00:00+00:00",
        )
    )
    add(
        _key(
            legacy,
            "billing-rsa",
            [
                {
                    "version": "6a1b2c3d4e5f40718293a4b5c6d7e8f9",
                    "expires": None,
                    "created": "2023-01-10T08:00:00+00:00",
                },
                {
                    "version": "7b2c3d4e5f6a41829304b5c6d7e8f9a0",
                    "expires": None,
                    "created": "2023-07-10T08:00:00+00:00",
                },
                {
                    "version": "8c3d4e5f6a7b4293a415c6d7e8f9a0b1",
                    "expires": None,
                    "created": "2024-01-10T08:00:00+00:00",
                },
                {
                    "version": "0c1d2e3f4a5b46c7d8e9f0a1b2c3d4e5",
                    "expires": None,
                    "created": "2024-07-10T08:00:00+00:00",
                },
            ],
            kty="RSA",
            key_size=2048,
            key_ops=["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"],
            rotation_policy_present=False,
            rotation_actions=None,
            rotation_time_after_create=None,
            rotation_expiry_time=None,
        )
    )
    add(
        _key(
            eth,
            "eth-tx-signer",
            [{"version": "7e6d5c4b3a2940f1e0d9c8b7a6f5e4d3", "expires": "2027-01-31T00:00:00+00:00"}],
            kty="EC",
            curve="P-256K",
            key_ops=["sign", "verify"],
            expires="2027-01-31T00:00:00+00:00",
            rotation_actions=["Notify"],
            rotation_time_after_create=None,
        )
    )
    bootstrap = add(
        _key(
            platform,
            "bootstrap",
            [
                {"version": "b0075742a1f44a6e9d3c1b0a29384756", "expires": "2027-09-30T00:00:00+00:00"},
            ],
            kty="OKP-HSM",
            curve="Ed25519",
            key_ops=["sign", "verify"],
            expires="2027-09-30T00:00:00+00:00",
            rotation_actions=["Notify"],
            rotation_time_after_create=None,
            tags={"kvaudit-profile": "ed25519-signer"},
        )
    )
    artifact = add(
        _key(
            platform,
            "artifact-signing",
            [{"version": "a27f1c3e5d7b49a1b3c5d7e9f1a3b5c7", "expires": "2027-05-31T00:00:00+00:00"}],
            kty="EC-HSM",
            curve="P-384",
            key_ops=["sign", "verify", "decrypt"],
            expires="2027-05-31T00:00:00+00:00",
        )
    )
    add(
        _key(
            platform,
            "cvm-disk-release",
            [{"version": "5cc3a1e0f2d44b6a8c0e2f4a6b8d0f1a", "expires": "2027-08-31T00:00:00+00:00"}],
            kty="RSA-HSM",
            key_size=3072,
            key_ops=["wrapKey", "unwrapKey", "encrypt", "decrypt"],
            expires="2027-08-31T00:00:00+00:00",
            exportable=True,
            release_policy={
                "version": "1.0.0",
                "anyOf": [
                    {
                        "authority": "https://sharedweu.weu.attest.azure.net",
                        "allOf": [
                            {"claim": "x-ms-isolation-tee.x-ms-attestation-type", "equals": "sevsnpvm"},
                            {"claim": "x-ms-isolation-tee.x-ms-compliance-status", "equals": "azure-compliant-cvm"},
                        ],
                    }
                ],
            },
            release_policy_immutable=False,
        )
    )
    kek_key = add(
        _key(
            kek,
            "tenant-kek",
            [
                {"version": "4e5f60718293a4b5c6d7e8f901a2b3c4", "expires": "2026-12-05T00:00:00+00:00"},
            ],
            kty="oct-HSM",
            key_size=256,
            key_ops=["wrapKey", "unwrapKey", "encrypt", "decrypt"],
            expires="2026-12-05T00:00:00+00:00",
        )
    )
    # Distinguish the wrong-tier / wrong-type acceptance cases: a software key in a standard
    # vault, where the control plane's old configuration still points.
    old_signer = add(
        _key(
            legacy,
            "bootstrap-old",
            [{"version": "1d2c3b4a59687f6e5d4c3b2a1f0e9d8c", "expires": "2026-12-31T00:00:00+00:00"}],
            kty="RSA",
            key_size=3072,
            key_ops=["sign", "verify"],
            expires="2026-12-31T00:00:00+00:00",
            tags={"kvaudit-profile": "ed25519-signer"},
        )
    )

    # A P-256 signing key the policy no longer allows, valid until 2030, tagged with a profile
    # name nobody defined (a typo of a real one).
    add(
        _key(
            legacy,
            "legacy-ecdsa",
            [{"version": "9d8c7b6a5f4e43d2c1b0a9f8e7d6c5b4", "expires": "2030-01-01T00:00:00+00:00"}],
            kty="EC",
            curve="P-256",
            key_ops=["sign", "verify"],
            expires="2030-01-01T00:00:00+00:00",
            tags={"kvaudit-profile": "ecdsa-signer"},
        )
    )
    # An AES-128 wrapping key left over from a migration.
    add(
        _key(
            kek,
            "legacy-aes128",
            [{"version": "1a2b3c4d5e6f47a8b9c0d1e2f3a4b5c6", "expires": "2027-03-31T00:00:00+00:00"}],
            kty="oct-HSM",
            key_size=128,
            key_ops=["wrapKey", "unwrapKey"],
            expires="2027-03-31T00:00:00+00:00",
        )
    )
    # Exportable, but nobody attached a release policy.
    add(
        _key(
            platform,
            "cvm-export-draft",
            [{"version": "2b3c4d5e6f7a48b9c0d1e2f3a4b5c6d7", "expires": "2027-04-30T00:00:00+00:00"}],
            kty="RSA-HSM",
            key_size=3072,
            key_ops=["wrapKey", "unwrapKey"],
            expires="2027-04-30T00:00:00+00:00",
            exportable=True,
        )
    )
    # Released on attestation type alone: any SEV-SNP VM, compliant or not, can obtain it.
    add(
        _key(
            platform,
            "cvm-weak-release",
            [{"version": "3c4d5e6f7a8b49c0d1e2f3a4b5c6d7e8", "expires": "2027-04-30T00:00:00+00:00"}],
            kty="RSA-HSM",
            key_size=3072,
            key_ops=["wrapKey", "unwrapKey"],
            expires="2027-04-30T00:00:00+00:00",
            exportable=True,
            release_policy={
                "version": "1.0.0",
                "anyOf": [
                    {
                        "authority": "https://sharedweu.weu.attest.azure.net",
                        "allOf": [{"claim": "x-ms-isolation-tee.x-ms-attestation-type", "equals": "sevsnpvm"}],
                    }
                ],
            },
            release_policy_immutable=True,
        )
    )

    role_assignments = [
        _hsm_role(
            platform,
            "ra-bootstrap-user",
            "/keys/bootstrap",
            "Managed HSM Crypto User",
            HSM_CRYPTO_USER,
            CONTROL_PLANE_MI,
            "ServicePrincipal",
        ),
        _hsm_role(
            platform,
            "ra-ci-signer",
            "/keys",
            "Managed HSM Crypto User",
            HSM_CRYPTO_USER,
            CI_SIGNER_SP,
            "ServicePrincipal",
        ),
        _hsm_role(
            platform,
            "ra-ci-officer",
            "/keys/artifact-signing",
            "Managed HSM Crypto Officer",
            HSM_CRYPTO_OFFICER,
            CI_SIGNER_SP,
            "ServicePrincipal",
        ),
        _hsm_role(
            platform,
            "ra-release",
            "/keys/cvm-disk-release",
            "Managed HSM Crypto Service Release User",
            "21dbd100-6940-42c2-9190-5d6cb909625c",
            CVM_RELEASE_MI,
            "ServicePrincipal",
        ),
        _hsm_role(platform, "ra-admin-1", "/", "Managed HSM Administrator", HSM_ADMIN, PLATFORM_ADMIN_1, "User"),
        _hsm_role(platform, "ra-admin-2", "/", "Managed HSM Administrator", HSM_ADMIN, PLATFORM_ADMIN_2, "User"),
        _hsm_role(
            kek, "ra-kek-user", "/", "Managed HSM Crypto User", HSM_CRYPTO_USER, KEK_SERVICE_MI, "ServicePrincipal"
        ),
        _hsm_role(kek, "ra-kek-admin-1", "/", "Managed HSM Administrator", HSM_ADMIN, PLATFORM_ADMIN_1, "User"),
        _hsm_role(kek, "ra-kek-admin-2", "/", "Managed HSM Administrator", HSM_ADMIN, PLATFORM_ADMIN_3, "User"),
        _hsm_role(
            kek, "ra-kek-officer", "/keys", "Managed HSM Crypto Officer", HSM_CRYPTO_OFFICER, PLATFORM_ADMIN_3, "User"
        ),
        _hsm_role(kek, "ra-kek-admin-3", "/", "Managed HSM Administrator", HSM_ADMIN, PLATFORM_ADMIN_2, "User"),
        _hsm_role(kek, "ra-kek-admin-4", "/", "Managed HSM Administrator", HSM_ADMIN, PLATFORM_ADMIN_4, "User"),
        _hsm_role(
            platform,
            "ra-signing-custodian",
            "/keys/artifact-signing",
            "Managed HSM Crypto Officer",
            HSM_CRYPTO_OFFICER,
            KEY_CUSTODIAN,
            "User",
        ),
        _azure_role(
            f"/subscriptions/{SUB_PROD}",
            "6f1e2d3c-0000-4000-8000-000000000001",
            "Key Vault Administrator",
            KV_ADMIN,
            PLATFORM_ADMIN_1,
            "User",
        ),
        _azure_role(
            app["display_id"],
            "6f1e2d3c-0000-4000-8000-000000000002",
            "Key Vault Crypto Service Encryption User",
            KV_CRYPTO_SERVICE_ENC_USER,
            "5e0f7a11-2222-4b6c-8d9e-000000000020",
            "ServicePrincipal",
            app["id"],
        ),
        _azure_role(
            app["display_id"],
            "6f1e2d3c-0000-4000-8000-000000000003",
            "Key Vault Crypto User",
            KV_CRYPTO_USER,
            DEPARTED_USER,
            "Unknown",
            app["id"],
        ),
    ]
    access_policies = [
        {
            "id": f"{legacy['id']}/accesspolicies/{LEGACY_APP}",
            "vault_id": legacy["id"],
            "tenant_id": TENANT,
            "object_id": LEGACY_APP,
            "key_permissions": ["all"],
            "secret_permissions": ["get", "list"],
            "certificate_permissions": [],
            "source": "demo",
            "api_version": API_MGMT,
        },
        {
            "id": f"{eth['id']}/accesspolicies/{ETH_SIGNER_APP}",
            "vault_id": eth["id"],
            "tenant_id": TENANT,
            "object_id": ETH_SIGNER_APP,
            "key_permissions": ["get", "list", "sign", "verify"],
            "secret_permissions": [],
            "certificate_permissions": [],
            "source": "demo",
            "api_version": API_MGMT,
        },
        {
            "id": f"{eth['id']}/accesspolicies/{ETH_OPS_APP}",
            "vault_id": eth["id"],
            "tenant_id": TENANT,
            "object_id": ETH_OPS_APP,
            "key_permissions": ["get", "list", "sign", "verify", "update", "backup"],
            "secret_permissions": [],
            "certificate_permissions": [],
            "source": "demo",
            "api_version": API_MGMT,
        },
    ]
    diagnostic_settings = [
        _diag(app, "audit-to-law", AUDIT_LOGS),
        _diag(
            platform,
            "hsm-audit",
            [{"category": "AuditEvent", "category_group": None, "enabled": True, "retention_days": None}],
        ),
        _diag(eth, "eth-audit", AUDIT_LOGS),
        _diag(legacy, "metrics-only", METRICS_ONLY),
        _diag(
            platform,
            "hsm-archive",
            [{"category": None, "category_group": "audit", "enabled": True, "retention_days": 400}],
            workspace=None,
            storage=STORAGE_ARCHIVE,
        ),
        _diag(
            kek,
            "kek-archive",
            [{"category": "AuditEvent", "category_group": None, "enabled": True, "retention_days": 30}],
            workspace=None,
            storage=STORAGE_ARCHIVE,
        ),
    ]
    private_endpoints = [
        _pe(app, "pe-kv-nw-payments", "Approved"),
        _pe(platform, "pe-hsm-nw-platform", "Approved"),
        _pe(eth, "pe-kv-nw-eth-signer", "Pending"),
    ]
    des_id = f"/subscriptions/{SUB_PROD}/resourceGroups/rg-payments/providers/Microsoft.Compute/diskEncryptionSets/des-payments"
    cp_id = f"/subscriptions/{SUB_SHARED}/resourceGroups/rg-control-plane/providers/Microsoft.App/containerApps/control-plane"
    ci_id = f"/subscriptions/{SUB_SHARED}/resourceGroups/rg-ci/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-release-signer"
    old_cp = f"/subscriptions/{SUB_PROD}/resourceGroups/rg-legacy/providers/Microsoft.Web/sites/control-plane-v1"
    storage_id = (
        f"/subscriptions/{SUB_SHARED}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stnwtenantdata"
    )
    key_references = [
        _ref(des_id, "Microsoft.Compute/diskEncryptionSets", "des-payments", payments_kek, None, "wrap", None),
        _ref(
            cp_id,
            "Microsoft.App/containerApps",
            "control-plane",
            bootstrap,
            bootstrap["current_version"],
            "sign",
            CONTROL_PLANE_MI,
        ),
        _ref(ci_id, "github-actions-release", "release-pipeline", artifact, None, "sign", CI_SIGNER_SP),
        _ref(
            old_cp, "Microsoft.Web/sites", "control-plane-v1", old_signer, old_signer["current_version"], "sign", None
        ),
        _ref(storage_id, "Microsoft.Storage/storageAccounts", "stnwtenantdata", kek_key, None, "wrap", KEK_SERVICE_MI),
        _ref(
            f"/subscriptions/{SUB_PROD}/resourceGroups/rg-payments/providers/Microsoft.Sql/servers/sql-nw-payments",
            "Microsoft.Sql/servers",
            "sql-nw-payments",
            payments_kek,
            "3f1c2b0a9d8e4f7a8b6c5d4e3f2a1b0c",
            "wrap",
            None,
        ),
    ]
    key_usage = [
        # The payments vault's workspace has received nothing for the whole 30-day window.
        {
            "id": app["id"],
            "key_id": None,
            "vault_id": app["id"],
            "event_count": 0,
            "window_days": 30,
            "last_event": None,
            "source": "demo",
        },
        {
            "id": bootstrap["id"],
            "key_id": bootstrap["id"],
            "vault_id": platform["id"],
            "last_used": "2026-11-22T23:58:11+00:00",
            "operations": ["KeySign"],
            "event_count": 18211,
            "window_days": 30,
            "last_event": "2026-11-22T23:58:11+00:00",
            "source": "demo",
        },
    ]
    return Inventory.from_records(
        {
            "vaults": vaults,
            "keys": keys,
            "key_versions": versions,
            "role_assignments": role_assignments,
            "access_policies": access_policies,
            "diagnostic_settings": diagnostic_settings,
            "private_endpoints": private_endpoints,
            "key_references": key_references,
            "key_usage": key_usage,
        },
        sources=[SourceInfo("demo", "kvaudit embedded demo estate (Northwind Robotics)", None)],
        scope={"estate": "Northwind Robotics demo", "subscriptions": [SUB_PROD, SUB_SHARED]},
    )


def document() -> dict[str, Any]:
    return to_document(build())


def main() -> None:
    import json

    target = Path(__file__).with_name("estate.json")
    target.write_text(json.dumps(document(), indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
