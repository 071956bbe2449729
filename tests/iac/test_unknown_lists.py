"""Lists that cannot be evaluated, in ARM, Bicep and Terraform: an HSM's initial administrators
(KV-ACC-002 counts exactly) and a vault's access policies.

Modelled on the azurerm documentation example (``admin_object_ids`` from the client config) and
on quickstart templates that take ``initialAdminObjectIds`` as an array parameter. A list that
cannot be evaluated (a variable or parameter given no value) is an unknown set of administrators:
the HSM's result is UNKNOWN, never a PASS that counted none.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvaudit.rules.engine import evaluate
from kvaudit.rules.registry import all_rules
from kvaudit.scanner.iac.arm import load_arm
from kvaudit.scanner.iac.bicep import load_bicep
from kvaudit.scanner.iac.terraform import load_terraform

TWO = ["5b1c2f3e-0d6e-4b9a-9a51-0c1f7d6a2b01", "5b1c2f3e-0d6e-4b9a-9a51-0c1f7d6a2b02"]
FOUR = TWO + ["5b1c2f3e-0d6e-4b9a-9a51-0c1f7d6a2b03", "5b1c2f3e-0d6e-4b9a-9a51-0c1f7d6a2b04"]
#: Each case: how the list is written, the result, and the administrators counted.
CASES = {
    "two": (TWO, "PASS", 2),
    "four": (FOUR, "FAIL", 4),
    "unset": (None, "UNKNOWN", 0),
}


def _terraform(tmp: Path, admins: list[str] | None) -> Path:
    listed = "var.hsm_admin_object_ids" if admins is None else json.dumps(admins)
    (tmp / "main.tf").write_text(
        f"""
variable "hsm_admin_object_ids" {{
  type        = list(string)
  description = "Object ids of the HSM's initial administrators."
}}

data "azurerm_client_config" "current" {{}}

resource "azurerm_key_vault_managed_hardware_security_module" "hsm" {{
  name                       = "mhsm-payments"
  resource_group_name        = "rg-hsm"
  location                   = "westeurope"
  sku_name                   = "Standard_B1"
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  admin_object_ids           = {listed}
  purge_protection_enabled   = true
  soft_delete_retention_days = 90
}}
"""
    )
    return tmp


def _arm(tmp: Path, admins: list[str] | None) -> Path:
    parameters: dict[str, object] = {"initialAdminObjectIds": {"type": "array"}}
    if admins is not None:
        parameters["initialAdminObjectIds"]["defaultValue"] = admins  # type: ignore[index]
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {**parameters, "location": {"type": "string", "defaultValue": "[resourceGroup().location]"}},
        "resources": [
            {
                "type": "Microsoft.KeyVault/managedHSMs",
                "apiVersion": "2023-07-01",
                "name": "mhsm-payments",
                "location": "[parameters('location')]",
                "sku": {"family": "B", "name": "Standard_B1"},
                "properties": {
                    "tenantId": "[subscription().tenantId]",
                    "initialAdminObjectIds": "[parameters('initialAdminObjectIds')]",
                    "enableSoftDelete": True,
                    "enablePurgeProtection": True,
                    "softDeleteRetentionInDays": 90,
                },
            }
        ],
    }
    (tmp / "azuredeploy.json").write_text(json.dumps(template, indent=2))
    return tmp / "azuredeploy.json"


def _bicep(tmp: Path, admins: list[str] | None) -> Path:
    default = "" if admins is None else " = [\n" + "".join(f"  '{a}'\n" for a in admins) + "]"
    (tmp / "main.bicep").write_text(
        f"""@description('Object ids of the initial administrators of the HSM')
param initialAdminObjectIds array{default}
param location string = resourceGroup().location

resource hsm 'Microsoft.KeyVault/managedHSMs@2023-07-01' = {{
  name: 'mhsm-payments'
  location: location
  sku: {{
    family: 'B'
    name: 'Standard_B1'
  }}
  properties: {{
    tenantId: subscription().tenantId
    initialAdminObjectIds: initialAdminObjectIds
    enableSoftDelete: true
    enablePurgeProtection: true
    softDeleteRetentionInDays: 90
  }}
}}
"""
    )
    return tmp / "main.bicep"


def _azapi(tmp: Path, admins: list[str] | None) -> Path:
    """The Azure Verified Modules Managed HSM shape: an azapi body fed by a set variable."""
    default = "" if admins is None else f"\n  default = {json.dumps(admins)}"
    (tmp / "main.tf").write_text(
        f"""
variable "admin_object_ids" {{
  type = set(string){default}
}}

resource "azapi_resource" "this" {{
  type      = "Microsoft.KeyVault/managedHSMs@2023-07-01"
  name      = "mhsm-payments"
  parent_id = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-hsm"
  location  = "westeurope"
  body = {{
    sku = {{ family = "B", name = "Standard_B1" }}
    properties = {{
      tenantId                  = "00000000-0000-0000-0000-0000000000aa"
      initialAdminObjectIds     = tolist(var.admin_object_ids)
      enableSoftDelete          = true
      softDeleteRetentionInDays = 90
      enablePurgeProtection     = true
    }}
  }}
}}
"""
    )
    return tmp


LOADERS = {
    "terraform": (_terraform, load_terraform),
    "azapi": (_azapi, load_terraform),
    "arm": (_arm, load_arm),
    "bicep": (_bicep, load_bicep),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_initial_administrators_are_counted_exactly(kind: str, case: str, tmp_path: Path) -> None:
    admins, status, count = CASES[case]
    write, load = LOADERS[kind]
    inventory, errors = load([write(tmp_path, admins)], tmp_path)
    assert [str(e) for e in errors] == []
    (outcome,) = evaluate(inventory, rules=[r for r in all_rules() if r.id == "KV-ACC-002"]).outcomes
    results = [
        (r["resource_name"], r["status"], r["ev:administrators"], r["ev:administrator_principals"])
        for r in outcome.results.to_dict("records")
    ]
    assert results == [("mhsm-payments", status, count, sorted(admins or []))]


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_an_unknown_list_is_one_administrator_row_of_unknown_principal(kind: str, tmp_path: Path) -> None:
    write, load = LOADERS[kind]
    inventory, _ = load([write(tmp_path, None)], tmp_path)
    ras = inventory.tables["role_assignments"]
    assert [
        (r["id"].rsplit("/", 1)[-1].split("~")[0], r["scope"], r["role_name"], r["principal_id"], list(r["unresolved"]))
        for r in ras.to_dict("records")
    ] == [("initial-admin-{unknown-list}", "/", "Managed HSM Administrator", None, ["principal_id"])]


ARM_VAULT = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {"accessPolicies": {"type": "array"}},
    "resources": [
        {
            "type": "Microsoft.KeyVault/vaults",
            "apiVersion": "2023-07-01",
            "name": "kv-policies",
            "location": "westeurope",
            "properties": {
                "tenantId": "[subscription().tenantId]",
                "sku": {"family": "A", "name": "premium"},
                "accessPolicies": "[parameters('accessPolicies')]",
                "enablePurgeProtection": True,
            },
        }
    ],
}

BICEP_VAULT = """param accessPolicies array

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-policies'
  location: 'westeurope'
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'premium'
    }
    accessPolicies: accessPolicies
    enablePurgeProtection: true
  }
}
"""


@pytest.mark.parametrize("kind", ["arm", "bicep"])
def test_an_unknown_access_policy_list_is_one_unknown_policy(kind: str, tmp_path: Path) -> None:
    if kind == "arm":
        path = tmp_path / "azuredeploy.json"
        path.write_text(json.dumps(ARM_VAULT))
        inventory, errors = load_arm([path], tmp_path)
    else:
        path = tmp_path / "main.bicep"
        path.write_text(BICEP_VAULT)
        inventory, errors = load_bicep([path], tmp_path)
    assert [str(e) for e in errors] == []
    policies = inventory.tables["access_policies"].to_dict("records")
    assert [(p["object_id"], p["key_permissions"], list(p["unresolved"])) for p in policies] == [
        (
            None,
            None,
            [
                "application_id",
                "certificate_permissions",
                "key_permissions",
                "object_id",
                "secret_permissions",
                "tenant_id",
            ],
        )
    ]
    (outcome,) = evaluate(inventory, rules=[r for r in all_rules() if r.id == "KV-ACC-007"]).outcomes
    assert [(r["resource_name"], r["status"]) for r in outcome.results.to_dict("records")] == [
        ("kv-policies:access-policy:?", "UNKNOWN")
    ]
