"""Module calls with for_each, tfvars, optional() object defaults and dynamic blocks."""

from __future__ import annotations

from .helpers import rows

PAYMENTS = "/subscriptions/iac~examples%2fiac%2fterraform%2fmodule_for_each/resourcegroups/rg-vaults/providers/microsoft.keyvault/vaults/kv-payments-prod"
LEGACY = "/subscriptions/iac~examples%2fiac%2fterraform%2fmodule_for_each/resourcegroups/rg-vaults/providers/microsoft.keyvault/vaults/kv-legacy-prod"
ROOT_FILE = "examples/iac/terraform/module_for_each/main.tf"
MODULE_FILE = "examples/iac/terraform/module_for_each/modules/kv/main.tf"


def test_for_each_module_expands_per_key_with_tfvars(load):
    inv = load("module_for_each")
    got = [
        (
            r["id"],
            r["sku"],
            r["purge_protection_enabled"],
            r["public_network_access"],
            r["network_default_action"],
            r["network_bypass"],
            r["ip_rules"],
            r["file"],
            r["line"],
            r["module"],
            r["declared_file"],
            r["declared_line"],
        )
        for r in rows(inv, "vaults")
    ]
    # Each instance is shown at the module call (main.tf:20), with its key in the module path
    # and the resource block in the module as where it is declared.
    assert got == [
        (PAYMENTS, "premium", True, "Disabled", "Deny", "None", [], ROOT_FILE, 20, 'module.kv["payments"]', MODULE_FILE, 44),
        (
            LEGACY,
            "standard",
            False,
            "Enabled",
            "Allow",
            "AzureServices",
            ["198.51.100.7/32"],
            ROOT_FILE,
            20,
            'module.kv["legacy"]',
            MODULE_FILE,
            44,
        ),
    ]


def test_keys_inside_module_join_their_vault(load):
    inv = load("module_for_each")
    assert [(k["id"], k["kty"], k["key_size"]) for k in rows(inv, "keys")] == [
        (PAYMENTS + "/keys/data", "RSA-HSM", 4096),
        (LEGACY + "/keys/data", "RSA-HSM", 4096),
    ]


def test_module_outputs_feed_root_resources(load):
    inv = load("module_for_each")
    assert [(d["name"], d["target_id"]) for d in rows(inv, "diagnostic_settings")] == [
        ("diag-payments", PAYMENTS),
        ("diag-legacy", LEGACY),
    ]


def test_child_module_is_not_scanned_as_its_own_root(load):
    inv = load("module_for_each")
    assert len(inv.tables["vaults"]) == 2  # no third vault with an unknown name from modules/kv alone


AZAPI_KV = "/subscriptions/iac~examples%2fiac%2fterraform%2fazapi/resourcegroups/rg-azapi/providers/microsoft.keyvault/vaults/kv-azapi"


def test_azapi_resources_go_through_the_arm_mapping(load):
    from .helpers import row

    inv = load("azapi")
    vault = row(inv, "vaults", id=AZAPI_KV)
    assert (vault["sku"], vault["soft_delete_retention_days"], vault["purge_protection_enabled"]) == (
        "premium",
        30,
        True,
    )
    assert (vault["public_network_access"], vault["network_default_action"], vault["network_bypass"]) == (
        "Disabled",
        "Deny",
        "None",
    )
    assert (vault["source"], vault["api_version"], vault["line"]) == ("terraform", "2023-07-01", 7)
    key = row(inv, "keys", name="wrap")
    assert (key["id"], key["vault_id"], key["kty"], key["key_size"]) == (
        AZAPI_KV + "/keys/wrap",
        AZAPI_KV,
        "RSA-HSM",
        3072,
    )


def test_azapi_v1_jsonencode_body_with_unknowns_keeps_known_properties(load):
    from .helpers import row

    inv = load("azapi")
    vault = row(inv, "vaults", name="kv-azapi-v1")
    assert (vault["tenant_id"], vault["sku"], vault["rbac_authorization_enabled"]) == (None, "standard", False)
    assert (vault["purge_protection_enabled"], vault["public_network_access"]) == (False, "Enabled")
    assert "purge_protection_enabled" in vault["defaults"]
