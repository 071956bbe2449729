"""Exact inventory rows for the standard-vault fixtures (compliant and misconfigured)."""

from __future__ import annotations

from .helpers import row, rows

# Each root module is its own unit: the placeholder subscription carries the module's directory.
SUB_OK = "/subscriptions/iac~examples%2fiac%2fterraform%2fvault_compliant"
SUB_BAD = "/subscriptions/iac~examples%2fiac%2fterraform%2fvault_misconfigured"
RG = f"{SUB_OK}/resourcegroups/rg-contoso-keys/providers/microsoft.keyvault/vaults/kv-contoso-prod"
LEGACY = f"{SUB_BAD}/resourcegroups/rg-legacy/providers/microsoft.keyvault/vaults/kv-legacy-app"
OPEN = f"{SUB_BAD}/resourcegroups/rg-legacy/providers/microsoft.keyvault/vaults/kv-open-app"
FILE_OK = "examples/iac/terraform/vault_compliant/main.tf"
FILE_BAD = "examples/iac/terraform/vault_misconfigured/main.tf"


def test_compliant_vault_row(load):
    inv = load("vault_compliant")
    assert rows(inv, "vaults") == [
        {
            "id": RG,
            "display_id": RG,
            "name": "kv-contoso-prod",
            "kind": "vault",
            "subscription_id": None,
            "resource_group": "rg-contoso-keys",
            "location": "westeurope",
            "tenant_id": None,  # data.azurerm_client_config is only known at apply
            "sku": "premium",
            "uri": "https://kv-contoso-prod.vault.azure.net/",
            "soft_delete_enabled": True,
            "soft_delete_retention_days": 90,
            "purge_protection_enabled": True,
            "public_network_access": "Disabled",
            "network_default_action": "Deny",
            "network_bypass": "None",
            "ip_rules": [],
            "virtual_network_rules": [],
            "rbac_authorization_enabled": True,
            "security_domain_activated": None,
            "tags": {"environment": "prod", "owner": "platform"},
            "source": "terraform",
            "file": FILE_OK,
            "line": 27,
            "module": None,  # declared in the root: no module, no separate declaration site
            "declared_file": None,
            "declared_line": None,
            "api_version": None,
            "defaults": ["soft_delete_enabled"],  # no subnet list is "no rules", not a default
            "unresolved": ["tenant_id"],
        }
    ]


def test_compliant_keys_rotation_and_expiry(load):
    inv = load("vault_compliant")
    cmk = row(inv, "keys", name="cmk-storage")
    assert cmk["id"] == RG + "/keys/cmk-storage"
    assert cmk["vault_id"] == RG
    assert cmk["kid"] == "https://kv-contoso-prod.vault.azure.net/keys/cmk-storage"
    assert (cmk["kty"], cmk["key_size"], cmk["curve"]) == ("RSA-HSM", 3072, None)
    assert cmk["key_ops"] == ["wrapKey", "unwrapKey"]
    assert cmk["expires"] == "2027-06-30T00:00:00+00:00"
    assert cmk["rotation_policy_present"] is True
    assert cmk["rotation_actions"] == ["Rotate", "Notify"]
    assert cmk["rotation_time_after_create"] is None
    assert cmk["rotation_expiry_time"] == "P365D"
    assert cmk["defaults"] == ["enabled", "exportable"]
    assert cmk["line"] == 47
    signer = row(inv, "keys", name="release-signer")
    assert (signer["kty"], signer["curve"], signer["key_ops"]) == ("EC-HSM", "P-384", ["sign", "verify"])
    assert signer["rotation_actions"] == ["Rotate"]
    assert signer["rotation_time_after_create"] == "P180D"


def test_compliant_relations(load):
    inv = load("vault_compliant")
    diag = row(inv, "diagnostic_settings", name="kv-audit")
    assert diag["target_id"] == RG
    assert diag["logs"] == [{"category": None, "category_group": "audit", "enabled": True, "retention_days": None}]
    assert diag["workspace_id"] == (
        "/subscriptions/iac/resourcegroups/rg-contoso-keys/providers/microsoft.operationalinsights/workspaces/law-contoso"
    )
    pe = row(inv, "private_endpoints", name="kv-connection")
    assert (pe["target_id"], pe["connection_state"]) == (RG, "Approved")
    assert pe["id"] == RG + "/privateendpointconnections/kv-connection"
    ra = row(inv, "role_assignments", plane="azure")
    assert ra["scope"] == RG + "/keys/release-signer"
    assert ra["vault_id"] == RG
    assert ra["role_name"] == "Key Vault Crypto User"
    assert ra["principal_id"] == "11111111-1111-1111-1111-111111111111"


def test_compliant_consumers_pinned_and_unpinned(load):
    inv = load("vault_compliant")
    des = row(inv, "key_references", consumer_type="Microsoft.Compute/diskEncryptionSets")
    assert des["key_id"] == RG + "/keys/cmk-storage"
    assert des["vault_id"] == RG
    assert des["vault_host"] == "kv-contoso-prod.vault.azure.net"
    assert (des["pinned"], des["key_version"], des["key_uri"]) == (True, None, None)
    assert des["purpose"] == "wrap"
    storage = row(inv, "key_references", consumer_name="stcontoso")
    assert storage["consumer_id"] == (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg-data/providers/microsoft.storage/storageaccounts/stcontoso"
    )
    assert storage["key_uri"] == "https://kv-contoso-prod.vault.azure.net/keys/cmk-storage"
    assert (storage["pinned"], storage["key_id"]) == (False, RG + "/keys/cmk-storage")


def test_misconfigured_vaults_and_defaults(load):
    inv = load("vault_misconfigured")
    legacy = row(inv, "vaults", name="kv-legacy-app")
    assert legacy["id"] == LEGACY
    assert legacy["soft_delete_retention_days"] == 7
    assert legacy["purge_protection_enabled"] is False
    assert legacy["public_network_access"] == "Enabled"
    assert (legacy["network_default_action"], legacy["network_bypass"]) == ("Allow", "AzureServices")
    assert legacy["rbac_authorization_enabled"] is False
    assert legacy["defaults"] == [
        "network_bypass",
        "network_default_action",
        "public_network_access",
        "purge_protection_enabled",
        "rbac_authorization_enabled",
        "soft_delete_enabled",
    ]
    assert (legacy["ip_rules"], legacy["virtual_network_rules"]) == ([], [])
    opened = row(inv, "vaults", name="kv-open-app")
    assert opened["ip_rules"] == ["203.0.113.0/24"]
    assert opened["tenant_id"] == "33333333-3333-3333-3333-333333333333"
    assert opened["purge_protection_enabled"] is False
    assert "purge_protection_enabled" not in opened["defaults"]


def test_misconfigured_access_policies_inline_and_standalone(load):
    inv = load("vault_misconfigured")
    assert [(r["vault_id"], r["object_id"], r["key_permissions"]) for r in rows(inv, "access_policies")] == [
        (LEGACY, "22222222-2222-2222-2222-222222222222", ["Get", "List", "Create", "Delete", "Purge"]),
        (OPEN, "44444444-4444-4444-4444-444444444444", ["Get", "UnwrapKey", "WrapKey", "Purge"]),
    ]


def test_misconfigured_key_logs_endpoints_roles(load):
    inv = load("vault_misconfigured")
    key = row(inv, "keys", name="weak-rsa")
    assert (key["kty"], key["key_size"], key["expires"]) == ("RSA", 2048, None)
    assert (key["rotation_policy_present"], key["rotation_actions"]) == (False, [])
    diag = row(inv, "diagnostic_settings", name="kv-legacy-logs")
    assert diag["logs"] == [{"category": "AuditEvent", "category_group": None, "enabled": True, "retention_days": 30}]
    assert diag["workspace_id"] is None
    assert diag["storage_account_id"].endswith("/storageaccounts/stlogs")
    pe = row(inv, "private_endpoints", target_id=OPEN)
    assert pe["connection_state"] == "Pending"
    assert [(r["scope"], r["role_name"], r["vault_id"]) for r in rows(inv, "role_assignments")] == [
        (SUB_BAD, "Key Vault Administrator", None),
        (f"{SUB_BAD}/resourcegroups/rg-legacy", "Owner", None),
    ]


def test_misconfigured_consumers(load):
    inv = load("vault_misconfigured")
    refs = {r["consumer_name"]: r for r in rows(inv, "key_references")}
    assert set(refs) == {"cosmos-legacy", "aks-legacy"}
    cosmos = refs["cosmos-legacy"]
    assert cosmos["key_uri"] == "https://kv-legacy-app.vault.azure.net/keys/weak-rsa"
    assert (cosmos["pinned"], cosmos["key_id"], cosmos["purpose"]) == (False, LEGACY + "/keys/weak-rsa", "wrap")
    aks = refs["aks-legacy"]
    assert aks["id"].endswith("/managedclusters/aks-legacy#key_management_service[0].key_vault_key_id")
    assert (aks["pinned"], aks["key_version"]) == (True, "0123456789abcdef0123456789abcdef")
    assert (aks["vault_id"], aks["purpose"]) == (LEGACY, "encrypt")


def test_inline_suppression_targets_the_block_row(load):
    inv = load("vault_misconfigured")
    assert [(s.rule_id, s.resource_id, s.reason, s.file, s.line) for s in inv.suppressions] == [
        ("KV-NET-001", LEGACY, "legacy vault, network lockdown tracked in JIRA-42", FILE_BAD, 11),
    ]


def test_suppression_inside_block_and_without_reason(tmp_path):
    from kvaudit.scanner.iac.terraform import load_terraform

    (tmp_path / "main.tf").write_text(
        'resource "azurerm_key_vault" "a" {\n'
        '  name = "kv-a" # kvaudit:ignore KV-REC-002 -- dev vault, recreated nightly\n'
        "}\n"
        "// kvaudit:ignore KV-NET-001\n"
        "/* kvaudit:ignore KV-LOG-001 logs go to the central hub */\n"
        'resource "azurerm_key_vault" "b" {\n'
        '  name = "kv-b"\n'
        "}\n"
        "# kvaudit:ignore KV-NET-002 detached comment\n"
        "\n"
        'resource "azurerm_key_vault" "c" {\n'
        '  name = "kv-c"\n'
        "}\n"
    )
    inv, errors = load_terraform([tmp_path], tmp_path)
    assert errors == []
    base = "/subscriptions/iac~./resourcegroups/iac/providers/microsoft.keyvault/vaults/"
    assert [(s.rule_id, s.resource_id, s.reason, s.file, s.line) for s in inv.suppressions] == [
        ("KV-REC-002", base + "kv-a", "dev vault, recreated nightly", "main.tf", 2),
        ("KV-NET-001", base + "kv-b", None, "main.tf", 4),
        ("KV-LOG-001", base + "kv-b", "logs go to the central hub", "main.tf", 5),
    ]
