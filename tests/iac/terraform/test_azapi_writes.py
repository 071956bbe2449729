"""``azapi_update_resource`` and ``azapi_resource_action`` change a vault or key declared by azurerm
or azapi: the rows say what the resource is once the whole configuration is applied. Modelled on
the azapi provider's documentation and on configurations that harden a vault after creating it
(purge protection on, public network access off) with an ARM body."""

from __future__ import annotations

from kvaudit.scanner.iac.terraform import load_terraform

from .helpers import results, rows, write_tree

VAULTS = """
resource "azurerm_resource_group" "rg" {
  name     = "rg-writes"
  location = "westeurope"
}

resource "azurerm_key_vault" "app" {
  name                       = "kv-writes-app"
  location                   = azurerm_resource_group.rg.location
  resource_group_name        = azurerm_resource_group.rg.name
  tenant_id                  = "00000000-0000-0000-0000-0000000000aa"
  sku_name                   = "premium"
  purge_protection_enabled   = false
  soft_delete_retention_days = 90
  enable_rbac_authorization  = true
}

resource "azapi_resource" "shared" {
  type      = "Microsoft.KeyVault/vaults@2023-07-01"
  name      = "kv-writes-shared"
  parent_id = azurerm_resource_group.rg.id
  location  = "westeurope"
  body = {
    properties = {
      tenantId                  = "00000000-0000-0000-0000-0000000000aa"
      sku                       = { family = "A", name = "premium" }
      enableRbacAuthorization   = true
      enableSoftDelete          = true
      softDeleteRetentionInDays = 90
      publicNetworkAccess       = "Enabled"
    }
  }
}

resource "azurerm_key_vault_key" "cmk" {
  name         = "cmk"
  key_vault_id = azurerm_key_vault.app.id
  key_type     = "RSA-HSM"
  key_size     = 3072
  key_opts     = ["wrapKey", "unwrapKey"]
}
"""

HARDEN = """
resource "azapi_update_resource" "app_purge_protection" {
  type        = "Microsoft.KeyVault/vaults@2023-07-01"
  resource_id = azurerm_key_vault.app.id

  body = {
    properties = {
      enablePurgeProtection = true
      publicNetworkAccess   = "Disabled"
      networkAcls = {
        defaultAction = "Deny"
      }
    }
  }
}

resource "azapi_resource_action" "shared_close" {
  type        = "Microsoft.KeyVault/vaults@2023-07-01"
  resource_id = azapi_resource.shared.id
  method      = "PATCH"

  body = {
    properties = {
      publicNetworkAccess   = "Disabled"
      enablePurgeProtection = true
    }
  }
}

resource "azapi_resource_action" "rotate_now" {
  type        = "Microsoft.KeyVault/vaults/keys@2023-07-01"
  resource_id = azurerm_key_vault_key.cmk.resource_versionless_id
  action      = "rotate"
}

resource "azapi_update_resource" "reopen_on_destroy" {
  type        = "Microsoft.KeyVault/vaults@2023-07-01"
  resource_id = azurerm_key_vault.app.id
  body        = jsonencode({ properties = { publicNetworkAccess = "Enabled" } })
}
"""

COLUMNS = ("purge_protection_enabled", "public_network_access", "network_default_action", "soft_delete_retention_days")


def _load(tmp_path, files):
    inv, errors = load_terraform([write_tree(tmp_path, files)], tmp_path)
    assert [str(e) for e in errors] == []
    return inv


def _vaults(inv):
    return [
        (v["name"], *(v[c] for c in COLUMNS), sorted(v["defaults"] or []), v["unresolved"]) for v in rows(inv, "vaults")
    ]


def test_declared_vaults_without_writes(tmp_path):
    inv = _load(tmp_path, {"main.tf": VAULTS})
    assert _vaults(inv) == [
        (
            "kv-writes-app",
            False,
            "Enabled",
            "Allow",
            90,
            ["network_bypass", "network_default_action", "public_network_access", "soft_delete_enabled"],
            [],
        ),
        (
            "kv-writes-shared",
            False,
            "Enabled",
            "Allow",
            90,
            ["network_bypass", "network_default_action", "purge_protection_enabled"],
            [],
        ),
    ]


def test_update_and_patch_merge_onto_azurerm_and_azapi_vaults(tmp_path):
    harden = HARDEN.split('resource "azapi_update_resource" "reopen_on_destroy"')[0]
    inv = _load(tmp_path, {"main.tf": VAULTS, "harden.tf": harden})
    assert _vaults(inv) == [
        # the update's values are declared, no longer defaults; bypass keeps its default (a merge)
        ("kv-writes-app", True, "Disabled", "Deny", 90, ["network_bypass", "soft_delete_enabled"], []),
        ("kv-writes-shared", True, "Disabled", "Allow", 90, ["network_bypass", "network_default_action"], []),
    ]
    # a one-off rotation makes a key version; it is not a rotation policy
    (key,) = rows(inv, "keys")
    assert (key["rotation_policy_present"], key["rotation_actions"], key["unresolved"]) == (False, [], [])
    assert results(inv, "KV-REC-003", "KV-NET-001", "KV-LIFE-004") == [
        ("KV-LIFE-004", "kv-writes-app/cmk", "FAIL"),
        ("KV-NET-001", "kv-writes-app", "PASS"),
        ("KV-NET-001", "kv-writes-shared", "PASS"),
        ("KV-REC-003", "kv-writes-app", "PASS"),
        ("KV-REC-003", "kv-writes-shared", "PASS"),
    ]


def test_jsonencoded_update_and_destroy_time_action(tmp_path):
    writes = """
resource "azapi_update_resource" "reopen" {
  type        = "Microsoft.KeyVault/vaults@2023-07-01"
  resource_id = azurerm_key_vault.app.id
  body        = jsonencode({ properties = { publicNetworkAccess = "Enabled", enablePurgeProtection = true } })
}

resource "azapi_resource_action" "close_on_destroy" {
  type        = "Microsoft.KeyVault/vaults@2023-07-01"
  resource_id = azurerm_key_vault.app.id
  method      = "PATCH"
  when        = "destroy"
  body        = { properties = { publicNetworkAccess = "Disabled" } }
}
"""
    inv = _load(tmp_path, {"main.tf": VAULTS, "writes.tf": writes})
    assert _vaults(inv)[0][:4] == ("kv-writes-app", True, "Enabled", "Allow")


def test_put_replaces_the_vault_by_its_body(tmp_path):
    writes = """
resource "azapi_resource_action" "replace" {
  type        = "Microsoft.KeyVault/vaults@2023-07-01"
  resource_id = azapi_resource.shared.id
  method      = "PUT"
  body = {
    location   = "westeurope"
    properties = {
      tenantId              = "00000000-0000-0000-0000-0000000000aa"
      sku                   = { family = "A", name = "premium" }
      enablePurgeProtection = true
    }
  }
}
"""
    inv = _load(tmp_path, {"main.tf": VAULTS, "writes.tf": writes})
    shared = _vaults(inv)[1]
    # what the body leaves out takes the platform's defaults again
    assert shared[:5] == ("kv-writes-shared", True, "Enabled", "Allow", 90)
    assert "soft_delete_retention_days" in shared[5] and "public_network_access" in shared[5]


def test_a_write_to_an_unknown_target_makes_what_it_sets_unknown_where_it_differs(tmp_path):
    writes = """
variable "vault_id" {
  type = string
}

resource "azapi_update_resource" "retention" {
  type        = "Microsoft.KeyVault/vaults@2023-07-01"
  resource_id = var.vault_id
  body = {
    properties = {
      softDeleteRetentionInDays = 7
      enableRbacAuthorization   = true
    }
  }
}
"""
    inv = _load(tmp_path, {"main.tf": VAULTS, "writes.tf": writes})
    assert [
        (v["name"], v["soft_delete_retention_days"], v["rbac_authorization_enabled"], v["unresolved"])
        for v in rows(inv, "vaults")
    ] == [
        ("kv-writes-app", None, True, ["soft_delete_retention_days"]),
        ("kv-writes-shared", None, True, ["soft_delete_retention_days"]),
    ]
    assert results(inv, "KV-REC-002") == [
        ("KV-REC-002", "kv-writes-app", "UNKNOWN"),
        ("KV-REC-002", "kv-writes-shared", "UNKNOWN"),
    ]


def test_an_action_whose_effect_is_not_modelled_leaves_its_target_unknown(tmp_path, capsys):
    writes = """
resource "azapi_resource_action" "vendor_action" {
  type        = "Microsoft.KeyVault/vaults@2023-07-01"
  resource_id = azurerm_key_vault.app.id
  action      = "reconcile"
}
"""
    inv = _load(tmp_path, {"main.tf": VAULTS, "writes.tf": writes})
    app, shared = _vaults(inv)
    assert app[1:5] == (None, None, None, None)
    assert {"purge_protection_enabled", "public_network_access", "network_default_action"} <= set(app[6])
    assert shared[1:5] == (False, "Enabled", "Allow", 90)  # another vault is not touched
    assert results(inv, "KV-REC-003", "KV-NET-001") == [
        ("KV-NET-001", "kv-writes-app", "UNKNOWN"),
        ("KV-NET-001", "kv-writes-shared", "FAIL"),
        ("KV-REC-003", "kv-writes-app", "UNKNOWN"),
        ("KV-REC-003", "kv-writes-shared", "FAIL"),
    ]
    assert "azapi_resource_action.vendor_action is a write whose effect is not modelled" in capsys.readouterr().err


def test_an_update_gives_a_key_its_rotation_policy(tmp_path):
    writes = """
resource "azapi_update_resource" "cmk_rotation" {
  type      = "Microsoft.KeyVault/vaults/keys@2023-07-01"
  parent_id = azurerm_key_vault.app.id
  name      = "cmk"
  body = {
    properties = {
      rotationPolicy = {
        attributes = { expiryTime = "P2Y" }
        lifetimeActions = [
          { action = { type = "rotate" }, trigger = { timeAfterCreate = "P18M" } },
          { action = { type = "notify" }, trigger = { timeBeforeExpiry = "P30D" } },
        ]
      }
    }
  }
}
"""
    inv = _load(tmp_path, {"main.tf": VAULTS, "writes.tf": writes})
    (key,) = rows(inv, "keys")
    rotation = ("rotation_policy_present", "rotation_actions", "rotation_time_after_create", "rotation_expiry_time")
    assert tuple(key[c] for c in rotation) == (True, ["Rotate", "Notify"], "P18M", "P2Y")
    assert results(inv, "KV-LIFE-004") == [("KV-LIFE-004", "kv-writes-app/cmk", "PASS")]
