"""The field table's columns of access policies, role assignments, diagnostic settings, private
endpoints and key references: the official REST example, ARM, Bicep, Terraform HCL and plan JSON
give the same values (and the same canonical role id and consumer purpose)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kvaudit.scanner.azure.records import (
    diagnostic_setting_record,
    private_endpoint_record,
    role_assignment_record,
    vault_records,
)
from kvaudit.scanner.azure.references import reference_records
from kvaudit.scanner.reference import builtin_role
from tests.conftest import SHARED

from .helpers import arm_template, load, one

EXAMPLES = SHARED / "azure-rest-examples"
VAULT_ID = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sample-resource-group/providers/Microsoft.KeyVault/vaults/sample-vault"


def body(path: str) -> Any:
    return json.loads((EXAMPLES / path).read_text())["responses"]["200"]["body"]


def _columns(row: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    return {c: row[c] for c in columns}


VAULT_RESOURCE = {
    "type": "Microsoft.KeyVault/vaults",
    "apiVersion": "2023-07-01",
    "name": "sample-vault",
    "location": "westus",
}


def test_access_policy_columns(tmp_path: Path) -> None:
    example = body("keyvault-mgmt/getVault.json")
    live = vault_records(example, "2023-07-01")["access_policies"][0]
    columns = ("tenant_id", "object_id", "application_id", "key_permissions", "secret_permissions")
    arm = one(
        load(
            "arm", tmp_path / "arm", "kv.json", arm_template([{**VAULT_RESOURCE, "properties": example["properties"]}])
        ),
        "access_policies",
    )
    policy = example["properties"]["accessPolicies"][0]
    hcl = f"""
resource "azurerm_key_vault_access_policy" "p" {{
  key_vault_id       = "{VAULT_ID}"
  tenant_id          = "{policy["tenantId"]}"
  object_id          = "{policy["objectId"]}"
  key_permissions    = {json.dumps(policy["permissions"]["keys"])}
  secret_permissions = {json.dumps(policy["permissions"]["secrets"])}
}}
"""
    tf = one(load("terraform", tmp_path / "tf", "p/main.tf", hcl), "access_policies")
    assert _columns(live, columns) == _columns(arm, columns) == _columns(tf, columns)
    assert live["key_permissions"] == policy["permissions"]["keys"]


def test_role_assignment_columns_and_canonical_role_ids(tmp_path: Path) -> None:
    crypto_user = builtin_role("Key Vault Crypto User")
    assignment = {
        "id": VAULT_ID + "/providers/Microsoft.Authorization/roleAssignments/11111111-2222-3333-4444-555555555555",
        "name": "11111111-2222-3333-4444-555555555555",
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": f"/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/{crypto_user.guid}",
            "principalId": "ce2ce14e-85d7-4629-bdbc-454d0519d987",
            "principalType": "ServicePrincipal",
            "scope": VAULT_ID,
        },
    }
    live = role_assignment_record(assignment, None, "azure", VAULT_ID.lower(), "2022-04-01")
    template = arm_template(
        [
            {
                **VAULT_RESOURCE,
                "properties": {
                    "tenantId": "00000000-0000-0000-0000-000000000001",
                    "sku": {"family": "A", "name": "standard"},
                },
            },
            {
                "type": "Microsoft.Authorization/roleAssignments",
                "apiVersion": "2022-04-01",
                "name": "11111111-2222-3333-4444-555555555555",
                "scope": "[resourceId('Microsoft.KeyVault/vaults', 'sample-vault')]",
                "properties": {
                    "roleDefinitionId": f"[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '{crypto_user.guid}')]",
                    "principalId": "ce2ce14e-85d7-4629-bdbc-454d0519d987",
                    "principalType": "ServicePrincipal",
                },
            },
        ]
    )
    arm = one(load("arm", tmp_path / "arm", "ra.json", template), "role_assignments")
    hcl = f"""
resource "azurerm_role_assignment" "ra" {{
  scope                = "{VAULT_ID}"
  role_definition_name = "Key Vault Crypto User"
  principal_id         = "ce2ce14e-85d7-4629-bdbc-454d0519d987"
  principal_type       = "ServicePrincipal"
}}
"""
    tf = one(load("terraform", tmp_path / "tf", "ra/main.tf", hcl), "role_assignments")
    columns = ("principal_id", "principal_type", "role_definition_id", "role_name")
    expected = ("ce2ce14e-85d7-4629-bdbc-454d0519d987", "ServicePrincipal", crypto_user.id, "Key Vault Crypto User")
    assert (
        tuple(live[c] for c in columns) == tuple(arm[c] for c in columns) == tuple(tf[c] for c in columns) == expected
    )
    assert crypto_user.id == "/providers/microsoft.authorization/roledefinitions/12338af0-0e69-4776-bea7-57ae8d297424"


def test_managed_hsm_restore_role_is_known_to_every_source() -> None:
    restore = builtin_role("Managed HSM Restore")
    assert (
        restore
        is builtin_role("6efe6056-5259-49d2-8b3d-d3d73544b20b")
        is builtin_role(
            "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/6efe6056-5259-49d2-8b3d-d3d73544b20b"
        )
    )
    assert (restore.plane, restore.id) == (
        "managed_hsm",
        "microsoft.keyvault/providers/microsoft.authorization/roledefinitions/6efe6056-5259-49d2-8b3d-d3d73544b20b",
    )


def test_diagnostic_setting_columns(tmp_path: Path) -> None:
    example = body("diagnostic-settings/getDiagnosticSetting.json")
    live = diagnostic_setting_record(VAULT_ID.lower(), example, "2021-05-01-preview")
    props = example["properties"]
    template = arm_template(
        [
            {
                **VAULT_RESOURCE,
                "properties": {
                    "tenantId": "00000000-0000-0000-0000-000000000001",
                    "sku": {"family": "A", "name": "standard"},
                },
            },
            {
                "type": "Microsoft.Insights/diagnosticSettings",
                "apiVersion": "2021-05-01-preview",
                "name": "mysetting",
                "scope": "[resourceId('Microsoft.KeyVault/vaults', 'sample-vault')]",
                "properties": {
                    k: props[k]
                    for k in ("storageAccountId", "workspaceId", "eventHubAuthorizationRuleId", "marketplacePartnerId")
                },
            },
        ]
    )
    arm = one(load("arm", tmp_path / "arm", "diag.json", template), "diagnostic_settings")
    hcl = f"""
resource "azurerm_monitor_diagnostic_setting" "d" {{
  name                           = "mysetting"
  target_resource_id             = "{VAULT_ID}"
  storage_account_id             = "{props["storageAccountId"]}"
  eventhub_authorization_rule_id = "{props["eventHubAuthorizationRuleId"]}"
  partner_solution_id            = "{props["marketplacePartnerId"]}"
  enabled_log {{ category = "AuditEvent" }}
}}
"""
    tf = one(load("terraform", tmp_path / "tf", "d/main.tf", hcl), "diagnostic_settings")
    columns = ("workspace_id", "storage_account_id", "event_hub_authorization_rule_id", "marketplace_partner_id")
    assert _columns(live, columns) == _columns(arm, columns) == _columns(tf, columns)
    assert live["workspace_id"] is None  # the example's "" is no destination
    assert live["storage_account_id"] == props["storageAccountId"].lower()


def test_private_endpoint_connection_columns(tmp_path: Path) -> None:
    example = body("keyvault-mgmt/getPrivateEndpointConnection.json")
    live = private_endpoint_record(VAULT_ID.lower(), example, "2023-07-01")
    template = arm_template(
        [
            {
                **VAULT_RESOURCE,
                "properties": {
                    "tenantId": "00000000-0000-0000-0000-000000000001",
                    "sku": {"family": "A", "name": "standard"},
                },
            },
            {
                "type": "Microsoft.KeyVault/vaults/privateEndpointConnections",
                "apiVersion": "2023-07-01",
                "name": "sample-vault/sample-pec",
                "properties": example["properties"],
            },
        ]
    )
    arm = one(load("arm", tmp_path / "arm", "pe.json", template), "private_endpoints")
    columns = ("private_endpoint_id", "connection_state", "provisioning_state")
    assert (
        _columns(live, columns)
        == _columns(arm, columns)
        == {
            "private_endpoint_id": example["properties"]["privateEndpoint"]["id"].lower(),
            "connection_state": "Approved",
            "provisioning_state": "Succeeded",
        }
    )
    hcl = f"""
resource "azurerm_private_endpoint" "pe" {{
  name                = "sample-pe"
  location            = "westus"
  resource_group_name = "sample-group"
  subnet_id           = "/subscriptions/s/resourceGroups/sample-group/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
  private_service_connection {{
    name                           = "sample-pec"
    private_connection_resource_id = "{VAULT_ID}"
    is_manual_connection           = false
    subresource_names              = ["vault"]
  }}
}}
"""
    tf = one(load("terraform", tmp_path / "tf", "pe/main.tf", hcl), "private_endpoints")
    assert tf["connection_state"] == live["connection_state"]


def test_aks_kms_purpose_is_the_same_from_live_arm_and_terraform(tmp_path: Path) -> None:
    key_uri = "https://kv-aks.vault.azure.net/keys/etcd/0123456789abcdef0123456789abcdef"
    kms = {"securityProfile": {"azureKeyVaultKms": {"enabled": True, "keyId": key_uri}}}
    live = reference_records(
        [
            {
                "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks",
                "name": "aks",
                "type": "Microsoft.ContainerService/managedClusters",
                "properties": kms,
            }
        ],
        {},
    )[0]
    template = arm_template(
        [
            {
                "type": "Microsoft.ContainerService/managedClusters",
                "apiVersion": "2024-02-01",
                "name": "aks",
                "location": "westeurope",
                "properties": kms,
            }
        ]
    )
    arm = one(load("arm", tmp_path / "arm", "aks.json", template), "key_references")
    hcl = f"""
resource "azurerm_kubernetes_cluster" "aks" {{
  name                = "aks"
  location            = "westeurope"
  resource_group_name = "rg"
  dns_prefix          = "aks"
  key_management_service {{
    key_vault_key_id = "{key_uri}"
  }}
}}
"""
    tf = one(load("terraform", tmp_path / "tf", "aks/main.tf", hcl), "key_references")
    assert (live["purpose"], arm["purpose"], tf["purpose"]) == ("encrypt", "encrypt", "encrypt")
    assert (live["pinned"], arm["pinned"], tf["pinned"]) == (True, True, True)
