// The Functions host's storage account (AzureWebJobsStorage), the blob container that the
// Flex Consumption plan deploys the app package from, and the change-notification queues.
//
// Shared keys are disabled: every client (the host, the Flex deployment, azd) authenticates with
// Entra ID, so there is no account key to leak or rotate. This is why the app settings use the
// identity-based AzureWebJobsStorage__accountName instead of a connection string.

@description('Storage account name: 3-24 lowercase letters and digits, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('Region of the account.')
param location string

@description('Tags applied to the account.')
param tags object

@description('Blob container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    // Portal and tooling default to Entra ID as well, rather than trying (and failing) with a key.
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// The change-notification queue (src/subscriptions/notificationQueue.ts) and the queue the
// Functions host moves a message to after maxDequeueCount failures (host.json). The app also
// creates them if missing; declared here so that a deployment shows them.
resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-06-01' = {
  parent: storage
  name: 'default'
}

resource notificationQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-06-01' = {
  parent: queueService
  name: 'graph-notifications'
}

resource notificationPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-06-01' = {
  parent: queueService
  name: 'graph-notifications-poison'
}

output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output deploymentContainerName string = deploymentContainer.name
