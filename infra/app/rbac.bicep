// Role assignments for the Function App's system-assigned identity. They live in their own module,
// after the app exists, because the app's settings need the other resources (Cosmos DB endpoint,
// storage name) while these assignments need the app's principal id: putting them here avoids a
// dependency cycle.
//
// Built-in role definition ids:
// https://learn.microsoft.com/azure/role-based-access-control/built-in-roles

@description('The Function App whose system-assigned identity receives the roles.')
param functionAppName string

@description('Host storage account (storage.bicep).')
param storageAccountName string

@description('Application Insights component (monitoring.bicep).')
param applicationInsightsName string

@description('Cosmos DB account (cosmos.bicep).')
param cosmosAccountName string

// What the Functions host needs on its AzureWebJobsStorage account when connecting by identity;
// Blob Data Owner also covers reading the Flex deployment package.
var storageRoles = [
  {
    roleName: 'Storage Blob Data Owner'
    roleDefinitionId: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  }
  {
    roleName: 'Storage Queue Data Contributor'
    roleDefinitionId: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  }
  {
    roleName: 'Storage Table Data Contributor'
    roleDefinitionId: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  }
]

// Lets the identity publish telemetry to a component whose local (key) auth is disabled.
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

// Cosmos DB data-plane roles are not Azure RBAC roles: they are assigned on the account itself.
// 00000000-0000-0000-0000-000000000002 is the built-in "Cosmos DB Built-in Data Contributor"
// (read and write items; no account or container management).
// https://learn.microsoft.com/azure/cosmos-db/how-to-setup-rbac

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource cosmosAccount 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' existing = {
  name: cosmosAccountName
}

resource storageRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in storageRoles: {
    name: guid(storage.id, functionApp.id, role.roleDefinitionId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.roleDefinitionId)
      principalId: functionApp.identity.principalId
      // Set explicitly so a just-created identity does not fail the assignment while Entra ID
      // replicates it.
      principalType: 'ServicePrincipal'
      description: '${role.roleName} for the Functions host (identity-based AzureWebJobsStorage)'
    }
  }
]

resource monitoringMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, functionApp.id, monitoringMetricsPublisherRoleId)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
    description: 'Monitoring Metrics Publisher: Entra ID-authenticated telemetry'
  }
}

resource cosmosDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: cosmosAccount
  name: guid(cosmosAccount.id, functionApp.id, '00000000-0000-0000-0000-000000000002')
  properties: {
    roleDefinitionId: '${cosmosAccount.id}/sqlRoleDefinitions/00000000-0000-0000-0000-000000000002'
    principalId: functionApp.identity.principalId
    scope: cosmosAccount.id
  }
}
