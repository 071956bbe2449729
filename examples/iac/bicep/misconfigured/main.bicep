param vaultName string = 'kv-legacy'
param objectIds array = [
  'aaaaaaaa-0000-0000-0000-000000000001'
  'aaaaaaaa-0000-0000-0000-000000000002'
]
param hsmName string = 'hsm-signing'

var allKeyPerms = [
  'all'
  'purge'
]

// kvaudit:ignore KV-NET-001 legacy vault, migration ticket OPS-42
resource kv 'Microsoft.KeyVault/vaults@2022-07-01' = {
  name: vaultName
  location: 'westeurope'
  properties: {
    tenantId: '22222222-2222-2222-2222-222222222222'
    sku: {
      family: 'A'
      name: 'standard'
    }
    softDeleteRetentionInDays: 7
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
      ipRules: [
        {
          value: '203.0.113.0/24'
        }
      ]
    }
    accessPolicies: [for id in objectIds: {
      tenantId: '22222222-2222-2222-2222-222222222222'
      objectId: id
      permissions: {
        keys: allKeyPerms
        secrets: [
          'get'
        ]
      }
    }]
  }
}

resource keys 'Microsoft.KeyVault/vaults/keys@2022-07-01' = [for i in range(0, 2): {
  parent: kv
  name: 'key${i}'
  properties: {
    kty: 'RSA'
    keySize: 2048
    attributes: {
      exportable: true
    }
  }
}]

resource hsm 'Microsoft.KeyVault/managedHSMs@2023-07-01' = {
  name: hsmName
  location: 'westeurope'
  sku: {
    family: 'B'
    name: 'Standard_B1'
  }
  properties: {
    tenantId: '22222222-2222-2222-2222-222222222222'
    initialAdminObjectIds: [
      'aaaaaaaa-0000-0000-0000-000000000001'
    ]
    enablePurgeProtection: false
    publicNetworkAccess: 'Enabled'
  }
}

module hsmKeys 'hsmkeys.bicep' = {
  name: 'hsm-keys'
  params: {
    hsm: hsmName
  }
}

resource rgAdmin 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: 'rg-admin'
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '00482a5a-887f-4fb3-b363-3b7fe8e74483')
    principalId: 'aaaaaaaa-0000-0000-0000-000000000003'
  }
}

resource diag 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'metrics-only'
  scope: kv
  properties: {
    storageAccountId: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/logs/providers/Microsoft.Storage/storageAccounts/logs'
    logs: [
      {
        category: 'AuditEvent'
        enabled: false
        retentionPolicy: {
          enabled: true
          days: 30
        }
      }
    ]
  }
}

resource pe 'Microsoft.Network/privateEndpoints@2023-04-01' = {
  name: 'pe-manual'
  location: 'westeurope'
  properties: {
    manualPrivateLinkServiceConnections: [
      {
        name: 'manual'
        properties: {
          privateLinkServiceId: kv.id
          groupIds: [
            'vault'
          ]
        }
      }
    ]
  }
}

resource st 'Microsoft.Storage/storageAccounts@2023-01-01' = {
  name: 'stcmk'
  location: 'westeurope'
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    encryption: {
      keySource: 'Microsoft.Keyvault'
      keyvaultproperties: {
        keyvaulturi: kv.properties.vaultUri
        keyname: 'key0'
        keyversion: '0123456789abcdef0123456789abcdef'
      }
    }
  }
}

resource aks 'Microsoft.ContainerService/managedClusters@2024-02-01' = {
  name: 'aks'
  location: 'westeurope'
  properties: {
    securityProfile: {
      azureKeyVaultKms: {
        enabled: true
        keyId: 'https://kv-legacy.vault.azure.net/keys/key1'
      }
    }
  }
}
