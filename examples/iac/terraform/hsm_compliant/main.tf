# Modelled on the azurerm Managed HSM examples: activated security domain, keys scoped roles.
data "azurerm_client_config" "current" {}

resource "azurerm_key_vault_managed_hardware_security_module" "hsm" {
  name                          = "mhsm-signing"
  resource_group_name           = "rg-hsm"
  location                      = "westeurope"
  sku_name                      = "Standard_B1"
  tenant_id                     = data.azurerm_client_config.current.tenant_id
  admin_object_ids              = [data.azurerm_client_config.current.object_id]
  purge_protection_enabled      = true
  soft_delete_retention_days    = 90
  public_network_access_enabled = false

  network_acls {
    default_action = "Deny"
    bypass         = "None"
  }

  security_domain_key_vault_certificate_ids = [
    "https://kv-sd.vault.azure.net/certificates/sd1/0a",
    "https://kv-sd.vault.azure.net/certificates/sd2/0b",
    "https://kv-sd.vault.azure.net/certificates/sd3/0c",
  ]
  security_domain_quorum = 2
}

data "azurerm_key_vault_managed_hardware_security_module_role_definition" "crypto_user" {
  name           = "21dbd100-6940-42c2-9190-5d6cb909625b"
  managed_hsm_id = azurerm_key_vault_managed_hardware_security_module.hsm.id
}

resource "azurerm_key_vault_managed_hardware_security_module_role_definition" "signer" {
  name           = "7c0b3f4e-4e2c-4b7a-9e5d-1a2b3c4d5e6f"
  managed_hsm_id = azurerm_key_vault_managed_hardware_security_module.hsm.id
  role_name      = "Bootstrap Signer"
  description    = "Sign and verify only"

  permission {
    data_actions = [
      "Microsoft.KeyVault/managedHsm/keys/read/action",
      "Microsoft.KeyVault/managedHsm/keys/sign/action",
      "Microsoft.KeyVault/managedHsm/keys/verify/action",
    ]
    not_data_actions = []
  }
}

resource "azurerm_key_vault_managed_hardware_security_module_key" "bootstrap" {
  name           = "bootstrap-signer"
  managed_hsm_id = azurerm_key_vault_managed_hardware_security_module.hsm.id
  key_type       = "EC-HSM"
  curve          = "P-256"
  key_opts       = ["sign", "verify"]
  expiration_date = "2027-12-31T00:00:00Z"

  rotation_policy {
    automatic {
      time_after_creation = "P90D"
    }
    expire_after = "P180D"
  }
}

resource "azurerm_key_vault_managed_hardware_security_module_key" "kek" {
  name           = "envelope-kek"
  managed_hsm_id = azurerm_key_vault_managed_hardware_security_module.hsm.id
  key_type        = "oct-HSM"
  key_size        = 256
  key_opts        = ["wrapKey", "unwrapKey"]
  expiration_date = "2027-12-31T00:00:00Z"

  rotation_policy {
    automatic {
      time_before_expiry = "P30D"
    }
    expire_after = "P365D"
  }
}

resource "azurerm_key_vault_managed_hardware_security_module_role_assignment" "signer_user" {
  managed_hsm_id     = azurerm_key_vault_managed_hardware_security_module.hsm.id
  name               = "1e243909-064c-6ac3-84e9-1c8bf8d6ad22"
  scope              = "/keys/${azurerm_key_vault_managed_hardware_security_module_key.bootstrap.name}"
  role_definition_id = data.azurerm_key_vault_managed_hardware_security_module_role_definition.crypto_user.resource_manager_id
  principal_id       = "77777777-7777-7777-7777-777777777777"
}

resource "azurerm_key_vault_managed_hardware_security_module_role_assignment" "custom" {
  managed_hsm_id     = azurerm_key_vault_managed_hardware_security_module.hsm.id
  name               = "1e243909-064c-6ac3-84e9-1c8bf8d6ad23"
  scope              = "/keys/bootstrap-signer"
  role_definition_id = azurerm_key_vault_managed_hardware_security_module_role_definition.signer.resource_manager_id
  principal_id       = "88888888-8888-8888-8888-888888888888"
}

resource "azurerm_monitor_diagnostic_setting" "hsm" {
  name                       = "hsm-audit"
  target_resource_id         = azurerm_key_vault_managed_hardware_security_module.hsm.id
  log_analytics_workspace_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-logs/providers/Microsoft.OperationalInsights/workspaces/law-central"

  enabled_log {
    category = "AuditEvent"
  }
}

resource "azurerm_storage_account" "sa" {
  name                     = "stsigned"
  resource_group_name      = "rg-hsm"
  location                 = "westeurope"
  account_tier             = "Standard"
  account_replication_type = "LRS"

  customer_managed_key {
    managed_hsm_key_id        = azurerm_key_vault_managed_hardware_security_module_key.kek.versioned_id
    user_assigned_identity_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-hsm/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-sa"
  }
}

resource "azurerm_private_endpoint" "hsm" {
  name                = "pe-mhsm-signing"
  location            = "westeurope"
  resource_group_name = "rg-hsm"
  subnet_id           = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pe"

  private_service_connection {
    name                           = "mhsm-connection"
    private_connection_resource_id = azurerm_key_vault_managed_hardware_security_module.hsm.id
    subresource_names              = ["managedhsm"]
    is_manual_connection           = false
  }
}
