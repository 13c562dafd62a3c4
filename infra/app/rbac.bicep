// Data-plane rights of the app's user-assigned identity (identity.bicep). main.bicep deploys this
// module before the Function App, so the app's first start already has them.
//
// Built-in role definition ids:
// https://learn.microsoft.com/azure/role-based-access-control/built-in-roles

@description('The user-assigned identity that receives the roles (identity.bicep).')
param identityName string

@description('Host storage account (storage.bicep).')
param storageAccountName string

@description('Application Insights component (monitoring.bicep).')
param applicationInsightsName string

@description('Cosmos DB account (cosmos.bicep).')
param cosmosAccountName string

// What the Functions host needs on its AzureWebJobsStorage account when it connects with an
// identity and runs HTTP, timer and queue triggers:
// - Blob Data Owner: host keys, the timer's singleton locks and schedule status, and reading the
//   Flex deployment package (https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity);
// - Table Data Contributor: the host's diagnostic-events table, which it creates and writes and
//   otherwise logs a 403 every few minutes (Azure/azure-functions-host#10995, #10996);
// - Queue Data Contributor: the notification queue (storage.bicep): the app sends to it (the
//   outbox, and each retry), the queue trigger reads and deletes, and the host moves a failing
//   message to its -poison queue, which it creates
//   (https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#identity-based-connections).
var storageRoles = [
  {
    roleName: 'Storage Blob Data Owner'
    roleDefinitionId: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  }
  {
    roleName: 'Storage Table Data Contributor'
    roleDefinitionId: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  }
  {
    roleName: 'Storage Queue Data Contributor'
    roleDefinitionId: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  }
]

// Lets the identity publish telemetry to a component whose local (key) auth is disabled.
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

// Cosmos DB data-plane roles are not Azure RBAC roles: they are assigned on the account itself.
// 00000000-0000-0000-0000-000000000002 is the built-in "Cosmos DB Built-in Data Contributor"
// (read and write items, read metadata; no account or container management).
// https://learn.microsoft.com/azure/cosmos-db/how-to-setup-rbac
var cosmosDataContributorRoleId = '00000000-0000-0000-0000-000000000002'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: identityName
}

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource cosmosAccount 'Microsoft.DocumentDB/databaseAccounts@2025-04-15' existing = {
  name: cosmosAccountName
}

resource storageRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in storageRoles: {
    name: guid(storage.id, identity.id, role.roleDefinitionId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.roleDefinitionId)
      principalId: identity.properties.principalId
      // Set explicitly so a just-created identity does not fail the assignment while Entra ID
      // replicates it.
      principalType: 'ServicePrincipal'
      description: '${role.roleName} for the Functions host (identity-based AzureWebJobsStorage)'
    }
  }
]

resource monitoringMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, identity.id, monitoringMetricsPublisherRoleId)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'Monitoring Metrics Publisher: Entra ID-authenticated telemetry'
  }
}

resource cosmosDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2025-04-15' = {
  parent: cosmosAccount
  name: guid(cosmosAccount.id, identity.id, cosmosDataContributorRoleId)
  properties: {
    roleDefinitionId: '${cosmosAccount.id}/sqlRoleDefinitions/${cosmosDataContributorRoleId}'
    principalId: identity.properties.principalId
    scope: cosmosAccount.id
  }
}
