param location string = resourceGroup().location
param tenantId string = subscription().tenantId
param keyVaultName string = 'kv-contoso-prod'
param keyName string = 'cmk'
param workspaceId string = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/logs/providers/Microsoft.OperationalInsights/workspaces/law'
param subnetId string = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pe'
param principalId string = '11111111-1111-1111-1111-111111111111'

var cryptoUser = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '12338af0-0e69-4776-bea7-57ae8d297424')

module vault './vault.bicep' = {
  name: 'vault'
  params: {
    keyVaultName: keyVaultName
    keyName: keyName
    location: location
    tenantId: tenantId
  }
}

resource kv 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource key 'Microsoft.KeyVault/vaults/keys@2023-07-01' existing = {
  parent: kv
  name: keyName
}

resource diag 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit'
  scope: kv
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

resource pe 'Microsoft.Network/privateEndpoints@2023-04-01' = {
  name: '${keyVaultName}-pe'
  location: location
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: 'vault'
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

resource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(kv.id, principalId, cryptoUser)
  scope: key
  properties: {
    roleDefinitionId: cryptoUser
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource des 'Microsoft.Compute/diskEncryptionSets@2023-04-02' = {
  name: 'des'
  location: location
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    encryptionType: 'EncryptionAtRestWithCustomerKey'
    rotationToLatestKeyVersionEnabled: true
    activeKey: {
      sourceVault: {
        id: kv.id
      }
      keyUrl: key.properties.keyUri
    }
  }
}
