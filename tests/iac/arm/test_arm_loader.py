"""ARM loader: exact inventory rows from the compliant and misconfigured fixture sets."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from kvaudit.scanner.iac.arm import is_arm_parameters, is_arm_template, load_arm
from kvaudit.scanner.inventory import InlineSuppression

ROOT = Path(__file__).resolve().parents[3]
FIX = ROOT / "examples" / "iac" / "arm"
# Each template is its own unit: the placeholder subscription carries the template's path.
COMPLIANT_RG = "/subscriptions/iac~examples%2fiac%2farm%2fcompliant%2fkeyvault.json/resourcegroups/iac"
MISCONFIGURED_RG = "/subscriptions/iac~examples%2fiac%2farm%2fmisconfigured%2fazuredeploy.json/resourcegroups/iac"
PROD = f"{COMPLIANT_RG}/providers/microsoft.keyvault/vaults/kv-contoso-prod"
LEGACY = f"{MISCONFIGURED_RG}/providers/microsoft.keyvault/vaults/kv-legacy"
HSM = f"{MISCONFIGURED_RG}/providers/microsoft.keyvault/managedhsms/hsm-signing"


def rows(inv, table: str) -> list[dict]:
    df = inv.tables[table]
    return df.astype(object).where(df.notna(), None).to_dict("records")


def by_id(inv, table: str) -> dict[str, dict]:
    return {r["id"]: r for r in rows(inv, table)}


@pytest.fixture(scope="module")
def compliant():
    inv, errors = load_arm([FIX / "compliant" / "keyvault.json"], ROOT)
    assert errors == []
    return inv


@pytest.fixture(scope="module")
def misconfigured():
    inv, errors = load_arm([FIX / "misconfigured" / "azuredeploy.json"], ROOT)
    assert errors == []
    return inv


def test_compliant_vault_row_uses_parameter_file(compliant) -> None:
    (vault,) = rows(compliant, "vaults")
    assert vault["id"] == PROD
    assert vault["name"] == "kv-contoso-prod"
    assert (vault["kind"], vault["sku"]) == ("vault", "premium")
    assert vault["soft_delete_enabled"] is True and vault["soft_delete_retention_days"] == 90
    assert vault["purge_protection_enabled"] is True
    assert vault["public_network_access"] == "Disabled"
    assert (vault["network_default_action"], vault["network_bypass"]) == ("Deny", "None")
    assert vault["rbac_authorization_enabled"] is True
    assert vault["location"] is None  # resourceGroup().location is unknown, never guessed
    assert vault["tenant_id"] is None
    assert vault["security_domain_activated"] is None
    assert vault["defaults"] is None
    assert (vault["source"], vault["file"], vault["line"]) == ("arm", "examples/iac/arm/compliant/keyvault.json", 18)
    assert vault["api_version"] == "2023-07-01"
    assert [s.location for s in compliant.sources] == [
        "examples/iac/arm/compliant/keyvault.json",
        "examples/iac/arm/compliant/keyvault.parameters.json",
    ]


def test_compliant_nested_child_key(compliant) -> None:
    (key,) = rows(compliant, "keys")
    assert key["id"] == f"{PROD}/keys/cmk" and key["vault_id"] == PROD
    assert (key["kty"], key["key_size"], key["key_ops"]) == ("RSA-HSM", 3072, ["wrapKey", "unwrapKey"])
    assert key["expires"] == pd.Timestamp("2027-01-01", tz="UTC")
    assert key["rotation_policy_present"] is True
    assert key["rotation_actions"] == ["Rotate", "Notify"]
    assert (key["rotation_time_after_create"], key["rotation_expiry_time"]) == ("P90D", "P1Y")
    assert key["exportable"] is False and key["defaults"] == ["exportable"]
    assert key["line"] == 34


def test_compliant_relations_resolve_to_the_vault(compliant) -> None:
    (diag,) = rows(compliant, "diagnostic_settings")
    assert diag["target_id"] == PROD and diag["line"] == 55
    assert diag["logs"] == [{"category": None, "category_group": "audit", "enabled": True, "retention_days": None}]
    assert diag["workspace_id"] == (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/logs"
        "/providers/microsoft.operationalinsights/workspaces/law"
    )
    (pe,) = rows(compliant, "private_endpoints")
    assert (pe["target_id"], pe["connection_state"], pe["name"]) == (PROD, "Approved", "vault")
    assert (
        pe["private_endpoint_id"] == f"{COMPLIANT_RG}/providers/microsoft.network/privateendpoints/kv-contoso-prod-pe"
    )
    (ra,) = rows(compliant, "role_assignments")
    assert ra["scope"] == f"{PROD}/keys/cmk" and ra["vault_id"] == PROD
    assert (ra["plane"], ra["role_name"], ra["principal_type"]) == (
        "azure",
        "Key Vault Crypto User",
        "ServicePrincipal",
    )
    assert ra["principal_id"] == "11111111-1111-1111-1111-111111111111"
    assert ra["name"] is None  # guid() is unknown
    (ref,) = rows(compliant, "key_references")
    assert ref["consumer_type"] == "Microsoft.Compute/diskEncryptionSets"
    assert (ref["vault_id"], ref["key_id"], ref["key_name"]) == (PROD, f"{PROD}/keys/cmk", "cmk")
    assert (ref["key_uri"], ref["key_version"], ref["pinned"], ref["purpose"]) == (None, None, False, "wrap")


def test_misconfigured_vaults_and_defaults(misconfigured) -> None:
    vaults = by_id(misconfigured, "vaults")
    legacy, hsm = vaults[LEGACY], vaults[HSM]
    assert legacy["sku"] == "standard" and legacy["soft_delete_retention_days"] == 7
    assert legacy["purge_protection_enabled"] is False
    assert (legacy["network_default_action"], legacy["network_bypass"]) == ("Allow", "AzureServices")
    assert legacy["ip_rules"] == ["203.0.113.0/24"]
    assert legacy["defaults"] == [
        "public_network_access",
        "purge_protection_enabled",
        "rbac_authorization_enabled",
        "soft_delete_enabled",
    ]
    assert (hsm["kind"], hsm["sku"], hsm["purge_protection_enabled"]) == ("managed_hsm", "Standard_B1", False)
    assert hsm["rbac_authorization_enabled"] is None and hsm["security_domain_activated"] is None
    assert hsm["defaults"] == [
        "network_bypass",
        "network_default_action",
        "soft_delete_enabled",
        "soft_delete_retention_days",
    ]


def test_misconfigured_copy_loops_and_nested_deployment(misconfigured) -> None:
    keys = by_id(misconfigured, "keys")
    assert sorted(keys) == [f"{HSM}/keys/signer", f"{LEGACY}/keys/key0", f"{LEGACY}/keys/key1"]
    assert keys[f"{LEGACY}/keys/key1"]["exportable"] is True
    assert keys[f"{LEGACY}/keys/key1"]["rotation_policy_present"] is False
    signer = keys[f"{HSM}/keys/signer"]
    assert (signer["kty"], signer["curve"], signer["key_ops"]) == ("EC-HSM", "P-256K", ["sign", "verify", "decrypt"])
    policies = rows(misconfigured, "access_policies")
    assert [p["object_id"] for p in policies] == [
        "aaaaaaaa-0000-0000-0000-000000000001",
        "aaaaaaaa-0000-0000-0000-000000000002",
    ]
    assert all(p["key_permissions"] == ["all", "purge"] for p in policies)


def test_misconfigured_access_and_logging(misconfigured) -> None:
    ras = by_id(misconfigured, "role_assignments")
    rg_admin = ras[f"{MISCONFIGURED_RG}/providers/microsoft.authorization/roleassignments/rg-admin"]
    assert rg_admin["scope"] == MISCONFIGURED_RG and rg_admin["vault_id"] is None
    assert rg_admin["role_name"] == "Key Vault Administrator"
    initial = ras[f"{HSM}/roleassignments/initial-admin-aaaaaaaa-0000-0000-0000-000000000001"]
    assert (initial["plane"], initial["scope"], initial["role_name"]) == (
        "managed_hsm",
        "/",
        "Managed HSM Administrator",
    )
    (diag,) = rows(misconfigured, "diagnostic_settings")
    assert diag["logs"] == [{"category": "AuditEvent", "category_group": None, "enabled": False, "retention_days": 30}]
    (pe,) = rows(misconfigured, "private_endpoints")
    assert (pe["target_id"], pe["connection_state"]) == (LEGACY, "Pending")


def test_misconfigured_key_references(misconfigured) -> None:
    refs = {r["consumer_name"]: r for r in rows(misconfigured, "key_references")}
    storage, aks = refs["stcmk"], refs["aks"]
    assert (storage["vault_id"], storage["key_name"]) == (LEGACY, "key0")
    assert (storage["key_version"], storage["pinned"], storage["purpose"]) == (
        "0123456789abcdef0123456789abcdef",
        True,
        "wrap",
    )
    assert aks["key_uri"] == "https://kv-legacy.vault.azure.net/keys/key1"
    assert (aks["vault_host"], aks["vault_id"], aks["key_id"]) == (
        "kv-legacy.vault.azure.net",
        LEGACY,
        f"{LEGACY}/keys/key1",
    )
    assert (aks["pinned"], aks["key_version"]) == (False, None)


def test_metadata_suppression(misconfigured) -> None:
    assert misconfigured.suppressions == [
        InlineSuppression(
            "KV-NET-001",
            LEGACY,
            "legacy vault, migration ticket OPS-42",
            "examples/iac/arm/misconfigured/azuredeploy.json",
            13,
        )
    ]


def test_symbolic_resources_and_unknown_names(tmp_path: Path) -> None:
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "languageVersion": "2.0",
        "contentVersion": "1.0.0.0",
        "parameters": {"prefix": {"type": "string"}},
        "resources": {
            "kv": {
                "type": "Microsoft.KeyVault/vaults",
                "apiVersion": "2023-07-01",
                "name": "[format('kv-{0}', uniqueString(resourceGroup().id))]",
                "properties": {"enablePurgeProtection": "[equals(parameters('prefix'), 'x')]"},
            },
            "des": {
                "type": "Microsoft.Compute/diskEncryptionSets",
                "apiVersion": "2023-04-02",
                "name": "des",
                "properties": {"activeKey": {"keyUrl": "[format('{0}keys/k/{1}', reference('kv').vaultUri, 'v1')]"}},
            },
        },
    }
    path = tmp_path / "main.json"
    path.write_text(json.dumps(template, indent=2))
    inv, errors = load_arm([path], tmp_path)
    assert errors == []
    (vault,) = rows(inv, "vaults")
    kv_id = (
        "/subscriptions/iac~main.json/resourcegroups/iac/providers/microsoft.keyvault/vaults/"
        "kv-{uniquestring('/subscriptions/iac/resourcegroups/iac')}"
    )
    assert vault["id"] == kv_id and vault["name"] is None
    assert vault["purge_protection_enabled"] is None  # set to an unknown expression: not defaulted
    (ref,) = rows(inv, "key_references")
    assert (ref["vault_id"], ref["key_name"], ref["key_version"], ref["pinned"]) == (kv_id, "k", "v1", True)


def test_detection() -> None:
    assert is_arm_template(
        {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"}
    )
    assert is_arm_parameters(
        {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"}
    )
    assert not is_arm_template({"name": "package"}) and not is_arm_parameters([1])
