"""Estates for the fake: the small realistic default, a generated scale estate, and JSON files.

An estate is plain data (see README.md, "Estate format").  ``default()`` plants a known set of
misconfigurations and lists them in ``estate["planted"]`` so that end-to-end tests can compare the
scanner's findings with ground truth instead of with a hand-kept expectation list.
``scale()`` generates key bodies per vault on demand, because a 1,000-vault estate has ~150,000
key versions and materialising them all would dominate benchmark start-up.
"""

from __future__ import annotations

import copy
import functools
import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.fakeazure import estate_parts as P
from tests.fakeazure.keymaterial import version_id

DAY = 86400
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUB_PROD = "11111111-1111-4111-8111-111111111111"
SUB_DEV = "22222222-2222-4222-8222-222222222222"
MG = "mg-contoso"
WORKSPACE_CUSTOMER_ID = "63613592-b6f7-4c3d-a390-22ba13102111"

# Principals (object ids) the default estate uses, named for readability in tests.
PRINCIPALS: dict[str, str] = {
    "platform-admins": "a0000000-0000-4000-8000-000000000001",
    "sub-owner": "a0000000-0000-4000-8000-000000000002",
    "apps-sp": "a0000000-0000-4000-8000-000000000003",
    "payments-app": "a0000000-0000-4000-8000-000000000004",
    "storage-identity": "a0000000-0000-4000-8000-000000000005",
    "deleted-user": "a0000000-0000-4000-8000-000000000006",
    "sql-identity": "a0000000-0000-4000-8000-000000000007",
    "hsm-admin-1": "a0000000-0000-4000-8000-000000000008",
    "hsm-admin-2": "a0000000-0000-4000-8000-000000000009",
    "hsm-admin-3": "a0000000-0000-4000-8000-00000000000a",
    "signer-app": "a0000000-0000-4000-8000-00000000000b",
    "ci-pipeline": "a0000000-0000-4000-8000-00000000000c",
    "auditor": "a0000000-0000-4000-8000-00000000000d",
}

SEV_SNP_CLAIMS = {
    "x-ms-isolation-tee.x-ms-attestation-type": "sevsnpvm",
    "x-ms-isolation-tee.x-ms-compliance-status": "azure-compliant-cvm",
}


def _skeleton(subscriptions: list[tuple[str, str]], extra_mgs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The parts every estate has: tenant, the management group tree, subscriptions, role catalogues."""
    return {
        "tenantId": TENANT,
        "managementGroups": [
            {"name": MG, "displayName": "Contoso", "parent": TENANT, "subscriptions": [s for s, _ in subscriptions]},
            *(extra_mgs or []),
        ],
        "subscriptions": [{"subscriptionId": s, "displayName": n, "state": "Enabled"} for s, n in subscriptions],
        "resources": [],
        "keys": {},
        "roleDefinitions": P.arm_role_definitions(),
        "roleAssignments": [],
        "hsmRoleDefinitions": P.hsm_role_definitions(),
        "hsmRoleAssignments": {},
        "diagnosticSettings": {},
        "logAnalytics": {},
        "planted": [],
    }


def _kid(host: str, name: str, version: str | None = None) -> str:
    return f"{host}keys/{name}" + (f"/{version}" if version else "")


def default(now: int | None = None) -> dict[str, Any]:
    """The small realistic estate with planted misconfigurations; times are relative to ``now``."""
    now = int(now if now is not None else time.time())
    est = _skeleton([(SUB_PROD, "contoso-prod"), (SUB_DEV, "contoso-dev")])
    res, keys, planted = est["resources"], est["keys"], est["planted"]
    pr = PRINCIPALS

    def plant(what: str, rid: str) -> None:
        planted.append({"what": what, "resource_id": rid.lower()})

    # --- shared infrastructure -------------------------------------------------------------
    workspace = P.resource(
        SUB_PROD,
        "rg-security",
        "Microsoft.OperationalInsights/workspaces",
        "law-security",
        {
            "customerId": WORKSPACE_CUSTOMER_ID,
            "provisioningState": "Succeeded",
            "sku": {"name": "PerGB2018"},
            "retentionInDays": 90,
        },
    )
    audit_storage = P.resource(
        SUB_PROD,
        "rg-security",
        "Microsoft.Storage/storageAccounts",
        "stauditlogs",
        {"encryption": {"keySource": "Microsoft.Storage"}},
        kind="StorageV2",
        sku={"name": "Standard_GRS", "tier": "Standard"},
    )
    res += [workspace, audit_storage]

    # --- vaults ----------------------------------------------------------------------------
    pay = P.vault(
        SUB_PROD,
        "rg-security",
        "kv-prod-payments",
        tenant=TENANT,
        sku="premium",
        public_network="Disabled",
        private_endpoints=[("pe-kv-payments", "Approved")],
        tags={"owner": "payments"},
    )
    apps = P.vault(
        SUB_PROD,
        "rg-apps",
        "kv-prod-apps",
        tenant=TENANT,
        soft_delete_days=7,
        purge_protection=None,
        default_action="Allow",
        private_endpoints=[("pe-kv-apps", "Pending")],
    )
    legacy_policies = [
        {
            "tenantId": TENANT,
            "objectId": pr["apps-sp"],
            "permissions": {"keys": ["all"], "secrets": ["get", "list"], "certificates": []},
        },
        {
            "tenantId": TENANT,
            "objectId": pr["payments-app"],
            "permissions": {"keys": ["get", "list", "sign", "verify", "purge"], "secrets": [], "certificates": []},
        },
    ]
    legacy = P.vault(SUB_PROD, "rg-apps", "kv-prod-legacy", tenant=TENANT, rbac=False, access_policies=legacy_policies)
    dev1 = P.vault(SUB_DEV, "rg-dev", "kv-dev-01", tenant=TENANT)
    dev2 = P.vault(
        SUB_DEV,
        "rg-dev",
        "kv-dev-02",
        tenant=TENANT,
        sku="premium",
        public_network="Disabled",
        private_endpoints=[("pe-kv-dev-02", "Approved"), ("pe-kv-dev-02-old", "Rejected")],
    )
    empty = P.vault(SUB_PROD, "rg-security", "kv-prod-empty", tenant=TENANT)
    res += [pay, apps, legacy, dev1, dev2, empty]
    plant("soft_delete_retention_below_minimum", apps["id"])
    plant("purge_protection_off", apps["id"])
    plant("firewall_default_allow", apps["id"])
    plant("public_network_access_enabled", apps["id"])
    plant("no_approved_private_endpoint", apps["id"])
    plant("uses_access_policies", legacy["id"])
    plant("access_policy_all_key_permissions", legacy["id"])
    plant("access_policy_grants_purge", legacy["id"])

    # --- managed HSMs ----------------------------------------------------------------------
    sign = P.managed_hsm(
        SUB_PROD,
        "rg-security",
        "mhsm-prod-signing",
        tenant=TENANT,
        admins=[pr["hsm-admin-1"]],
        private_endpoints=[("pe-mhsm-signing", "Approved")],
    )
    kek = P.managed_hsm(
        SUB_PROD, "rg-data", "mhsm-prod-kek", tenant=TENANT, admins=[pr["hsm-admin-1"]], public_network="Enabled"
    )
    res += [sign, kek]
    plant("public_network_access_enabled", kek["id"])
    plant("no_approved_private_endpoint", kek["id"])

    # --- keys ------------------------------------------------------------------------------
    def host_of(body: dict[str, Any]) -> str:
        return body["properties"].get("vaultUri") or body["properties"]["hsmUri"]

    def add_key(
        owner: dict[str, Any],
        name: str,
        versions: list[dict[str, Any]],
        *,
        rotation: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        entry = {"name": name, "tags": tags or {}, "versions": versions, "rotation_policy": rotation}
        keys.setdefault(owner["id"].lower(), []).append(entry)
        return entry

    def kid_of(owner: dict[str, Any], name: str) -> str:
        return f"{owner['id']}/keys/{name}"

    year = 365 * DAY
    # kv-prod-payments: compliant HSM-backed keys with rotation policies
    rsa_ops = ["encrypt", "decrypt", "wrapKey", "unwrapKey"]
    add_key(
        pay,
        "payments-rsa",
        [
            P.key_version(
                "pay-rsa-1", "RSA-HSM", rsa_ops, key_size=3072, created=now - 200 * DAY, exp=now - 200 * DAY + year
            ),
            P.key_version(
                "pay-rsa-2", "RSA-HSM", rsa_ops, key_size=3072, created=now - 20 * DAY, exp=now - 20 * DAY + year
            ),
        ],
        rotation=P.rotation_policy(rotate_after="P180D", expiry="P1Y", created=now - 200 * DAY),
    )
    add_key(
        pay,
        "eth-signer",
        [
            P.key_version(
                "pay-eth-1", "EC-HSM", ["sign", "verify"], crv="P-256K", created=now - 50 * DAY, exp=now + 300 * DAY
            )
        ],
        rotation=P.rotation_policy(rotate_after="P1Y", expiry="P2Y", created=now - 50 * DAY),
        tags={"kvaudit-profile": "ethereum-signer"},
    )
    cmk_storage = add_key(
        pay,
        "cmk-storage",
        [
            P.key_version(
                "pay-cmk-1",
                "RSA-HSM",
                ["wrapKey", "unwrapKey"],
                key_size=2048,
                created=now - 90 * DAY,
                exp=now + 275 * DAY,
            )
        ],
        rotation=P.rotation_policy(rotate_after="P90D", expiry="P1Y", created=now - 90 * DAY),
    )

    # kv-prod-apps: software keys, no expiry, too many enabled old versions, a disabled pinned version
    add_key(
        apps,
        "app-rsa",
        [
            P.key_version(
                "apps-rsa-1", "RSA", ["sign", "verify", "encrypt", "decrypt"], key_size=2048, created=now - 400 * DAY
            )
        ],
    )
    plant("key_without_expiry", kid_of(apps, "app-rsa"))
    plant("no_rotation_policy", kid_of(apps, "app-rsa"))
    des_versions = [
        P.key_version(
            f"apps-des-{i}",
            "RSA",
            ["wrapKey", "unwrapKey"],
            key_size=2048,
            created=now - (500 - 100 * i) * DAY,
            exp=now + (100 * i) * DAY,
            enabled=(i != 1),
        )
        for i in range(5)
    ]
    add_key(
        apps,
        "des-key",
        des_versions,
        rotation=P.rotation_policy(rotate_after=None, expiry="P2Y", created=now - 500 * DAY),
    )
    disabled_pin = des_versions[1]["version"]
    plant("rotation_policy_without_rotate", kid_of(apps, "des-key"))
    plant("too_many_enabled_versions", kid_of(apps, "des-key"))

    # kv-prod-legacy: EC software key with broad ops
    add_key(
        legacy,
        "legacy-ec",
        [
            P.key_version(
                "legacy-ec-1",
                "EC",
                ["sign", "verify", "decrypt", "unwrapKey"],
                crv="P-256",
                created=now - 700 * DAY,
                exp=now + 3 * year,
            )
        ],
    )
    plant("expiry_beyond_maximum_validity", kid_of(legacy, "legacy-ec"))

    # kv-dev-01: a key expiring within 10 days
    add_key(
        dev1,
        "dev-key",
        [
            P.key_version(
                "dev1-1", "RSA", ["sign", "verify"], key_size=2048, created=now - 355 * DAY, exp=now + 10 * DAY
            )
        ],
        rotation=P.rotation_policy(rotate_after="P1Y", expiry="P1Y", created=now - 355 * DAY),
    )
    plant("key_expires_soon", kid_of(dev1, "dev-key"))

    # kv-dev-02: SQL TDE protector (pinned, healthy) and a small RSA key
    sql_tde = add_key(
        dev2,
        "sql-tde",
        [
            P.key_version(
                "dev2-tde-1",
                "RSA-HSM",
                ["wrapKey", "unwrapKey"],
                key_size=3072,
                created=now - 30 * DAY,
                exp=now + 700 * DAY,
            )
        ],
        rotation=P.rotation_policy(rotate_after="P1Y", expiry="P2Y", created=now - 30 * DAY),
    )
    add_key(
        dev2,
        "weak-rsa",
        [
            P.key_version(
                "dev2-weak-1",
                "RSA-HSM",
                ["sign", "verify"],
                key_size=1024 * 2,
                created=now - 10 * DAY,
                exp=now + 100 * DAY,
                nbf=now - 10 * DAY,
            )
        ],
        rotation=P.rotation_policy(rotate_after="P90D", expiry="P1Y", created=now - 10 * DAY),
    )

    # mhsm-prod-signing: Ed25519 bootstrap signer (two versions, consumer pins the current one)
    signer = add_key(
        sign,
        "bootstrap-signer",
        [
            P.key_version(
                f"signer-{i}",
                "OKP-HSM",
                ["sign", "verify"],
                crv="Ed25519",
                hsm=True,
                created=now - (120 - 60 * i) * DAY,
                exp=now + (245 + 60 * i) * DAY,
            )
            for i in range(2)
        ],
        rotation=P.rotation_policy(rotate_after=None, expiry="P1Y", created=now - 120 * DAY),
        tags={"kvaudit-profile": "ed25519-signer"},
    )
    add_key(
        sign,
        "artifact-signer",
        [
            P.key_version(
                "artifact-1",
                "EC-HSM",
                ["sign", "verify", "decrypt"],
                crv="P-384",
                hsm=True,
                created=now - 40 * DAY,
                exp=now + 325 * DAY,
            )
        ],
        rotation=P.rotation_policy(rotate_after="P1Y", expiry="P1Y", created=now - 40 * DAY),
        tags={"kvaudit-profile": "artifact-signing"},
    )
    plant("key_ops_broader_than_profile", kid_of(sign, "artifact-signer"))

    # mhsm-prod-kek: AES KEK without a rotation policy, and SKR keys (one with a mutable policy)
    add_key(
        kek,
        "envelope-kek",
        [
            P.key_version(
                "kek-1",
                "oct-HSM",
                ["wrapKey", "unwrapKey"],
                key_size=256,
                hsm=True,
                created=now - 60 * DAY,
                exp=now + 300 * DAY,
            )
        ],
        tags={"kvaudit-profile": "aes-kek"},
    )
    plant("no_rotation_policy", kid_of(kek, "envelope-kek"))
    add_key(
        kek,
        "skr-cvm",
        [
            P.key_version(
                "skr-1",
                "RSA-HSM",
                ["encrypt", "decrypt", "wrapKey", "unwrapKey"],
                key_size=3072,
                hsm=True,
                created=now - 15 * DAY,
                exp=now + 350 * DAY,
                exportable=True,
                release_policy=P.release_policy(SEV_SNP_CLAIMS, immutable=False),
            )
        ],
        rotation=P.rotation_policy(rotate_after="P180D", expiry="P1Y", created=now - 15 * DAY),
        tags={"kvaudit-profile": "skr-release"},
    )
    plant("release_policy_mutable", kid_of(kek, "skr-cvm"))
    add_key(
        kek,
        "skr-weak",
        [
            P.key_version(
                "skrw-1",
                "RSA-HSM",
                ["encrypt", "decrypt"],
                key_size=2048,
                hsm=True,
                created=now - 15 * DAY,
                exp=now + 350 * DAY,
                exportable=True,
                release_policy=P.release_policy({"x-ms-attestation-type": "sevsnpvm"}, immutable=True),
            )
        ],
        rotation=P.rotation_policy(rotate_after="P180D", expiry="P1Y", created=now - 15 * DAY),
        tags={"kvaudit-profile": "skr-release"},
    )
    plant("release_policy_missing_required_claims", kid_of(kek, "skr-weak"))

    # --- key consumers ---------------------------------------------------------------------
    signer_v = signer["versions"][-1]["version"]
    res.append(
        P.resource(
            SUB_PROD,
            "rg-apps",
            "Microsoft.Compute/diskEncryptionSets",
            "des-prod-disks",
            {
                "activeKey": {
                    "keyUrl": _kid(host_of(apps), "des-key", disabled_pin),
                    "sourceVault": {"id": apps["id"]},
                },
                "encryptionType": "EncryptionAtRestWithCustomerKey",
                "rotationToLatestKeyVersionEnabled": False,
                "provisioningState": "Succeeded",
            },
            identity={"type": "SystemAssigned"},
        )
    )
    plant(
        "pinned_version_disabled",
        f"{P.rg_id(SUB_PROD, 'rg-apps')}/providers/Microsoft.Compute/diskEncryptionSets/des-prod-disks",
    )
    res.append(
        P.resource(
            SUB_PROD,
            "rg-apps",
            "Microsoft.Storage/storageAccounts",
            "stprodpayments",
            {
                "encryption": {
                    "keySource": "Microsoft.Keyvault",
                    "requireInfrastructureEncryption": True,
                    "keyvaultproperties": {
                        "keyvaulturi": host_of(pay),
                        "keyname": cmk_storage["name"],
                        "keyversion": "",
                    },
                    "services": {"blob": {"enabled": True, "keyType": "Account"}},
                },
                "provisioningState": "Succeeded",
            },
            kind="StorageV2",
            sku={"name": "Standard_ZRS", "tier": "Standard"},
        )
    )
    res.append(
        P.resource(
            SUB_DEV,
            "rg-dev",
            "Microsoft.Sql/servers",
            "sql-dev-01",
            {
                "administratorLogin": "sqladmin",
                "keyId": _kid(host_of(dev2), "sql-tde", sql_tde["versions"][0]["version"]),
                "state": "Ready",
                "version": "12.0",
            },
            identity={"type": "SystemAssigned", "principalId": pr["sql-identity"]},
        )
    )
    res.append(
        P.resource(
            SUB_DEV,
            "rg-dev",
            "Microsoft.Sql/servers/encryptionProtector",
            "sql-dev-01/encryptionProtector/current",
            {
                "serverKeyName": f"kv-dev-02_sql-tde_{sql_tde['versions'][0]['version']}",
                "serverKeyType": "AzureKeyVault",
                "uri": _kid(host_of(dev2), "sql-tde", sql_tde["versions"][0]["version"]),
                "autoRotationEnabled": False,
            },
        )
    )
    res[-1]["id"] = (
        f"{P.rg_id(SUB_DEV, 'rg-dev')}/providers/Microsoft.Sql/servers/sql-dev-01/encryptionProtector/current"
    )
    res[-1]["name"] = "current"
    res.append(
        P.resource(
            SUB_PROD,
            "rg-apps",
            "Microsoft.ContainerService/managedClusters",
            "aks-prod",
            {
                "kubernetesVersion": "1.30.3",
                "securityProfile": {
                    "azureKeyVaultKms": {
                        "enabled": True,
                        "keyId": _kid(
                            host_of(pay), "payments-rsa", keys[pay["id"].lower()][0]["versions"][-1]["version"]
                        ),
                        "keyVaultNetworkAccess": "Private",
                        "keyVaultResourceId": pay["id"],
                    }
                },
                "provisioningState": "Succeeded",
            },
        )
    )
    res.append(
        P.resource(
            SUB_PROD,
            "rg-data",
            "Microsoft.DocumentDB/databaseAccounts",
            "cosmos-prod",
            {
                "keyVaultKeyUri": _kid(host_of(pay), "cmk-storage"),
                "databaseAccountOfferType": "Standard",
                "provisioningState": "Succeeded",
            },
            kind="GlobalDocumentDB",
        )
    )
    res.append(
        P.resource(
            SUB_PROD,
            "rg-apps",
            "Microsoft.App/containerApps",
            "ca-bootstrap",
            {
                "template": {
                    "containers": [
                        {
                            "name": "bootstrap",
                            "image": "contoso.azurecr.io/bootstrap:1.4",
                            "env": [
                                {"name": "SIGNER_KEY_ID", "value": _kid(host_of(sign), "bootstrap-signer", signer_v)}
                            ],
                        }
                    ]
                },
                "provisioningState": "Succeeded",
            },
        )
    )
    res.append(
        P.resource(
            SUB_PROD,
            "rg-apps",
            "Microsoft.App/containerApps",
            "ca-verifier",
            {
                "template": {
                    "containers": [
                        {
                            "name": "verifier",
                            "image": "contoso.azurecr.io/verifier:2.0",
                            "env": [{"name": "SIGNER_KEY_ID", "value": _kid(host_of(sign), "bootstrap-signer")}],
                        }
                    ]
                },
                "provisioningState": "Succeeded",
            },
        )
    )
    plant(
        "signing_key_reference_unpinned",
        f"{P.rg_id(SUB_PROD, 'rg-apps')}/providers/Microsoft.App/containerApps/ca-verifier",
    )

    # --- Azure RBAC ------------------------------------------------------------------------
    mg_scope = f"/providers/Microsoft.Management/managementGroups/{MG}"
    roles = P.ARM_ROLES
    est["roleAssignments"] = [
        P.role_assignment(
            mg_scope,
            "b1000000-0000-4000-8000-000000000001",
            roles["Key Vault Administrator"],
            pr["platform-admins"],
            "Group",
        ),
        P.role_assignment(
            f"/subscriptions/{SUB_PROD}",
            "b1000000-0000-4000-8000-000000000002",
            roles["Owner"],
            pr["sub-owner"],
            "User",
        ),
        P.role_assignment(
            f"/subscriptions/{SUB_PROD}", "b1000000-0000-4000-8000-000000000003", roles["Reader"], pr["auditor"], "User"
        ),
        P.role_assignment(
            P.rg_id(SUB_PROD, "rg-apps"),
            "b1000000-0000-4000-8000-000000000004",
            roles["Key Vault Crypto Officer"],
            pr["apps-sp"],
        ),
        P.role_assignment(
            pay["id"], "b1000000-0000-4000-8000-000000000005", roles["Key Vault Crypto User"], pr["payments-app"]
        ),
        P.role_assignment(
            pay["id"],
            "b1000000-0000-4000-8000-000000000006",
            roles["Key Vault Crypto Service Encryption User"],
            pr["storage-identity"],
        ),
        P.role_assignment(
            apps["id"],
            "b1000000-0000-4000-8000-000000000007",
            roles["Key Vault Administrator"],
            pr["deleted-user"],
            "Unknown",
        ),
        P.role_assignment(
            dev2["id"],
            "b1000000-0000-4000-8000-000000000008",
            roles["Key Vault Crypto Service Encryption User"],
            pr["sql-identity"],
        ),
        P.role_assignment(
            sign["id"],
            "b1000000-0000-4000-8000-000000000009",
            roles["Managed HSM contributor"],
            pr["platform-admins"],
            "Group",
        ),
    ]
    plant(
        "vault_role_at_broad_scope",
        mg_scope + "/providers/microsoft.authorization/roleassignments/b1000000-0000-4000-8000-000000000001",
    )
    plant(
        "owner_or_contributor_over_vaults",
        f"/subscriptions/{SUB_PROD}/providers/microsoft.authorization/"
        "roleassignments/b1000000-0000-4000-8000-000000000002",
    )
    plant(
        "vault_role_at_broad_scope",
        f"{P.rg_id(SUB_PROD, 'rg-apps')}/providers/microsoft.authorization/"
        "roleassignments/b1000000-0000-4000-8000-000000000004",
    )
    plant(
        "principal_unknown",
        f"{apps['id']}/providers/microsoft.authorization/roleassignments/b1000000-0000-4000-8000-000000000007",
    )

    # --- Managed HSM local RBAC ------------------------------------------------------------
    ha = P.hsm_role_assignment
    est["hsmRoleAssignments"] = {
        sign["id"].lower(): [
            ha("/", "c1000000-0000-4000-8000-000000000001", "Managed HSM Administrator", pr["hsm-admin-1"]),
            ha("/", "c1000000-0000-4000-8000-000000000002", "Managed HSM Administrator", pr["hsm-admin-2"]),
            ha("/", "c1000000-0000-4000-8000-000000000003", "Managed HSM Administrator", pr["hsm-admin-3"]),
            ha("/", "c1000000-0000-4000-8000-000000000004", "Managed HSM Crypto Officer", pr["hsm-admin-1"]),
            ha(
                "/keys/bootstrap-signer",
                "c1000000-0000-4000-8000-000000000005",
                "Managed HSM Crypto User",
                pr["signer-app"],
            ),
            ha("/keys", "c1000000-0000-4000-8000-000000000006", "Managed HSM Crypto User", pr["ci-pipeline"]),
            ha("/keys", "c1000000-0000-4000-8000-000000000007", "Managed HSM Crypto Auditor", pr["auditor"]),
        ],
        kek["id"].lower(): [
            ha("/", "c2000000-0000-4000-8000-000000000001", "Managed HSM Administrator", pr["hsm-admin-1"]),
            ha(
                "/keys/envelope-kek",
                "c2000000-0000-4000-8000-000000000002",
                "Managed HSM Crypto Service Encryption User",
                pr["storage-identity"],
            ),
            ha("/keys", "c2000000-0000-4000-8000-000000000003", "Managed HSM Crypto Officer", pr["ci-pipeline"]),
        ],
    }
    # local assignments are identified as <hsm id>/roleassignments/<name> (the inventory's convention)
    plant("administrator_and_crypto_officer", sign["id"] + "/roleassignments/c1000000-0000-4000-8000-000000000004")
    plant("hsm_crypto_role_at_broad_scope", sign["id"] + "/roleassignments/c1000000-0000-4000-8000-000000000006")
    plant("hsm_crypto_role_at_broad_scope", kek["id"] + "/roleassignments/c2000000-0000-4000-8000-000000000003")
    # The CI pipeline signs with both signing keys through Crypto User at /keys, and artifact-signer
    # allows decrypt: the pipeline can decrypt with it.
    plant("signer_can_decrypt", sign["id"] + "/roleassignments/c1000000-0000-4000-8000-000000000006")

    # --- diagnostic settings ---------------------------------------------------------------
    ds = P.diagnostic_setting
    le = P.log_entry
    est["diagnosticSettings"] = {
        pay["id"].lower(): [ds(pay["id"], "to-law", workspace=workspace["id"], logs=[le(category="AuditEvent")])],
        legacy["id"].lower(): [ds(legacy["id"], "metrics-only", workspace=workspace["id"], logs=[])],
        dev1["id"].lower(): [
            ds(dev1["id"], "to-storage", storage=audit_storage["id"], logs=[le(group="audit", retention_days=30)])
        ],
        dev2["id"].lower(): [
            ds(dev2["id"], "disabled-audit", workspace=workspace["id"], logs=[le(category="AuditEvent", enabled=False)])
        ],
        empty["id"].lower(): [ds(empty["id"], "all-logs", workspace=workspace["id"], logs=[le(group="allLogs")])],
        sign["id"].lower(): [ds(sign["id"], "to-law", workspace=workspace["id"], logs=[le(category="AuditEvent")])],
        kek["id"].lower(): [ds(kek["id"], "to-law", workspace=workspace["id"], logs=[le(group="audit")])],
    }
    plant("no_audit_diagnostic_setting", apps["id"])
    plant("no_audit_diagnostic_setting", legacy["id"])
    plant("no_audit_diagnostic_setting", dev2["id"])
    plant("diagnostic_storage_retention_below_policy", dev1["id"])
    plant("no_recent_audit_events", kek["id"])

    # --- Log Analytics: key usage in AzureDiagnostics ----------------------------------------
    est["logAnalytics"] = {
        WORKSPACE_CUSTOMER_ID: {
            "AzureDiagnostics": [
                *_usage_rows(
                    pay,
                    "payments-rsa",
                    keys[pay["id"].lower()][0]["versions"][-1]["version"],
                    ["KeyUnwrap", "KeyWrap"],
                    now,
                    pr["payments-app"],
                    count=6,
                ),
                *_usage_rows(
                    pay,
                    "cmk-storage",
                    cmk_storage["versions"][-1]["version"],
                    ["KeyUnwrap"],
                    now,
                    pr["storage-identity"],
                    count=3,
                ),
                *_usage_rows(sign, "bootstrap-signer", signer_v, ["KeySign"], now, pr["signer-app"], count=4),
                *_usage_rows(sign, "bootstrap-signer", signer_v, ["KeyGet"], now - 3 * DAY, pr["auditor"], count=1),
                *_usage_rows(kek, "envelope-kek", "", ["KeyUnwrap"], now - 120 * DAY, pr["storage-identity"], count=2),
            ]
        }
    }
    # --- what the design above implies under kvaudit's default policy ------------------------
    # Vaults left at the platform's public default, RSA keys below 3,072 bits, rotation that only
    # notifies, stale rotations and broad grants over the Ethereum signer's vault.
    for vault in (legacy, empty, dev1):
        plant("public_network_access_enabled", vault["id"])
        plant("no_approved_private_endpoint", vault["id"])
    for owner, name in ((apps, "app-rsa"), (apps, "des-key"), (kek, "skr-weak"), (pay, "cmk-storage")):
        plant("rsa_key_below_minimum_size", kid_of(owner, name))
    for owner, name in ((dev1, "dev-key"), (dev2, "weak-rsa")):
        plant("rsa_key_below_minimum_size", kid_of(owner, name))
    plant("rotation_policy_without_rotate", kid_of(legacy, "legacy-ec"))
    plant("rotation_policy_without_rotate", kid_of(sign, "bootstrap-signer"))
    plant("last_rotation_too_old", kid_of(apps, "app-rsa"))
    plant("last_rotation_too_old", kid_of(legacy, "legacy-ec"))
    plant("no_recent_audit_events", empty["id"])
    plant("hsm_crypto_role_at_broad_scope", sign["id"] + "/roleassignments/c1000000-0000-4000-8000-000000000004")
    plant(
        "ethereum_signer_access_too_broad",
        mg_scope + "/providers/microsoft.authorization/roleassignments/b1000000-0000-4000-8000-000000000001",
    )
    for name in ("b1000000-0000-4000-8000-000000000005", "b1000000-0000-4000-8000-000000000006"):
        plant(
            "ethereum_signer_access_too_broad", f"{pay['id']}/providers/microsoft.authorization/roleassignments/{name}"
        )
    # Keys with no declared purpose are judged by the default profile (low severity): software
    # keys, and keys whose operations mix signing with encryption; a standard vault holding no
    # key whose purpose needs an HSM is an info finding.
    apps = (
        "/subscriptions/11111111-1111-4111-8111-111111111111/resourcegroups/rg-apps/providers/microsoft.keyvault/vaults"
    )
    dev = (
        "/subscriptions/22222222-2222-4222-8222-222222222222/resourcegroups/rg-dev/providers/microsoft.keyvault/vaults"
    )
    for kid in (
        f"{apps}/kv-prod-apps/keys/app-rsa",
        f"{apps}/kv-prod-apps/keys/des-key",
        f"{apps}/kv-prod-legacy/keys/legacy-ec",
        f"{dev}/kv-dev-01/keys/dev-key",
    ):
        plant("software_key_without_declared_purpose", kid)
    for kid in (f"{apps}/kv-prod-apps/keys/app-rsa", f"{apps}/kv-prod-legacy/keys/legacy-ec"):
        plant("key_ops_mix_signing_and_encryption", kid)
    for vid in (
        "/subscriptions/11111111-1111-4111-8111-111111111111/resourcegroups/rg-security/providers/microsoft.keyvault/vaults/kv-prod-empty",
        f"{apps}/kv-prod-apps",
        f"{apps}/kv-prod-legacy",
        f"{dev}/kv-dev-01",
    ):
        plant("standard_vault_software_keys_only", vid)
    # payments-app's Crypto User on the vault signs with eth-signer and decrypts with payments-rsa.
    plant(
        "signer_can_decrypt",
        f"{pay['id']}/providers/microsoft.authorization/roleassignments/b1000000-0000-4000-8000-000000000005",
    )
    return est


def _usage_rows(
    owner: dict[str, Any], key: str, version: str, operations: list[str], end: int, caller: str, *, count: int
) -> list[dict[str, Any]]:
    """AzureDiagnostics AuditEvent rows for key operations, newest at ``end``, one hour apart."""
    is_hsm = owner["type"].endswith("managedHSMs")
    host = owner["properties"].get("vaultUri") or owner["properties"]["hsmUri"]
    sub, rg = owner["id"].split("/")[2], owner["id"].split("/")[4]
    rows = []
    for i in range(count):
        op = operations[i % len(operations)]
        action = {
            "KeySign": "sign",
            "KeyVerify": "verify",
            "KeyWrap": "wrapkey",
            "KeyUnwrap": "unwrapkey",
            "KeyEncrypt": "encrypt",
            "KeyDecrypt": "decrypt",
        }.get(op)
        kid = f"{host}keys/{key}" + (f"/{version}" if version else "")
        uri = (
            host.rstrip("/")
            + ":443/keys/"
            + key
            + (f"/{version}" if version else "")
            + (f"/{action}" if action else "")
            + "?api-version=2025-07-01"
        )
        rows.append(
            {
                "TenantId": WORKSPACE_CUSTOMER_ID,
                "TimeGenerated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(end - i * 3600)),
                "ResourceId": owner["id"].upper(),
                "Category": "AuditEvent",
                "ResourceGroup": rg.upper(),
                "SubscriptionId": sub,
                "ResourceProvider": "MICROSOFT.KEYVAULT",
                "Resource": owner["name"].upper(),
                "ResourceType": "MANAGEDHSMS" if is_hsm else "VAULTS",
                "OperationName": op,
                "ResultType": "Success",
                "ResultSignature": "OK",
                "httpStatusCode_d": 200,
                "CallerIPAddress": "10.1.2.3",
                "id_s": kid,
                "requestUri_s": uri,
                "identity_claim_oid_g": caller,
                "DurationMs": 12,
                "clientInfo_s": "azsdk-python-keyvault-keys/4.11.3",
                "Type": "AzureDiagnostics",
            }
        )
    return rows


def resource_specific(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same audit events as ``AZKVAuditLogs`` rows: what a diagnostic setting with
    ``logAnalyticsDestinationType: Dedicated`` writes instead of ``AzureDiagnostics`` rows."""
    return [
        {
            "TenantId": r["TenantId"],
            "TimeGenerated": r["TimeGenerated"],
            "_ResourceId": r["ResourceId"].lower(),
            "OperationName": r["OperationName"],
            "OperationVersion": "2025-07-01",
            "ResultType": r["ResultType"],
            "ResultSignature": r["ResultSignature"],
            "HttpStatusCode": int(r["httpStatusCode_d"]),
            "CallerIpAddress": r["CallerIPAddress"],
            "Id": r["id_s"],
            "RequestUri": r["requestUri_s"],
            "Identity": {"claim": {"oid": r["identity_claim_oid_g"]}},
            "DurationMs": r["DurationMs"],
            "ClientInfo": r["clientInfo_s"],
            "Type": "AZKVAuditLogs",
        }
        for r in rows
    ]


# --------------------------------------------------------------------------------------------
# Scale estate
# --------------------------------------------------------------------------------------------


class LazyKeys(Mapping[str, list[dict[str, Any]]]):
    """``estate["keys"]`` for a generated estate: key lists built per vault on first use.

    Deterministic (same vault → same keys), cached for the most recently used vaults only, so a
    full scan of a 150,000-version estate never holds more than a few hundred vaults' bodies.
    """

    def __init__(self, owners: dict[str, tuple[str, bool]], per_vault: int, versions: int, now: int) -> None:
        self._owners = owners  # lower-cased id -> (name, is_hsm)
        self._per_vault, self._versions, self._now = per_vault, versions, now
        self._build = functools.lru_cache(maxsize=512)(self._generate)

    def __getitem__(self, owner_id: str) -> list[dict[str, Any]]:
        if owner_id not in self._owners:
            raise KeyError(owner_id)
        return self._build(owner_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._owners)

    def __len__(self) -> int:
        return len(self._owners)

    def _generate(self, owner_id: str) -> list[dict[str, Any]]:
        name, is_hsm = self._owners[owner_id]
        now, out = self._now, []
        for k in range(self._per_vault):
            kind = k % 4
            kty, extra = [
                ("RSA-HSM", {"key_size": 2048}),
                ("EC-HSM", {"crv": "P-256"}),
                ("OKP-HSM", {"crv": "Ed25519"}) if is_hsm else ("RSA", {"key_size": 3072}),
                ("oct-HSM", {"key_size": 256}) if is_hsm else ("EC", {"crv": "P-384"}),
            ][kind]
            ops = ["sign", "verify"] if kind in (1, 2) else ["wrapKey", "unwrapKey"]
            versions = [
                P.key_version(
                    f"{name}/{k}/{v}",
                    kty,
                    ops,
                    created=now - (self._versions - v) * 90 * DAY,
                    exp=(now + (v + 1) * 90 * DAY) if k % 5 else None,
                    hsm=is_hsm,
                    **extra,
                )
                for v in range(self._versions)
            ]
            rotation = P.rotation_policy(rotate_after="P90D", expiry="P1Y", created=now - DAY) if k % 3 else None
            out.append({"name": f"key-{k:04d}", "tags": {}, "versions": versions, "rotation_policy": rotation})
        return out


def scale(
    vaults: int = 1000,
    keys: int = 50,
    versions: int = 3,
    hsms: int = 20,
    hsm_keys: int = 200,
    subscriptions: int = 10,
    now: int | None = None,
) -> dict[str, Any]:
    """A generated estate for benchmarks: ARM bodies up front (small), key bodies on demand."""
    now = int(now if now is not None else time.time())
    subs = [(f"{i:08d}-5ca1-4e00-8000-{i:012d}", f"scale-{i:02d}") for i in range(subscriptions)]
    est = _skeleton(subs)
    vault_owners: dict[str, tuple[str, bool]] = {}
    hsm_owners: dict[str, tuple[str, bool]] = {}
    for i in range(vaults):
        sub = subs[i % subscriptions][0]
        body = P.vault(
            sub,
            f"rg-{i % 25:02d}",
            f"kv-scale-{i:05d}",
            tenant=TENANT,
            sku="premium" if i % 2 else "standard",
            purge_protection=True if i % 7 else None,
        )
        est["resources"].append(body)
        vault_owners[body["id"].lower()] = (body["name"], False)
        est["diagnosticSettings"][body["id"].lower()] = (
            []
            if i % 10 == 0
            else [
                P.diagnostic_setting(
                    body["id"], "audit", workspace=None, storage=None, logs=[P.log_entry(category="AuditEvent")]
                )
            ]
        )
        est["roleAssignments"].append(
            P.role_assignment(
                body["id"],
                version_id(f"ra{i}"),
                P.ARM_ROLES["Key Vault Crypto User"],
                version_id(f"p{i}")[:8] + "-0000-4000-8000-000000000000",
            )
        )
    for i in range(hsms):
        sub = subs[i % subscriptions][0]
        body = P.managed_hsm(sub, "rg-hsm", f"mhsm-scale-{i:03d}", tenant=TENANT, admins=[PRINCIPALS["hsm-admin-1"]])
        est["resources"].append(body)
        hsm_owners[body["id"].lower()] = (body["name"], True)
        est["hsmRoleAssignments"][body["id"].lower()] = [
            P.hsm_role_assignment("/", version_id(f"h{i}a"), "Managed HSM Administrator", PRINCIPALS["hsm-admin-1"]),
            P.hsm_role_assignment(
                "/keys/key-0000", version_id(f"h{i}u"), "Managed HSM Crypto User", PRINCIPALS["signer-app"]
            ),
        ]
    est["keys"] = _MergedKeys(LazyKeys(vault_owners, keys, versions, now), LazyKeys(hsm_owners, hsm_keys, 1, now))
    est["scale"] = {"vaults": vaults, "keys": keys, "versions": versions, "hsms": hsms, "hsm_keys": hsm_keys}
    return est


class _MergedKeys(Mapping[str, list[dict[str, Any]]]):
    """Two lazy key maps (vaults and HSMs have different key counts) seen as one."""

    def __init__(self, *parts: Mapping[str, list[dict[str, Any]]]) -> None:
        self._parts = parts

    def __getitem__(self, owner_id: str) -> list[dict[str, Any]]:
        for part in self._parts:
            if owner_id in part:
                return part[owner_id]
        raise KeyError(owner_id)

    def __iter__(self) -> Iterator[str]:
        for part in self._parts:
            yield from part

    def __len__(self) -> int:
        return sum(len(p) for p in self._parts)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------

ESTATES_DIR = Path(__file__).with_name("estates")


def load(path: str | Path) -> dict[str, Any]:
    """Load an estate JSON file (a bare name is looked up in ``tests/fakeazure/estates/``)."""
    candidate = Path(path)
    if not candidate.exists() and not candidate.suffix:
        candidate = ESTATES_DIR / f"{path}.json"
    with candidate.open(encoding="utf-8") as handle:
        estate = json.load(handle)
    if not isinstance(estate, dict) or "resources" not in estate:
        raise ValueError(f"{candidate}: not an estate (an object with a 'resources' list expected)")
    for section, empty in (
        ("keys", {}),
        ("roleDefinitions", P.arm_role_definitions()),
        ("roleAssignments", []),
        ("hsmRoleDefinitions", P.hsm_role_definitions()),
        ("hsmRoleAssignments", {}),
        ("diagnosticSettings", {}),
        ("logAnalytics", {}),
        ("planted", []),
        ("managementGroups", []),
        ("subscriptions", []),
    ):
        estate.setdefault(section, empty)
    return estate


def save(estate: dict[str, Any], path: str | Path) -> None:
    """Write an estate as JSON (generated key maps are materialised)."""
    data = dict(estate)
    data["keys"] = {k: v for k, v in estate["keys"].items()}
    Path(path).write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")


#: Identities of the Container Apps :func:`with_settings_signers` adds.
SETTINGS_SIGNERS: dict[str, str] = {
    "system": "a0000000-0000-4000-8000-0000000000e1",  # ca-yutha-unpinned's system-assigned identity
    "uai-principal": "a0000000-0000-4000-8000-0000000000e2",
    "uai-client": "c0000000-0000-4000-8000-0000000000e2",
}


def _container_app(name: str, env: list[dict[str, Any]], identity: dict[str, Any]) -> dict[str, Any]:
    """A Container App as ContainerApps_ListBySubscription returns it (2024-03-01 shape)."""
    rg = P.rg_id(SUB_PROD, "rg-apps")
    return P.resource(
        SUB_PROD,
        "rg-apps",
        "Microsoft.App/containerApps",
        name,
        {
            "provisioningState": "Succeeded",
            "runningStatus": "Running",
            "managedEnvironmentId": f"{rg}/providers/Microsoft.App/managedEnvironments/cae-prod",
            "latestRevisionName": f"{name}--r1",
            "configuration": {
                "activeRevisionsMode": "Single",
                "secrets": [{"name": "signer-key-version"}],  # the list never carries secret values
                "ingress": None,
            },
            "template": {
                "containers": [
                    {
                        "name": "control-plane",
                        "image": "ghcr.io/yutha/control-plane:1.0",
                        "resources": {"cpu": 0.5, "memory": "1Gi"},
                        "env": env,
                    }
                ],
                "scale": {"minReplicas": 1, "maxReplicas": 1},
            },
        },
        identity=identity,
    )


def with_settings_signers(estate: dict[str, Any]) -> dict[str, Any]:
    """``estate`` plus three Yutha control planes in Container Apps that name the bootstrap key
    with YUTHA_SIGNER_AZURE_KV_* variables: unpinned (system-assigned identity, which also holds
    Crypto User at /keys of the KEK HSM), pinned (a user-assigned identity picked by
    AZURE_CLIENT_ID) and with its version in a secret."""
    est = copy.deepcopy(estate)
    sign = next(r for r in est["resources"] if r["name"] == "mhsm-prod-signing")
    kek = next(r for r in est["resources"] if r["name"] == "mhsm-prod-kek")
    hsm_url = sign["properties"]["hsmUri"]
    version = next(k for k in est["keys"][sign["id"].lower()] if k["name"] == "bootstrap-signer")["versions"][-1][
        "version"
    ]
    base = [
        {"name": "YUTHA_SIGNER_AZURE_KV_VAULT_URL", "value": hsm_url},
        {"name": "YUTHA_SIGNER_AZURE_KV_KEY_NAME", "value": "bootstrap-signer"},
    ]
    uai = f"{P.rg_id(SUB_PROD, 'rg-apps')}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-yutha"
    who = SETTINGS_SIGNERS
    est["resources"] += [
        _container_app(
            "ca-yutha-unpinned",
            base,
            {"type": "SystemAssigned", "principalId": who["system"], "tenantId": est["tenantId"]},
        ),
        _container_app(
            "ca-yutha-pinned",
            [
                *base,
                {"name": "YUTHA_SIGNER_AZURE_KV_KEY_VERSION", "value": version},
                {"name": "AZURE_CLIENT_ID", "value": who["uai-client"]},
            ],
            {
                "type": "SystemAssigned,UserAssigned",
                "principalId": "a0000000-0000-4000-8000-0000000000e3",
                "tenantId": est["tenantId"],
                "userAssignedIdentities": {uai: {"principalId": who["uai-principal"], "clientId": who["uai-client"]}},
            },
        ),
        _container_app(
            "ca-yutha-secret-version",
            [*base, {"name": "YUTHA_SIGNER_AZURE_KV_KEY_VERSION", "secretRef": "signer-key-version"}],
            {"type": "None"},
        ),
    ]
    est["hsmRoleAssignments"][kek["id"].lower()].append(
        P.hsm_role_assignment("/keys", "c2000000-0000-4000-8000-0000000000e1", "Managed HSM Crypto User", who["system"])
    )
    return est
