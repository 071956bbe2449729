"""Truthful verdicts: an expression that cannot be evaluated is unknown, never absent, and never
drops the resource; the same body gives the same row whatever source read it.

Each test writes a few lines of IaC and asserts the exact row values and verdicts.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from kvaudit.scanner.azure.records import vault_records
from kvaudit.scanner.fields import observable
from kvaudit.scanner.iac.arm.mapping import map_declared
from kvaudit.scanner.iac.arm.template import TemplateWalker, template_scope
from kvaudit.scanner.inventory import Inventory
from tests.conftest import SHARED

from .helpers import arm_template, load, one, verdicts

POLICY = {
    "version": "1.0.0",
    "anyOf": [
        {
            "authority": "https://sharedeus.eus.attest.azure.net",
            "allOf": [
                {"claim": "x-ms-isolation-tee.x-ms-attestation-type", "equals": "sevsnpvm"},
                {"claim": "x-ms-isolation-tee.x-ms-compliance-status", "equals": "azure-compliant-cvm"},
            ],
        }
    ],
}
RELEASE_RULES = ("KV-KEY-006", "KV-KEY-007", "KV-KEY-008")


def _hsm_key_template(policy_variable: object) -> dict:
    return arm_template(
        [
            {
                "type": "Microsoft.KeyVault/managedHSMs",
                "apiVersion": "2023-07-01",
                "name": "hsm-skr",
                "location": "westeurope",
                "sku": {"family": "B", "name": "Standard_B1"},
                "properties": {"tenantId": "00000000-0000-0000-0000-000000000001", "enablePurgeProtection": True},
            },
            {
                "type": "Microsoft.KeyVault/managedHSMs/keys",
                "apiVersion": "2023-07-01",
                "name": "hsm-skr/cvm-release",
                "dependsOn": ["[resourceId('Microsoft.KeyVault/managedHSMs', 'hsm-skr')]"],
                "properties": {
                    "kty": "RSA-HSM",
                    "keySize": 3072,
                    "keyOps": ["wrapKey", "unwrapKey"],
                    "attributes": {"exportable": True, "exp": 1830000000},
                    "release_policy": {
                        "contentType": "application/json; charset=utf-8",
                        "data": "[base64(string(variables('policy')))]",
                        "immutable": True,
                    },
                },
            },
        ],
        variables={"policy": policy_variable},
    )


def test_arm_release_policy_expression_is_decoded_when_it_evaluates(tmp_path: Path) -> None:
    inv = load("arm", tmp_path, "skr.json", _hsm_key_template(POLICY))
    key = one(inv, "keys")
    assert (key["release_policy"], key["release_policy_immutable"], key["unresolved"]) == (POLICY, True, [])
    assert verdicts(inv, *RELEASE_RULES) == {
        ("KV-KEY-006", "hsm-skr/cvm-release"): "PASS",
        ("KV-KEY-007", "hsm-skr/cvm-release"): "PASS",
        ("KV-KEY-008", "hsm-skr/cvm-release"): "PASS",
    }


def test_arm_release_policy_that_cannot_be_evaluated_is_unknown_not_absent(tmp_path: Path) -> None:
    unresolvable = {"version": "1.0.0", "anyOf": "[reference('maa').properties.policy]"}
    inv = load("arm", tmp_path, "skr.json", _hsm_key_template(unresolvable))
    key = one(inv, "keys")
    assert (key["release_policy"], key["unresolved"]) == (None, ["release_policy"])
    assert verdicts(inv, *RELEASE_RULES) == {
        ("KV-KEY-006", "hsm-skr/cvm-release"): "UNKNOWN",
        ("KV-KEY-007", "hsm-skr/cvm-release"): "UNKNOWN",
        ("KV-KEY-008", "hsm-skr/cvm-release"): "UNKNOWN",
    }


def test_bicep_release_policy_that_cannot_be_evaluated_is_unknown(tmp_path: Path) -> None:
    bicep = """
param maaPolicy object

resource hsm 'Microsoft.KeyVault/managedHSMs@2023-07-01' = {
  name: 'hsm-skr'
  location: 'westeurope'
  sku: { family: 'B', name: 'Standard_B1' }
  properties: { tenantId: '00000000-0000-0000-0000-000000000001', enablePurgeProtection: true }
}

resource key 'Microsoft.KeyVault/managedHSMs/keys@2023-07-01' = {
  parent: hsm
  name: 'cvm-release'
  properties: {
    kty: 'RSA-HSM'
    keySize: 3072
    attributes: { exportable: true, exp: 1830000000 }
    release_policy: { data: base64(string(maaPolicy)) }
  }
}
"""
    inv = load("bicep", tmp_path, "main.bicep", bicep)
    key = one(inv, "keys")
    assert (key["release_policy"], key["release_policy_immutable"], key["unresolved"]) == (
        None,
        False,  # a declared policy without `immutable` is mutable
        ["release_policy"],
    )
    assert verdicts(inv, *RELEASE_RULES) == {
        ("KV-KEY-006", "hsm-skr/cvm-release"): "UNKNOWN",
        ("KV-KEY-007", "hsm-skr/cvm-release"): "UNKNOWN",
        ("KV-KEY-008", "hsm-skr/cvm-release"): "UNKNOWN",
    }


def test_terraform_azapi_release_policy_of_unknown_json_is_unknown(tmp_path: Path) -> None:
    hcl = """
variable "maa_authority" { type = string }

resource "azurerm_resource_group" "rg" {
  name     = "rg-skr"
  location = "westeurope"
}

resource "azapi_resource" "hsm" {
  type      = "Microsoft.KeyVault/managedHSMs@2023-07-01"
  name      = "hsm-skr"
  parent_id = azurerm_resource_group.rg.id
  location  = "westeurope"
  body = {
    sku        = { family = "B", name = "Standard_B1" }
    properties = { tenantId = "00000000-0000-0000-0000-000000000001", enablePurgeProtection = true }
  }
}

resource "azapi_resource" "key" {
  type      = "Microsoft.KeyVault/managedHSMs/keys@2023-07-01"
  name      = "cvm-release"
  parent_id = azapi_resource.hsm.id
  body = {
    properties = {
      kty        = "RSA-HSM"
      keySize    = 3072
      attributes = { exportable = true, exp = 1830000000 }
      release_policy = {
        data      = base64encode(jsonencode({ version = "1.0.0", anyOf = [{ authority = var.maa_authority }] }))
        immutable = true
      }
    }
  }
}
"""
    inv = load("terraform", tmp_path, "skr/main.tf", hcl)
    key = one(inv, "keys")
    assert (key["release_policy"], key["release_policy_immutable"], key["unresolved"]) == (
        None,
        True,
        ["release_policy"],
    )
    assert verdicts(inv, *RELEASE_RULES) == {
        ("KV-KEY-006", "hsm-skr/cvm-release"): "UNKNOWN",
        ("KV-KEY-007", "hsm-skr/cvm-release"): "UNKNOWN",
        ("KV-KEY-008", "hsm-skr/cvm-release"): "UNKNOWN",
    }


def _vault_with_key(exp: object) -> dict:
    return arm_template(
        [
            {
                "type": "Microsoft.KeyVault/vaults",
                "apiVersion": "2023-07-01",
                "name": "kv-life",
                "location": "westeurope",
                "properties": {"tenantId": "[subscription().tenantId]", "sku": {"family": "A", "name": "premium"}},
            },
            {
                "type": "Microsoft.KeyVault/vaults/keys",
                "apiVersion": "2023-07-01",
                "name": "kv-life/data",
                "properties": {"kty": "RSA-HSM", "keySize": 3072, "attributes": {"exp": exp}},
            },
        ],
        parameters={"expiry": {"type": "int"}},
    )


def test_arm_expiry_that_cannot_be_evaluated_is_unknown_not_missing(tmp_path: Path) -> None:
    inv = load("arm", tmp_path / "unknown", "life.json", _vault_with_key("[parameters('expiry')]"))
    key = one(inv, "keys")
    assert (key["expires"], key["unresolved"]) == (None, ["expires"])
    assert verdicts(inv, "KV-LIFE-001") == {("KV-LIFE-001", "kv-life/data"): "UNKNOWN"}
    # Not set at all is a different answer: no expiration date.
    template = _vault_with_key(0)
    del template["resources"][1]["properties"]["attributes"]
    absent = load("arm", tmp_path / "absent", "life.json", template)
    assert one(absent, "keys")["unresolved"] == []
    assert verdicts(absent, "KV-LIFE-001") == {("KV-LIFE-001", "kv-life/data"): "FAIL"}


def test_terraform_expiry_from_a_variable_without_value_is_unknown(tmp_path: Path) -> None:
    hcl = """
variable "expiry" { type = string }

resource "azurerm_key_vault" "kv" {
  name                = "kv-life"
  location            = "westeurope"
  resource_group_name = "rg-life"
  tenant_id           = "00000000-0000-0000-0000-000000000001"
  sku_name            = "premium"
}

resource "azurerm_key_vault_key" "data" {
  name            = "data"
  key_vault_id    = azurerm_key_vault.kv.id
  key_type        = "RSA-HSM"
  key_size        = 3072
  key_opts        = ["wrapKey", "unwrapKey"]
  expiration_date = var.expiry
}
"""
    inv = load("terraform", tmp_path, "life/main.tf", hcl)
    key = one(inv, "keys")
    assert (key["expires"], key["unresolved"]) == (None, ["expires"])
    assert verdicts(inv, "KV-LIFE-001") == {("KV-LIFE-001", "kv-life/data"): "UNKNOWN"}


def _vault_with_diagnostics(workspace: str) -> dict:
    return arm_template(
        [
            {
                "type": "Microsoft.KeyVault/vaults",
                "apiVersion": "2023-07-01",
                "name": "kv-logs",
                "location": "westeurope",
                "properties": {"tenantId": "00000000-0000-0000-0000-000000000001", "sku": {"name": "premium"}},
            },
            {
                "type": "Microsoft.Insights/diagnosticSettings",
                "apiVersion": "2021-05-01-preview",
                "name": "audit",
                "scope": "[resourceId('Microsoft.KeyVault/vaults', 'kv-logs')]",
                "properties": {"workspaceId": workspace, "logs": [{"categoryGroup": "audit", "enabled": True}]},
            },
        ],
        parameters={"workspaceId": {"type": "string"}},
    )


def test_arm_diagnostic_setting_with_unresolvable_workspace_is_unknown_not_missing(tmp_path: Path) -> None:
    inv = load("arm", tmp_path / "unknown", "logs.json", _vault_with_diagnostics("[parameters('workspaceId')]"))
    setting = one(inv, "diagnostic_settings")
    assert (setting["workspace_id"], setting["unresolved"]) == (None, ["workspace_id"])
    assert verdicts(inv, "KV-LOG-001") == {("KV-LOG-001", "kv-logs"): "UNKNOWN"}
    known = "/subscriptions/00000000-0000-0000-0000-000000000009/resourceGroups/rg-ops/providers/Microsoft.OperationalInsights/workspaces/ops"
    sent = load("arm", tmp_path / "known", "logs.json", _vault_with_diagnostics(known))
    assert verdicts(sent, "KV-LOG-001") == {("KV-LOG-001", "kv-logs"): "PASS"}


def test_terraform_diagnostic_setting_with_unresolvable_workspace_is_unknown(tmp_path: Path) -> None:
    hcl = """
variable "workspace_id" { type = string }

resource "azurerm_key_vault" "kv" {
  name                = "kv-logs"
  location            = "westeurope"
  resource_group_name = "rg-logs"
  tenant_id           = "00000000-0000-0000-0000-000000000001"
  sku_name            = "premium"
}

resource "azurerm_monitor_diagnostic_setting" "audit" {
  name                       = "audit"
  target_resource_id         = azurerm_key_vault.kv.id
  log_analytics_workspace_id = var.workspace_id
  enabled_log { category_group = "audit" }
}
"""
    inv = load("terraform", tmp_path, "logs/main.tf", hcl)
    setting = one(inv, "diagnostic_settings")
    assert (setting["workspace_id"], setting["unresolved"]) == (None, ["workspace_id"])
    assert verdicts(inv, "KV-LOG-001") == {("KV-LOG-001", "kv-logs"): "UNKNOWN"}


def test_arm_vault_with_unevaluable_properties_is_still_judged(tmp_path: Path) -> None:
    template = arm_template(
        [
            {
                "type": "Microsoft.KeyVault/vaults",
                "apiVersion": "2023-07-01",
                "name": "kv-partial",
                "location": "westeurope",
                "properties": {
                    "tenantId": "[parameters('undeclared')]",  # no such parameter
                    "sku": {"family": "A", "name": "[notAFunction('premium')]"},  # no such function
                    "softDeleteRetentionInDays": "[add(7,]",  # malformed
                    "enablePurgeProtection": False,
                    "publicNetworkAccess": "Enabled",
                    "enableRbacAuthorization": True,
                },
            }
        ]
    )
    inv = load("arm", tmp_path, "partial.json", template)
    vault = one(inv, "vaults")
    assert (vault["tenant_id"], vault["sku"], vault["soft_delete_retention_days"]) == (None, None, None)
    assert vault["unresolved"] == ["sku", "soft_delete_retention_days", "tenant_id"]
    assert (vault["purge_protection_enabled"], vault["public_network_access"]) == (False, "Enabled")
    assert verdicts(inv, "KV-REC-002", "KV-REC-003", "KV-NET-001") == {
        ("KV-REC-002", "kv-partial"): "UNKNOWN",  # the retention could not be evaluated
        ("KV-REC-003", "kv-partial"): "FAIL",
        ("KV-NET-001", "kv-partial"): "FAIL",
    }


VAULT_SOFT_DELETE_OFF = {
    "id": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-old",
    "name": "kv-old",
    "type": "Microsoft.KeyVault/vaults",
    "location": "westeurope",
    "properties": {
        "tenantId": "00000000-0000-0000-0000-000000000002",
        "sku": {"family": "A", "name": "standard"},
        "enableSoftDelete": False,
    },
}


def test_live_and_arm_agree_on_retention_when_soft_delete_is_off() -> None:
    live = vault_records(VAULT_SOFT_DELETE_OFF, "2023-07-01")["vaults"][0]
    resource = {k: v for k, v in VAULT_SOFT_DELETE_OFF.items() if k != "id"} | {"apiVersion": "2023-07-01"}
    walker = TemplateWalker("kv.json")
    walker.walk(arm_template([resource]), {}, template_scope({}))
    [arm] = map_declared(walker.declared)[0]["vaults"]
    for row in (live, arm):
        assert (row["soft_delete_enabled"], row["soft_delete_retention_days"]) == (False, None)
        assert "soft_delete_retention_days" not in (row["defaults"] or [])
        assert verdicts(Inventory.from_records({"vaults": [row]}), "KV-REC-001", "KV-REC-002") == {
            ("KV-REC-001", "kv-old"): "FAIL",
            ("KV-REC-002", "kv-old"): "NOT_APPLICABLE",  # no retention applies without soft delete
        }


def test_security_domain_activation_is_observable_from_terraform_not_arm(tmp_path: Path) -> None:
    hcl = """
resource "azurerm_key_vault_managed_hardware_security_module" "hsm" {
  name                = "hsm-sd"
  resource_group_name = "rg-hsm"
  location            = "westeurope"
  sku_name            = "Standard_B1"
  tenant_id           = "00000000-0000-0000-0000-000000000001"
  admin_object_ids    = ["00000000-0000-0000-0000-00000000000a"]
  purge_protection_enabled = true
  security_domain_key_vault_certificate_ids = ["https://kv.vault.azure.net/certificates/a/1", "https://kv.vault.azure.net/certificates/b/1", "https://kv.vault.azure.net/certificates/c/1"]
  security_domain_quorum = 2
}
"""
    tf = load("terraform", tmp_path / "tf", "hsm/main.tf", hcl)
    assert one(tf, "vaults")["security_domain_activated"] is True
    assert verdicts(tf, "KV-TIER-005") == {("KV-TIER-005", "hsm-sd"): "PASS"}
    template = arm_template(
        [
            {
                "type": "Microsoft.KeyVault/managedHSMs",
                "apiVersion": "2023-07-01",
                "name": "hsm-sd",
                "location": "westeurope",
                "sku": {"family": "B", "name": "Standard_B1"},
                "properties": {"tenantId": "00000000-0000-0000-0000-000000000001", "enablePurgeProtection": True},
            }
        ]
    )
    arm = load("arm", tmp_path / "arm", "hsm.json", template)
    # A template cannot download the security domain: ARM cannot observe activation, which the
    # field table records, so the engine answers NOT_APPLICABLE rather than a guess.
    assert one(arm, "vaults")["security_domain_activated"] is None
    assert (
        observable("vaults", "security_domain_activated", "arm"),
        observable("vaults", "security_domain_activated", "terraform"),
    ) == (False, True)


def test_release_policy_decoding_matches_the_data_plane_encoding() -> None:
    encoded = base64.urlsafe_b64encode(json.dumps(POLICY).encode()).decode().rstrip("=")
    from kvaudit.scanner.fields import dataplane_key_row

    row = dataplane_key_row(
        {
            "key": {"kid": "https://hsm.managedhsm.azure.net/keys/k/0123", "kty": "RSA-HSM", "key_ops": ["wrapKey"]},
            "attributes": {"enabled": True, "exportable": True, "exp": 1830000000, "created": 1700000000},
            "release_policy": {"data": encoded, "immutable": True},
        }
    )
    assert (row["release_policy"], row["release_policy_immutable"], row["kid"], row["current_version"]) == (
        POLICY,
        True,
        "https://hsm.managedhsm.azure.net/keys/k",
        "0123",
    )


def test_data_plane_rows_of_the_official_get_key_example() -> None:
    from kvaudit.scanner.fields import dataplane_key_row

    example = json.loads((SHARED / "azure-rest-examples/keyvault-keys/GetKey-example.json").read_text())
    body = example["responses"]["200"]["body"]
    key = dataplane_key_row(body)
    assert (key["kid"], key["current_version"], key["kty"], key["key_size"]) == (
        "https://myvault.vault.azure.net/keys/CreateSoftKeyTest",
        "78deebed173b48e48f55abf87ed4cf71",
        "RSA",
        2048,
    )
    assert (key["enabled"], key["expires"], key["exportable"], key["release_policy"]) == (True, None, False, None)
    assert (key["defaults"], key["unresolved"]) == (["exportable"], [])
    version = dataplane_key_row(body, "key_versions")
    assert "release_policy" not in version and version["key_ops"] == body["key"]["key_ops"]
