"""REST JSON -> inventory rows, checked on Microsoft's official REST examples."""

from __future__ import annotations

import json
from typing import Any

from kvaudit.scanner.azure.records import decode_release_policy, diagnostic_setting_record, rsa_size, vault_records
from kvaudit.scanner.azure.references import reference_records, split_key_uri
from tests.conftest import SHARED

EXAMPLES = SHARED / "azure-rest-examples"


def body(path: str, status: str = "200") -> Any:
    return json.loads((EXAMPLES / path).read_text())["responses"][status]["body"]


def test_vault_example_fills_documented_defaults() -> None:
    records = vault_records(body("keyvault-mgmt/getVault.json"), "2026-05-15")
    vault = records["vaults"][0]
    assert vault["id"] == (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/"
        "sample-resource-group/providers/microsoft.keyvault/vaults/sample-vault"
    )
    assert vault["display_id"].endswith(
        "/resourceGroups/sample-resource-group/providers/Microsoft.KeyVault/vaults/sample-vault"
    )
    assert (vault["kind"], vault["sku"], vault["uri"], vault["resource_group"]) == (
        "vault",
        "standard",
        "https://sample-vault.vault.azure.net",
        "sample-resource-group",
    )
    assert vault["public_network_access"] == "Enabled"
    # absent in the body -> platform defaults, each named in `defaults`
    assert (
        vault["soft_delete_enabled"],
        vault["soft_delete_retention_days"],
        vault["purge_protection_enabled"],
        vault["network_default_action"],
        vault["network_bypass"],
        vault["rbac_authorization_enabled"],
    ) == (True, 90, False, "Allow", "AzureServices", False)
    assert vault["defaults"] == [
        "soft_delete_enabled",
        "soft_delete_retention_days",
        "purge_protection_enabled",
        "network_default_action",
        "network_bypass",
        "rbac_authorization_enabled",
    ]
    assert vault["security_domain_activated"] is None
    assert (vault["source"], vault["api_version"]) == ("azure", "2026-05-15")
    [policy] = records["access_policies"]
    assert policy["id"] == vault["id"] + "/accesspolicies/00000000-0000-0000-0000-000000000000"
    assert "purge" in policy["key_permissions"] and len(policy["key_permissions"]) == 16
    assert records["private_endpoints"] == []


def test_managed_hsm_example() -> None:
    records = vault_records(body("keyvault-mgmt/ManagedHsm_Get.json"), "2026-05-15")
    hsm = records["vaults"][0]
    assert (hsm["kind"], hsm["sku"], hsm["uri"]) == (
        "managed_hsm",
        "Standard_B1",
        "https://westus.hsm1.managedhsm.azure.net",
    )
    assert (hsm["soft_delete_enabled"], hsm["soft_delete_retention_days"], hsm["purge_protection_enabled"]) == (
        True,
        90,
        False,
    )
    assert hsm["rbac_authorization_enabled"] is None  # not a vault property
    assert hsm["security_domain_activated"] is None  # absent from the example: unknown, not False
    assert hsm["defaults"] == ["public_network_access", "network_default_action", "network_bypass"]
    assert hsm["tags"] == {"Dept": "hsm", "Environment": "dogfood"}


def test_network_acls_and_private_endpoints() -> None:
    vault = body("keyvault-mgmt/getVault.json")
    vault["properties"]["networkAcls"] = {
        "bypass": "None",
        "defaultAction": "Deny",
        "ipRules": [{"value": "10.0.0.0/24"}],
        "virtualNetworkRules": [{"id": "/Subscriptions/S/RG/Subnet"}],
    }
    conns = body("keyvault-mgmt/listPrivateEndpointConnection.json")["value"]
    vault["properties"]["privateEndpointConnections"] = conns
    records = vault_records(vault, "v")
    row = records["vaults"][0]
    assert (row["network_default_action"], row["network_bypass"], row["ip_rules"], row["virtual_network_rules"]) == (
        "Deny",
        "None",
        ["10.0.0.0/24"],
        ["/subscriptions/s/rg/subnet"],
    )
    assert [(p["name"], p["connection_state"]) for p in records["private_endpoints"]] == [
        (c["name"], c["properties"]["privateLinkServiceConnectionState"]["status"]) for c in conns
    ]


def test_diagnostic_setting_example() -> None:
    setting = body("diagnostic-settings/getDiagnosticSetting.json")
    row = diagnostic_setting_record("/v", setting, "2021-05-01-preview")
    assert row["logs"] == [{"category": None, "category_group": "allLogs", "enabled": True, "retention_days": None}]
    assert row["workspace_id"] is None  # "" in the example means no workspace
    assert row["storage_account_id"].endswith("/storageaccounts/appteststorage1")


def test_release_policy_from_release_example_decodes() -> None:
    import base64

    value = body("keyvault-keys/release-example.json")["value"]
    inner = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    data = inner["release_policy"]["data"]
    policy = decode_release_policy(data)
    assert policy is not None and policy["anyOf"][0]["authority"] == "http://localhost:8023/"
    assert decode_release_policy(json.dumps({"version": "1.0.0"}).encode()) == {"version": "1.0.0"}
    assert decode_release_policy(b"\xff\xfe") is None


def test_rsa_size_from_modulus() -> None:
    assert rsa_size(b"\x80" + b"\x00" * 255) == 2048
    assert rsa_size(b"\x00\xc0" + b"\x01" * 383) == 3072
    assert rsa_size(None) is None


def test_key_references_full_uri_and_storage_triple() -> None:
    resources = [
        {
            "id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/diskEncryptionSets/des",
            "name": "des",
            "type": "microsoft.compute/diskencryptionsets",
            "identity": {"type": "SystemAssigned", "principalId": "p1"},
            "properties": {"activeKey": {"keyUrl": "https://127.0.0.1:9001/keys/k1/abc"}},
        },
        {
            "id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/st",
            "name": "st",
            "type": "microsoft.storage/storageaccounts",
            "properties": {
                "encryption": {
                    "keyvaultproperties": {
                        "keyvaulturi": "https://other.vault.azure.net/",
                        "keyname": "k2",
                        "keyversion": "",
                    }
                }
            },
        },
    ]
    rows = reference_records(resources, {"127.0.0.1:9001": "/subscriptions/s/vault"})
    assert [
        (
            r["key_uri"],
            r["vault_host"],
            r["vault_id"],
            r["key_id"],
            r["key_version"],
            r["pinned"],
            r["purpose"],
            r["principal_id"],
        )
        for r in rows
    ] == [
        (
            "https://127.0.0.1:9001/keys/k1/abc",
            "127.0.0.1:9001",
            "/subscriptions/s/vault",
            "/subscriptions/s/vault/keys/k1",
            "abc",
            True,
            "wrap",
            "p1",
        ),
        ("https://other.vault.azure.net/keys/k2", "other.vault.azure.net", None, None, None, False, "wrap", None),
    ]
    assert rows[0]["id"].endswith("/diskencryptionsets/des#/properties/activeKey/keyUrl")
    assert split_key_uri("https://v.vault.azure.net/secrets/s") is None
    assert split_key_uri("https://v.vault.azure.net:443/keys/k/") == ("v.vault.azure.net", "k", None)
