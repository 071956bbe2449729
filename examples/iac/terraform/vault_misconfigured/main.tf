# Everything the catalogue warns about, in the shapes people actually write.
data "azurerm_client_config" "current" {}

data "azurerm_subscription" "primary" {}

resource "azurerm_resource_group" "rg" {
  name     = "rg-legacy"
  location = "eastus"
}

# kvaudit:ignore KV-NET-001 legacy vault, network lockdown tracked in JIRA-42
resource "azurerm_key_vault" "legacy" {
  name                       = "kv-legacy-app"
  location                   = azurerm_resource_group.rg.location
  resource_group_name        = azurerm_resource_group.rg.name
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = "standard"
  soft_delete_retention_days = 7

  access_policy {
    tenant_id       = data.azurerm_client_config.current.tenant_id
    object_id       = "22222222-2222-2222-2222-222222222222"
    key_permissions = ["Get", "List", "Create", "Delete", "Purge"]
  }
}

resource "azurerm_key_vault" "open" {
  name                          = "kv-open-app"
  location                      = "eastus"
  resource_group_name           = "rg-legacy"
  tenant_id                     = "33333333-3333-3333-3333-333333333333"
  sku_name                      = "standard"
  purge_protection_enabled      = false
  public_network_access_enabled = true

  network_acls {
    default_action = "Allow"
    bypass         = "AzureServices"
    ip_rules       = ["203.0.113.0/24"]
  }
}

resource "azurerm_key_vault_access_policy" "app" {
  key_vault_id = azurerm_key_vault.open.id
  tenant_id    = "33333333-3333-3333-3333-333333333333"
  object_id    = "44444444-4444-4444-4444-444444444444"

  key_permissions = ["Get", "UnwrapKey", "WrapKey", "Purge"]
}

resource "azurerm_key_vault_key" "weak" {
  name         = "weak-rsa"
  key_vault_id = azurerm_key_vault.legacy.id
  key_type     = "RSA"
  key_size     = 2048
  key_opts     = ["decrypt", "encrypt", "sign", "unwrapKey", "verify", "wrapKey"]
}

resource "azurerm_monitor_diagnostic_setting" "legacy" {
  name               = "kv-legacy-logs"
  target_resource_id = azurerm_key_vault.legacy.id
  storage_account_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-logs/providers/Microsoft.Storage/storageAccounts/stlogs"

  log {
    category = "AuditEvent"
    enabled  = true

    retention_policy {
      enabled = true
      days    = 30
    }
  }
}

resource "azurerm_private_endpoint" "manual" {
  name                = "pe-kv-open"
  location            = "eastus"
  resource_group_name = "rg-legacy"
  subnet_id           = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pe"

  private_service_connection {
    name                           = "kv-open-connection"
    private_connection_resource_id = azurerm_key_vault.open.id
    subresource_names              = ["vault"]
    is_manual_connection           = true
    request_message                = "please approve"
  }
}

resource "azurerm_role_assignment" "sub_admin" {
  scope                = data.azurerm_subscription.primary.id
  role_definition_name = "Key Vault Administrator"
  principal_id         = "55555555-5555-5555-5555-555555555555"
}

resource "azurerm_role_assignment" "rg_owner" {
  scope              = azurerm_resource_group.rg.id
  role_definition_id = "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
  principal_id       = "66666666-6666-6666-6666-666666666666"
}

resource "azurerm_cosmosdb_account" "db" {
  name                = "cosmos-legacy"
  location            = "eastus"
  resource_group_name = "rg-legacy"
  offer_type          = "Standard"
  key_vault_key_id    = azurerm_key_vault_key.weak.versionless_id

  consistency_policy {
    consistency_level = "Session"
  }

  geo_location {
    location          = "eastus"
    failover_priority = 0
  }
}

resource "azurerm_kubernetes_cluster" "aks" {
  name                = "aks-legacy"
  location            = "eastus"
  resource_group_name = "rg-legacy"
  dns_prefix          = "aks"

  key_management_service {
    key_vault_key_id         = "https://kv-legacy-app.vault.azure.net/keys/weak-rsa/0123456789abcdef0123456789abcdef"
    key_vault_network_access = "Public"
  }
}
