"""Exact rows for the Managed HSM fixtures: security domain, local RBAC, HSM keys."""

from __future__ import annotations

from kvaudit.scanner.reference import builtin_role

from .helpers import row, rows

HSM = "/subscriptions/iac~examples%2fiac%2fterraform%2fhsm_compliant/resourcegroups/rg-hsm/providers/microsoft.keyvault/managedhsms/mhsm-signing"
SHARED = "/subscriptions/iac~examples%2fiac%2fterraform%2fhsm_misconfigured/resourcegroups/rg-hsm/providers/microsoft.keyvault/managedhsms/mhsm-shared"
ROLE_PREFIX = "/Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/"


def test_compliant_hsm_row(load):
    inv = load("hsm_compliant")
    hsm = row(inv, "vaults", kind="managed_hsm")
    assert hsm["id"] == HSM
    assert hsm["uri"] == "https://mhsm-signing.managedhsm.azure.net/"
    assert (hsm["sku"], hsm["purge_protection_enabled"], hsm["soft_delete_retention_days"]) == ("Standard_B1", True, 90)
    assert (hsm["public_network_access"], hsm["network_default_action"], hsm["network_bypass"]) == (
        "Disabled",
        "Deny",
        "None",
    )
    assert hsm["security_domain_activated"] is True
    assert hsm["rbac_authorization_enabled"] is None
    assert (hsm["ip_rules"], hsm["virtual_network_rules"]) == (None, None)
    assert hsm["defaults"] == ["soft_delete_enabled"]


def test_compliant_hsm_keys(load):
    inv = load("hsm_compliant")
    assert [(k["id"], k["kty"], k["curve"], k["key_size"], k["key_ops"]) for k in rows(inv, "keys")] == [
        (HSM + "/keys/bootstrap-signer", "EC-HSM", "P-256", None, ["sign", "verify"]),
        (HSM + "/keys/envelope-kek", "oct-HSM", None, 256, ["wrapKey", "unwrapKey"]),
    ]
    signer = row(inv, "keys", name="bootstrap-signer")
    assert signer["kid"] == "https://mhsm-signing.managedhsm.azure.net/keys/bootstrap-signer"
    assert (signer["rotation_actions"], signer["rotation_time_after_create"], signer["rotation_expiry_time"]) == (
        ["Rotate"],
        "P90D",
        "P180D",
    )


def test_compliant_local_rbac_builtin_and_custom(load):
    inv = load("hsm_compliant")
    assignments = [
        (r["id"], r["plane"], r["vault_id"], r["scope"], r["role_definition_id"], r["role_name"], r["data_actions"])
        for r in rows(inv, "role_assignments")
    ]
    assert assignments == [
        (  # admin_object_ids: an administrator whose object id is read at apply time
            HSM + "/roleassignments/initial-admin-{unknown-0}",
            "managed_hsm",
            HSM,
            "/",
            builtin_role("Managed HSM Administrator").id,
            "Managed HSM Administrator",
            None,
        ),
        (
            HSM + "/roleassignments/1e243909-064c-6ac3-84e9-1c8bf8d6ad22",
            "managed_hsm",
            HSM,
            "/keys/bootstrap-signer",
            builtin_role("Managed HSM Crypto User").id,  # canonical, whatever the spelling
            "Managed HSM Crypto User",
            None,
        ),
        (
            HSM + "/roleassignments/1e243909-064c-6ac3-84e9-1c8bf8d6ad23",
            "managed_hsm",
            HSM,
            "/keys/bootstrap-signer",
            (ROLE_PREFIX + "7c0b3f4e-4e2c-4b7a-9e5d-1a2b3c4d5e6f").lower(),
            "Bootstrap Signer",
            [
                "Microsoft.KeyVault/managedHsm/keys/read/action",
                "Microsoft.KeyVault/managedHsm/keys/sign/action",
                "Microsoft.KeyVault/managedHsm/keys/verify/action",
            ],
        ),
    ]


def test_compliant_hsm_logging_and_consumer(load):
    inv = load("hsm_compliant")
    diag = row(inv, "diagnostic_settings", name="hsm-audit")
    assert diag["target_id"] == HSM
    assert diag["logs"] == [{"category": "AuditEvent", "category_group": None, "enabled": True, "retention_days": None}]
    ref = row(inv, "key_references", consumer_name="stsigned")
    assert ref["id"].endswith("/storageaccounts/stsigned#customer_managed_key[0].managed_hsm_key_id")
    assert (ref["key_id"], ref["vault_host"], ref["pinned"]) == (
        HSM + "/keys/envelope-kek",
        "mhsm-signing.managedhsm.azure.net",
        True,
    )


def test_misconfigured_hsm(load):
    inv = load("hsm_misconfigured")
    hsm = row(inv, "vaults", kind="managed_hsm")
    assert hsm["id"] == SHARED
    assert hsm["security_domain_activated"] is None  # not declared: unknown, never False
    assert (hsm["purge_protection_enabled"], hsm["public_network_access"], hsm["network_default_action"]) == (
        False,
        "Enabled",
        "Allow",
    )
    assert hsm["defaults"] == [
        "network_bypass",
        "network_default_action",
        "public_network_access",
        "purge_protection_enabled",
        "soft_delete_enabled",
        "soft_delete_retention_days",
    ]
    assert [(r["scope"], r["principal_id"][:4], r["role_name"]) for r in rows(inv, "role_assignments")] == [
        ("/", "aaaa", "Managed HSM Administrator"),  # admin_object_ids
        ("/", "bbbb", "Managed HSM Crypto Officer"),
        ("/keys", "cccc", "Managed HSM Crypto User"),
        ("/", "bbbb", "Managed HSM Administrator"),
    ]
    ref = row(inv, "key_references", consumer_name="des-hsm")
    assert ref["key_uri"] == "https://mhsm-shared.managedhsm.azure.net/keys/wide-open"
    assert (ref["pinned"], ref["key_id"]) == (False, SHARED + "/keys/wide-open")


SIX_ADMINS = """
resource "azurerm_key_vault_managed_hardware_security_module" "hsm" {
  name                     = "hsm-six"
  resource_group_name      = "rg"
  location                 = "westeurope"
  sku_name                 = "Standard_B1"
  tenant_id                = "00000000-0000-0000-0000-000000000000"
  purge_protection_enabled = true
  admin_object_ids         = [%s]
}
"""


def test_admin_object_ids_are_administrators_as_in_bicep(tmp_path):
    """Six initial administrators fail KV-ACC-002 from Terraform as they do from Bicep
    (``initialAdminObjectIds``): each is a Managed HSM Administrator at ``/``."""
    from kvaudit.rules.engine import evaluate
    from kvaudit.rules.registry import get
    from kvaudit.scanner.iac.terraform import load_terraform

    admins = [f"0b5c2a7e-1111-4c3d-9e8f-00000000000{i}" for i in range(1, 7)]
    (tmp_path / "main.tf").write_text(SIX_ADMINS % ", ".join(f'"{a}"' for a in admins))
    inventory, errors = load_terraform([tmp_path], tmp_path)
    assert errors == []
    assigned = rows(inventory, "role_assignments")
    administrator = builtin_role("Managed HSM Administrator")
    assert sorted(r["principal_id"] for r in assigned) == admins
    assert {(r["scope"], r["role_definition_id"], r["plane"]) for r in assigned} == {
        ("/", administrator.id, "managed_hsm")
    }
    results = evaluate(inventory, rules=[get("KV-ACC-002")]).outcomes[0].results
    assert list(results["status"]) == ["FAIL"]
    assert results["ev:administrators"].iloc[0] == 6


def test_plan_admin_list_known_only_after_apply_is_an_unknown_administrator(tmp_path):
    """In a plan, ``admin_object_ids`` computed at apply is ``after_unknown``: one administrator
    row of unknown principal, so KV-ACC-002 is UNKNOWN rather than a PASS that counted none."""
    import json

    from kvaudit.scanner.iac.terraform import load_terraform_plan

    from .helpers import results

    address = "azurerm_key_vault_managed_hardware_security_module.hsm"
    values = {
        "name": "mhsm-plan",
        "resource_group_name": "rg-hsm",
        "location": "westeurope",
        "sku_name": "Standard_B1",
        "tenant_id": "00000000-0000-0000-0000-0000000000aa",
        "purge_protection_enabled": True,
        "soft_delete_retention_days": 90,
    }
    resource = {"address": address, "mode": "managed", "type": address.split(".")[0], "name": "hsm", "values": values}
    plan = {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "planned_values": {"root_module": {"resources": [resource]}},
        "resource_changes": [
            {
                "address": address,
                "mode": "managed",
                "type": resource["type"],
                "name": "hsm",
                "change": {"actions": ["create"], "after": values, "after_unknown": {"admin_object_ids": True}},
            }
        ],
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    inv, errors = load_terraform_plan([path], tmp_path)
    assert [str(e) for e in errors] == []
    assert [(r["id"].rsplit("/", 1)[-1], r["principal_id"], r["unresolved"]) for r in rows(inv, "role_assignments")] == [
        ("initial-admin-{unknown-list}", None, ["principal_id"])
    ]
    assert results(inv, "KV-ACC-002") == [("KV-ACC-002", "mhsm-plan", "UNKNOWN")]
