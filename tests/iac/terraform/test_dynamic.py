"""``dynamic`` blocks as module libraries write them: optional ``network_acls`` (the Azure
Verified Modules shape ``{ this = var.network_acls }``), ``access_policy`` over a map of objects
with an ``iterator`` (CAF shape), ``enabled_log`` over a set of strings, and ``for_each`` values
that cannot be evaluated, which leave the blocks unknown, never absent."""

from __future__ import annotations

from kvaudit.scanner.iac.terraform import load_terraform

from .helpers import results, rows, write_tree

MAIN = """
variable "network_acls" {
  type = object({
    bypass                     = optional(string, "None")
    default_action             = optional(string, "Deny")
    ip_rules                   = optional(list(string), [])
    virtual_network_subnet_ids = optional(list(string), [])
  })
  default = {}
}

variable "access_policies" {
  type = map(object({
    object_id               = string
    key_permissions         = optional(set(string), [])
    secret_permissions      = optional(set(string), [])
    certificate_permissions = optional(set(string), [])
  }))
  default = {
    app = {
      object_id       = "3f5b8c1e-1d2a-4e9b-8a7c-0b1c2d3e4f50"
      key_permissions = ["Get", "WrapKey", "UnwrapKey"]
    }
    break_glass = {
      object_id       = "3f5b8c1e-1d2a-4e9b-8a7c-0b1c2d3e4f51"
      key_permissions = ["Get", "List", "Purge"]
    }
  }
}

variable "log_groups" {
  type    = set(string)
  default = ["audit"]
}

variable "platform_policies" {
  type = list(object({
    object_id       = string
    key_permissions = list(string)
  }))
  description = "Supplied by the platform pipeline; no value in the configuration."
}

locals {
  tenant_id = "00000000-0000-0000-0000-0000000000aa"
}

resource "azurerm_key_vault" "app" {
  name                       = "kv-dynamic-app"
  location                   = "westeurope"
  resource_group_name        = "rg-dynamic"
  tenant_id                  = local.tenant_id
  sku_name                   = "premium"
  purge_protection_enabled   = true
  soft_delete_retention_days = 90

  dynamic "access_policy" {
    for_each = var.access_policies
    iterator = policy

    content {
      tenant_id               = local.tenant_id
      object_id               = policy.value.object_id
      key_permissions         = policy.value.key_permissions
      secret_permissions      = policy.value.secret_permissions
      certificate_permissions = policy.value.certificate_permissions
    }
  }

  dynamic "network_acls" {
    for_each = var.network_acls != null ? { this = var.network_acls } : {}

    content {
      bypass                     = network_acls.value.bypass
      default_action             = network_acls.value.default_action
      ip_rules                   = network_acls.value.ip_rules
      virtual_network_subnet_ids = network_acls.value.virtual_network_subnet_ids
    }
  }
}

resource "azurerm_key_vault" "platform" {
  name                       = "kv-dynamic-platform"
  location                   = "westeurope"
  resource_group_name        = "rg-dynamic"
  tenant_id                  = local.tenant_id
  sku_name                   = "premium"
  purge_protection_enabled   = true
  soft_delete_retention_days = 90

  dynamic "access_policy" {
    for_each = var.platform_policies

    content {
      tenant_id       = local.tenant_id
      object_id       = access_policy.value.object_id
      key_permissions = access_policy.value.key_permissions
    }
  }

  dynamic "network_acls" {
    for_each = length(var.platform_policies) > 0 ? [1] : []

    content {
      bypass         = "AzureServices"
      default_action = "Deny"
    }
  }
}

resource "azurerm_monitor_diagnostic_setting" "app" {
  name                       = "diag-app"
  target_resource_id         = azurerm_key_vault.app.id
  log_analytics_workspace_id = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-logs/providers/Microsoft.OperationalInsights/workspaces/law-audit"

  dynamic "enabled_log" {
    for_each = var.log_groups

    content {
      category_group = enabled_log.value
    }
  }
}
"""

NETWORK = ("network_default_action", "network_bypass", "ip_rules", "virtual_network_rules")


def _load(tmp_path, files):
    inv, errors = load_terraform([write_tree(tmp_path, files)], tmp_path)
    assert [str(e) for e in errors] == []
    return inv


def test_network_acls_from_optional_defaults_and_unknown_for_each(tmp_path):
    inv = _load(tmp_path, {"main.tf": MAIN})
    got = [
        (v["name"], *(v[c] for c in NETWORK), [c for c in v["unresolved"] if c in NETWORK]) for v in rows(inv, "vaults")
    ]
    assert got == [
        # network_acls = {} takes every optional() default: a closed firewall
        ("kv-dynamic-app", "Deny", "None", [], [], []),
        # a dynamic block over an unknown collection may or may not exist: unknown, not "no firewall"
        ("kv-dynamic-platform", None, None, None, None, sorted(NETWORK)),
    ]


def test_access_policies_over_a_map_with_an_iterator_and_over_an_unknown_list(tmp_path):
    inv = _load(tmp_path, {"main.tf": MAIN})
    got = [
        (p["id"].rsplit("/", 2)[-2:], p["object_id"], p["key_permissions"], p["unresolved"])
        for p in rows(inv, "access_policies")
    ]
    assert got == [
        (
            ["accesspolicies", "3f5b8c1e-1d2a-4e9b-8a7c-0b1c2d3e4f50"],
            "3f5b8c1e-1d2a-4e9b-8a7c-0b1c2d3e4f50",
            ["Get", "UnwrapKey", "WrapKey"],  # a set(string): each once, in lexical order
            [],
        ),
        (
            ["accesspolicies", "3f5b8c1e-1d2a-4e9b-8a7c-0b1c2d3e4f51"],
            "3f5b8c1e-1d2a-4e9b-8a7c-0b1c2d3e4f51",
            ["Get", "List", "Purge"],
            [],
        ),
        (
            ["accesspolicies", "{unknown-list}"],
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
        ),
    ]


def test_findings_for_dynamic_blocks_are_exact(tmp_path):
    inv = _load(tmp_path, {"main.tf": MAIN})
    assert results(inv, "KV-ACC-007", "KV-NET-002", "KV-LOG-001") == [
        ("KV-ACC-007", "kv-dynamic-app:access-policy:3f5b8c1e-1d2a-4e9b-8a7c-0b1c2d3e4f50", "PASS"),
        ("KV-ACC-007", "kv-dynamic-app:access-policy:3f5b8c1e-1d2a-4e9b-8a7c-0b1c2d3e4f51", "FAIL"),
        ("KV-ACC-007", "kv-dynamic-platform:access-policy:?", "UNKNOWN"),
        ("KV-LOG-001", "kv-dynamic-app", "PASS"),
        ("KV-LOG-001", "kv-dynamic-platform", "FAIL"),
        ("KV-NET-002", "kv-dynamic-app", "PASS"),
        ("KV-NET-002", "kv-dynamic-platform", "UNKNOWN"),
    ]


def test_enabled_log_over_a_set_of_strings(tmp_path):
    inv = _load(tmp_path, {"main.tf": MAIN})
    (setting,) = rows(inv, "diagnostic_settings")
    assert setting["logs"] == [{"category": None, "category_group": "audit", "enabled": True, "retention_days": None}]


def test_enabled_log_over_an_unknown_set_is_unknown_logs(tmp_path):
    text = MAIN.replace(
        'variable "log_groups" {\n  type    = set(string)\n  default = ["audit"]\n}',
        'variable "log_groups" {\n  type = set(string)\n}',
    )
    inv = _load(tmp_path, {"main.tf": text})
    (setting,) = rows(inv, "diagnostic_settings")
    assert (setting["logs"], setting["unresolved"]) == (None, ["logs"])
    assert results(inv, "KV-LOG-001") == [
        ("KV-LOG-001", "kv-dynamic-app", "UNKNOWN"),
        ("KV-LOG-001", "kv-dynamic-platform", "FAIL"),
    ]
