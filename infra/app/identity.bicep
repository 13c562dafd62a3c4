// The app's user-assigned managed identity. It exists before the Function App, so its role
// assignments (rbac.bicep) are in place when the app first starts: with a system-assigned identity
// they could only be granted after the app was created, and the first start would meet 403s until
// they reached the data planes. The same identity reads the Flex deployment package, connects the
// Functions host to its storage, sends telemetry and signs in to Cosmos DB (function-app.bicep).
// https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to#configure-deployment-settings

@description('Name of the user-assigned managed identity.')
param name string

@description('Region of the identity.')
param location string

@description('Tags applied to the identity.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
