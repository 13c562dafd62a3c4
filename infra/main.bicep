// Entry point for `azd provision` / `azd up`: one resource group holding the membership API
// (Function App on Flex Consumption), its Cosmos DB account, host storage and monitoring.
// Subscription-scoped so that azd creates the resource group itself (rg-<environment name>).
//
// Nothing here holds a secret: every service-to-service call uses the app's user-assigned managed
// identity (app/identity.bicep), whose roles (app/rbac.bicep) are granted before the app exists.

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name (AZURE_ENV_NAME); names the resource group and seeds resource names.')
param environmentName string

@minLength(1)
@description('Region for all resources (AZURE_LOCATION). It must offer Flex Consumption: `az functionapp list-flexconsumption-locations`.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Tenants whose Entra ID tokens the API accepts: one GUID or a comma list (ENTRA_TENANT_ID). Empty means the tenant this deployment runs in.')
param entraTenantIds string = ''

@minLength(1)
@description('Accepted token audiences, comma list (ENTRA_AUDIENCE): api://{appId}, {appId} of the API\'s app registration.')
param entraAudience string

@description('Entra ID authority whose OpenID metadata lists the token signing keys (ENTRA_AUTHORITY). Empty means the login endpoint of the cloud this deployment runs in.')
param entraAuthority string = ''

@minLength(1)
@description('Cosmos DB database name (COSMOS_DATABASE).')
param cosmosDatabaseName string = 'membership'

var tags = {
  'azd-env-name': environmentName
}

// Stable per subscription + environment + region, so re-provisioning updates in place.
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))

// ENTRA_TENANT_ID must never reach the app empty (the app refuses to validate tokens without it,
// and locally an empty value means "use the development issuer"): default to the deploying tenant.
var allowedTenantIds = empty(entraTenantIds) ? tenant().tenantId : entraTenantIds

// The cloud's own login endpoint rather than a hard-coded public-cloud host (linter rule
// no-hardcoded-env-urls), so sovereign clouds work unchanged. It ends in '/', which the app strips.
var authority = empty(entraAuthority) ? environment().authentication.loginEndpoint : entraAuthority

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-api-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: 'app-package'
  }
}

module cosmos 'app/cosmos.bicep' = {
  name: 'cosmos'
  scope: rg
  params: {
    accountName: 'cosmos-${resourceToken}'
    location: location
    tags: tags
    databaseName: cosmosDatabaseName
  }
}

// Roles first, app second: the app module waits for them (dependsOn), so its first start, with
// identity-based host storage and Cosmos DB, already has the rights it needs.
module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    identityName: identity.outputs.name
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    cosmosAccountName: cosmos.outputs.accountName
  }
}

module api 'app/function-app.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: 'func-api-${resourceToken}'
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    identityName: identity.outputs.name
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabaseName: cosmos.outputs.databaseName
    entraAuthority: authority
    entraTenantIds: allowedTenantIds
    entraAudience: entraAudience
  }
  dependsOn: [
    rbac
  ]
}

// azd stores these in .azure/<env>/.env.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
// Graph clients use this as their base URL (routes are /v1.0/... and /beta/... under it).
output API_BASE_URL string = 'https://${api.outputs.defaultHostName}'
output COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output COSMOS_DATABASE string = cosmos.outputs.databaseName
