resource "azurerm_key_vault_managed_hardware_security_module" "hsm" {
  name                = "mhsm-shared"
  resource_group_name = "rg-hsm"
  location            = "westeurope"
  sku_name            = "Standard_B1"
  tenant_id           = "99999999-9999-9999-9999-999999999999"
  admin_object_ids    = ["aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"]
}

resource "azurerm_key_vault_managed_hardware_security_module_key" "soft" {
  name           = "wide-open"
  managed_hsm_id = azurerm_key_vault_managed_hardware_security_module.hsm.id
  key_type       = "RSA-HSM"
  key_size       = 2048
  key_opts       = ["decrypt", "encrypt", "sign", "unwrapKey", "verify", "wrapKey"]
}

resource "azurerm_key_vault_managed_hardware_security_module_role_assignment" "officer_root" {
  managed_hsm_id     = azurerm_key_vault_managed_hardware_security_module.hsm.id
  name               = "2e243909-064c-6ac3-84e9-1c8bf8d6ad20"
  scope              = "/"
  role_definition_id = "/Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/515eb02d-2335-4d2d-92f2-b1cbdf9c3778"
  principal_id       = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
}

resource "azurerm_key_vault_managed_hardware_security_module_role_assignment" "user_keys" {
  managed_hsm_id     = azurerm_key_vault_managed_hardware_security_module.hsm.id
  name               = "2e243909-064c-6ac3-84e9-1c8bf8d6ad21"
  scope              = "/keys"
  role_definition_id = "/Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/21dbd100-6940-42c2-9190-5d6cb909625b"
  principal_id       = "cccccccc-cccc-cccc-cccc-cccccccccccc"
}

resource "azurerm_key_vault_managed_hardware_security_module_role_assignment" "admin_too" {
  managed_hsm_id     = azurerm_key_vault_managed_hardware_security_module.hsm.id
  name               = "2e243909-064c-6ac3-84e9-1c8bf8d6ad22"
  scope              = "/"
  role_definition_id = "/Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/a290e904-7015-4bba-90c8-60543313cdb4"
  principal_id       = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
}

resource "azurerm_disk_encryption_set" "des" {
  name                = "des-hsm"
  resource_group_name = "rg-hsm"
  location            = "westeurope"
  key_vault_key_id    = azurerm_key_vault_managed_hardware_security_module_key.soft.id
}
