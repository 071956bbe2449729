# Shape of avm-res-keyvault-vault: optional network ACLs through a dynamic block, keys by map.
variable "name" {
  type = string
}

variable "resource_group_name" {
  type    = string
  default = "rg-vaults"
}

variable "sku_name" {
  type    = string
  default = "premium"
}

variable "purge_protection_enabled" {
  type    = bool
  default = true
}

variable "public_network_access_enabled" {
  type    = bool
  default = false
}

variable "network_acls" {
  type = object({
    bypass                     = optional(string, "None")
    default_action             = optional(string, "Deny")
    ip_rules                   = optional(list(string), [])
    virtual_network_subnet_ids = optional(list(string), [])
  })
  default = {}
}

variable "keys" {
  type = map(object({
    type = string
    size = optional(number)
  }))
  default = {}
}

resource "azurerm_key_vault" "this" {
  name                          = lower(var.name)
  location                      = "westeurope"
  resource_group_name           = var.resource_group_name
  tenant_id                     = "00000000-0000-0000-0000-0000000000aa"
  sku_name                      = var.sku_name
  purge_protection_enabled      = var.purge_protection_enabled
  public_network_access_enabled = var.public_network_access_enabled
  enable_rbac_authorization     = true

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

resource "azurerm_key_vault_key" "this" {
  for_each = var.keys

  name         = each.key
  key_vault_id = azurerm_key_vault.this.id
  key_type     = each.value.type
  key_size     = each.value.size
  key_opts     = ["wrapKey", "unwrapKey"]
}

output "resource_id" {
  value = azurerm_key_vault.this.id
}
