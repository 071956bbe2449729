environment = "prod"

vaults = {
  payments = {}
  legacy = {
    sku    = "standard"
    purge  = false
    public = true
    network_acls = {
      default_action = "Allow"
      bypass         = "AzureServices"
      ip_rules       = ["198.51.100.7/32"]
    }
  }
}
