# Root module calling a local module per vault, the way Azure Verified Modules are consumed.
variable "vaults" {
  type = map(object({
    sku         = optional(string, "premium")
    purge       = optional(bool, true)
    public      = optional(bool, false)
    network_acls = optional(object({
      bypass         = optional(string, "None")
      default_action = optional(string, "Deny")
      ip_rules       = optional(list(string), [])
    }), {})
  }))
}

variable "environment" {
  type    = string
  default = "dev"
}

module "kv" {
  source   = "./modules/kv"
  for_each = var.vaults

  name                          = "kv-${each.key}-${var.environment}"
  sku_name                      = each.value.sku
  purge_protection_enabled      = each.value.purge
  public_network_access_enabled = each.value.public
  network_acls                  = each.value.network_acls
  keys = {
    data = { type = "RSA-HSM", size = 4096 }
  }
}

resource "azurerm_monitor_diagnostic_setting" "kv" {
  for_each                   = module.kv
  name                       = "diag-${each.key}"
  target_resource_id         = each.value.resource_id
  log_analytics_workspace_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-logs/providers/Microsoft.OperationalInsights/workspaces/law"

  enabled_log {
    category_group = "allLogs"
  }
}
