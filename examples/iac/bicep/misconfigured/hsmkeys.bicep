param hsm string

resource signer 'Microsoft.KeyVault/managedHSMs/keys@2023-07-01' = {
  name: '${hsm}/signer'
  properties: {
    kty: 'EC-HSM'
    curveName: 'P-256K'
    keyOps: [
      'sign'
      'verify'
      'decrypt'
    ]
  }
}
