"""Variable types applied as Terraform applies them: ``optional(type, default)`` in nested objects,
maps of objects (the Azure Verified Modules ``keys = map(object({...}))``) and lists of objects,
an explicit ``null`` taking the default, and ``set`` holding each element once."""

from __future__ import annotations

import json

from kvaudit.scanner.iac.terraform import load_terraform

from .helpers import rows, write_tree

MAIN = """
variable "ip_rules" {
  type = list(object({
    value  = string
    action = optional(string, "Allow")
    ports  = optional(list(number), [443])
  }))
  default = [{ value = "203.0.113.0/24" }, { value = "198.51.100.7/32", action = "Deny", ports = null }]
}

variable "keys" {
  type = map(object({
    name     = string
    key_opts = optional(list(string), ["sign", "verify"])
    role_assignments = optional(map(object({
      principal_id                     = string
      skip_service_principal_aad_check = optional(bool, false)
    })), {})
    rotation_policy = optional(object({
      automatic = optional(object({
        time_after_creation = optional(string, "P90D")
      }), {})
      expire_after = optional(string)
    }), null)
  }))
  default = {
    cmk = {
      name             = "cmk"
      key_opts         = ["wrapKey", "unwrapKey"]
      role_assignments = { storage = { principal_id = "7d0b2c4e-0000-4000-8000-000000000001" } }
      rotation_policy  = { expire_after = "P1Y" }
    }
    signer = { name = "signer" }
  }
}

variable "permissions" {
  type    = set(string)
  default = ["WrapKey", "Get", "UnwrapKey", "Get"]
}

resource "azurerm_key_vault" "kv" {
  name                = "kv-types"
  location            = "westeurope"
  resource_group_name = "rg-types"
  tenant_id           = "00000000-0000-0000-0000-0000000000aa"
  sku_name            = "premium"
  tags = {
    ip_rules    = jsonencode(var.ip_rules)
    keys        = jsonencode(var.keys)
    permissions = jsonencode(var.permissions)
  }
}
"""


def _tags(tmp_path, tfvars: str | None = None):
    files = {"main.tf": MAIN}
    if tfvars is not None:
        files["terraform.tfvars"] = tfvars
    inv, errors = load_terraform([write_tree(tmp_path, files)], tmp_path)
    assert [str(e) for e in errors] == []
    (vault,) = rows(inv, "vaults")
    return {name: json.loads(text) for name, text in vault["tags"].items()}


def test_list_of_objects_takes_defaults_and_null_means_default(tmp_path):
    assert _tags(tmp_path)["ip_rules"] == [
        {"value": "203.0.113.0/24", "action": "Allow", "ports": [443]},
        {"value": "198.51.100.7/32", "action": "Deny", "ports": [443]},
    ]


def test_map_of_objects_with_nested_optional_objects_and_maps(tmp_path):
    assert _tags(tmp_path)["keys"] == {
        "cmk": {
            "name": "cmk",
            "key_opts": ["wrapKey", "unwrapKey"],
            "role_assignments": {
                "storage": {
                    "principal_id": "7d0b2c4e-0000-4000-8000-000000000001",
                    "skip_service_principal_aad_check": False,
                }
            },
            # the default {} of automatic is itself converted, so its own default applies
            "rotation_policy": {"automatic": {"time_after_creation": "P90D"}, "expire_after": "P1Y"},
        },
        "signer": {"name": "signer", "key_opts": ["sign", "verify"], "role_assignments": {}, "rotation_policy": None},
    }


def test_a_set_holds_each_element_once_in_lexical_order(tmp_path):
    assert _tags(tmp_path)["permissions"] == ["Get", "UnwrapKey", "WrapKey"]


def test_tfvars_values_are_converted_too(tmp_path):
    tfvars = 'keys = {\n  hsm = {\n    name = "hsm-key"\n    rotation_policy = {}\n  }\n}\n'
    assert _tags(tmp_path, tfvars)["keys"] == {
        "hsm": {
            "name": "hsm-key",
            "key_opts": ["sign", "verify"],
            "role_assignments": {},
            "rotation_policy": {"automatic": {"time_after_creation": "P90D"}, "expire_after": None},
        }
    }
