"""Key rotation in Terraform: the vault key's ``rotation_policy`` block (also written as nested
``dynamic`` blocks, as module libraries do) and the Managed HSM key's separate
``azurerm_key_vault_managed_hardware_security_module_key_rotation_policy`` resource, both read by
the one rotation mapping of the field table. Modelled on the azurerm documentation examples and
on key modules that make the policy optional with ``dynamic``."""

from __future__ import annotations

import json

from kvaudit.scanner.iac.terraform import load_terraform, load_terraform_plan

from .helpers import results, rows, write_tree

HSM = """
resource "azurerm_key_vault_managed_hardware_security_module" "hsm" {
  name                       = "mhsm-rotation"
  resource_group_name        = "rg-hsm"
  location                   = "westeurope"
  sku_name                   = "Standard_B1"
  tenant_id                  = "00000000-0000-0000-0000-0000000000aa"
  admin_object_ids           = ["00000000-0000-0000-0000-00000000000a"]
  purge_protection_enabled   = true
  soft_delete_retention_days = 90
}

resource "azurerm_key_vault_managed_hardware_security_module_key" "signer" {
  name           = "signer"
  managed_hsm_id = azurerm_key_vault_managed_hardware_security_module.hsm.id
  key_type       = "EC-HSM"
  curve          = "P-521"
  key_opts       = ["sign"]
}

resource "azurerm_key_vault_managed_hardware_security_module_key" "kek" {
  name           = "kek"
  managed_hsm_id = azurerm_key_vault_managed_hardware_security_module.hsm.id
  key_type       = "RSA-HSM"
  key_size       = 3072
  key_opts       = ["wrapKey", "unwrapKey"]
}

resource "azurerm_key_vault_managed_hardware_security_module_key_rotation_policy" "signer" {
  managed_hsm_key_id = azurerm_key_vault_managed_hardware_security_module_key.signer.id
  expire_after       = "P60D"
  time_before_expiry = "P30D"
}
"""

ROTATION = ("rotation_policy_present", "rotation_actions", "rotation_time_after_create", "rotation_expiry_time")


def _keys(inv):
    return [(k["name"], *(k[c] for c in ROTATION), k["unresolved"]) for k in rows(inv, "keys")]


def _load(tmp_path, files):
    inv, errors = load_terraform([write_tree(tmp_path, files)], tmp_path)
    assert [str(e) for e in errors] == []
    return inv


def test_hsm_rotation_policy_resource_fills_its_keys_rotation_columns(tmp_path):
    inv = _load(tmp_path, {"main.tf": HSM})
    assert _keys(inv) == [
        ("signer", True, ["Rotate"], None, "P60D", []),
        ("kek", False, [], None, None, []),
    ]
    assert rows(inv, "key_references") == []  # the policy configures the key; it does not consume it
    assert results(inv, "KV-LIFE-004") == [
        ("KV-LIFE-004", "mhsm-rotation/kek", "FAIL"),
        ("KV-LIFE-004", "mhsm-rotation/signer", "PASS"),
    ]


def test_policy_per_key_with_for_each_and_time_after_creation(tmp_path):
    policies = """
locals {
  rotated = {
    signer = azurerm_key_vault_managed_hardware_security_module_key.signer.id
    kek    = azurerm_key_vault_managed_hardware_security_module_key.kek.versioned_id
  }
}

resource "azurerm_key_vault_managed_hardware_security_module_key_rotation_policy" "each" {
  for_each = local.rotated

  managed_hsm_key_id  = each.value
  expire_after        = "P1Y"
  time_after_creation = "P90D"
}
"""
    inv = _load(
        tmp_path,
        {
            "main.tf": HSM.split('resource "azurerm_key_vault_managed_hardware_security_module_key_rotation_policy"')[
                0
            ],
            "rotation.tf": policies,
        },
    )
    assert _keys(inv) == [
        ("signer", True, ["Rotate"], "P90D", "P1Y", []),
        ("kek", True, ["Rotate"], "P90D", "P1Y", []),
    ]


def test_a_policy_whose_key_is_unknown_makes_other_hsm_keys_rotation_unknown(tmp_path):
    unplaced = """
variable "rotated_key_id" {
  type = string
}

resource "azurerm_key_vault_managed_hardware_security_module_key_rotation_policy" "imported" {
  managed_hsm_key_id  = var.rotated_key_id
  expire_after        = "P1Y"
  time_after_creation = "P90D"
}
"""
    inv = _load(tmp_path, {"main.tf": HSM, "imported.tf": unplaced})
    assert _keys(inv) == [
        ("signer", True, ["Rotate"], None, "P60D", []),
        ("kek", None, None, None, None, sorted(ROTATION)),
    ]
    assert results(inv, "KV-LIFE-004") == [
        ("KV-LIFE-004", "mhsm-rotation/kek", "UNKNOWN"),
        ("KV-LIFE-004", "mhsm-rotation/signer", "PASS"),
    ]


def test_policy_values_that_cannot_be_evaluated_stay_unknown(tmp_path):
    text = HSM.replace('expire_after       = "P60D"', "expire_after       = var.expiry") + 'variable "expiry" {}\n'
    inv = _load(tmp_path, {"main.tf": text})
    assert _keys(inv)[0] == ("signer", True, ["Rotate"], None, None, ["rotation_expiry_time"])


VAULT_KEYS = """
variable "rotation_policy" {
  type = object({
    automatic = optional(object({
      time_after_creation = optional(string, null)
      time_before_expiry  = optional(string, null)
    }), null)
    expire_after         = optional(string, null)
    notify_before_expiry = optional(string, null)
  })
  default = {
    automatic    = { time_after_creation = "P180D" }
    expire_after = "P2Y"
  }
}

variable "notify_only" {
  type = object({
    automatic            = optional(object({ time_before_expiry = optional(string) }))
    expire_after         = optional(string)
    notify_before_expiry = optional(string)
  })
  default = { expire_after = "P1Y", notify_before_expiry = "P30D" }
}

variable "rotation_later" {
  type = list(object({ expire_after = string }))
}

resource "azurerm_key_vault" "kv" {
  name                      = "kv-rotation"
  location                  = "westeurope"
  resource_group_name       = "rg-keys"
  tenant_id                 = "00000000-0000-0000-0000-0000000000aa"
  sku_name                  = "premium"
  purge_protection_enabled  = true
  enable_rbac_authorization = true
}

resource "azurerm_key_vault_key" "cmk" {
  for_each = {
    rotated  = var.rotation_policy
    notified = var.notify_only
    none     = null
  }

  name         = "cmk-${each.key}"
  key_vault_id = azurerm_key_vault.kv.id
  key_type     = "RSA-HSM"
  key_size     = 3072
  key_opts     = ["wrapKey", "unwrapKey"]

  dynamic "rotation_policy" {
    for_each = each.value != null ? [each.value] : []

    content {
      expire_after         = rotation_policy.value.expire_after
      notify_before_expiry = rotation_policy.value.notify_before_expiry

      dynamic "automatic" {
        for_each = rotation_policy.value.automatic != null ? [rotation_policy.value.automatic] : []

        content {
          time_after_creation = automatic.value.time_after_creation
          time_before_expiry  = automatic.value.time_before_expiry
        }
      }
    }
  }
}

resource "azurerm_key_vault_key" "later" {
  name         = "cmk-later"
  key_vault_id = azurerm_key_vault.kv.id
  key_type     = "RSA-HSM"
  key_size     = 3072
  key_opts     = ["wrapKey", "unwrapKey"]

  dynamic "rotation_policy" {
    for_each = var.rotation_later
    iterator = policy

    content {
      expire_after = policy.value.expire_after
    }
  }
}
"""


def test_vault_key_rotation_policy_through_nested_dynamic_blocks(tmp_path):
    inv = _load(tmp_path, {"main.tf": VAULT_KEYS})
    assert _keys(inv) == [
        ("cmk-rotated", True, ["Rotate"], "P180D", "P2Y", []),
        ("cmk-notified", True, ["Notify"], None, "P1Y", []),
        ("cmk-none", False, [], None, None, []),
        ("cmk-later", None, None, None, None, sorted(ROTATION)),  # dynamic over an unknown list
    ]
    assert results(inv, "KV-LIFE-004") == [
        ("KV-LIFE-004", "kv-rotation/cmk-later", "UNKNOWN"),
        ("KV-LIFE-004", "kv-rotation/cmk-none", "FAIL"),
        ("KV-LIFE-004", "kv-rotation/cmk-notified", "FAIL"),
        ("KV-LIFE-004", "kv-rotation/cmk-rotated", "PASS"),
    ]


def _resource(address: str, values: dict) -> dict:
    rtype, name = address.split(".")
    return {"address": address, "mode": "managed", "type": rtype, "name": name, "values": values}


def test_plan_json_writes_an_absent_automatic_block_as_an_empty_list(tmp_path):
    vault = _resource(
        "azurerm_key_vault.kv",
        {"name": "kv-plan", "resource_group_name": "rg-keys", "sku_name": "premium", "purge_protection_enabled": True},
    )
    key_id = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/kv-plan"
    notify_only = _resource(
        "azurerm_key_vault_key.notify",
        {
            "name": "notify-only",
            "key_vault_id": key_id,
            "key_type": "RSA",
            "key_size": 3072,
            "key_opts": ["wrapKey"],
            "rotation_policy": [{"automatic": [], "expire_after": "P1Y", "notify_before_expiry": "P30D"}],
        },
    )
    plan = {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "planned_values": {"root_module": {"resources": [vault, notify_only]}},
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    inv, errors = load_terraform_plan([path], tmp_path)
    assert [str(e) for e in errors] == []
    assert _keys(inv) == [("notify-only", True, ["Notify"], None, "P1Y", [])]
    assert results(inv, "KV-LIFE-004") == [("KV-LIFE-004", "kv-plan/notify-only", "FAIL")]
