# Modelled on the azurerm provider documentation examples: a premium vault locked down to a
# private endpoint, an HSM-backed key with rotation, audit logs to Log Analytics.
variable "prefix" {
  type    = string
  default = "contoso"
}

variable "location" {
  default = "westeurope"
}

locals {
  vault_name = "kv-${var.prefix}-prod"
  tags = {
    environment = "prod"
    owner       = "platform"
  }
}

data "azurerm_client_config" "current" {}

resource "azurerm_resource_group" "rg" {
  name     = "rg-${var.prefix}-keys"
  location = var.location
}

resource "azurerm_key_vault" "main" {
  name                          = local.vault_name
  location                      = azurerm_resource_group.rg.location
  resource_group_name           = azurerm_resource_group.rg.name
  tenant_id                     = data.azurerm_client_config.current.tenant_id
  sku_name                      = "premium"
  soft_delete_retention_days    = 90
  purge_protection_enabled      = true
  public_network_access_enabled = false
  enable_rbac_authorization     = true

  network_acls {
    default_action = "Deny"
    bypass         = "None"
    ip_rules       = []
  }

  tags = local.tags
}

resource "azurerm_key_vault_key" "cmk" {
  name            = "cmk-storage"
  key_vault_id    = azurerm_key_vault.main.id
  key_type        = "RSA-HSM"
  key_size        = 3072
  key_opts        = ["wrapKey", "unwrapKey"]
  expiration_date = "2027-06-30T00:00:00Z"

  rotation_policy {
    automatic {
      time_before_expiry = "P30D"
    }
    expire_after         = "P365D"
    notify_before_expiry = "P29D"
  }
}

resource "azurerm_key_vault_key" "signer" {
  name            = "release-signer"
  key_vault_id    = azurerm_key_vault.main.id
  key_type        = "EC-HSM"
  curve           = "P-384"
  key_opts        = ["sign", "verify"]
  expiration_date = "2028-06-01T00:00:00Z"

  rotation_policy {
    automatic {
      time_after_creation = "P180D"
    }
    expire_after = "P365D"
  }
}

resource "azurerm_log_analytics_workspace" "law" {
  name                = "law-${var.prefix}"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
}

resource "azurerm_monitor_diagnostic_setting" "kv" {
  name                       = "kv-audit"
  target_resource_id         = azurerm_key_vault.main.id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.law.id

  enabled_log {
    category_group = "audit"
  }
}

resource "azurerm_private_endpoint" "kv" {
  name                = "pe-${local.vault_name}"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
  subnet_id           = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pe"

  private_service_connection {
    name                           = "kv-connection"
    private_connection_resource_id = azurerm_key_vault.main.id
    subresource_names              = ["vault"]
    is_manual_connection           = false
  }
}

resource "azurerm_role_assignment" "signer_user" {
  scope                = azurerm_key_vault_key.signer.resource_versionless_id
  role_definition_name = "Key Vault Crypto User"
  principal_id         = "11111111-1111-1111-1111-111111111111"
}

resource "azurerm_disk_encryption_set" "des" {
  name                = "des-${var.prefix}"
  resource_group_name = azurerm_resource_group.rg.name
  location            = azurerm_resource_group.rg.location
  key_vault_key_id    = azurerm_key_vault_key.cmk.id

  identity {
    type = "SystemAssigned"
  }
}

resource "azurerm_storage_account_customer_managed_key" "sa" {
  storage_account_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stcontoso"
  key_vault_id       = azurerm_key_vault.main.id
  key_name           = azurerm_key_vault_key.cmk.name
}
