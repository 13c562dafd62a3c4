// The API: a Linux Function App on the Flex Consumption plan, running Node.js 22.
//
// The app runs as a user-assigned managed identity (identity.bicep) and has no secrets in its
// settings: the deployment package, host storage, Cosmos DB and Application Insights are all reached
// with that identity, whose roles (rbac.bicep) exist before this app does. Callers are
// authenticated by the app itself (Entra ID bearer tokens, SPEC.md section 2), so App Service
// authentication ("Easy Auth") is left off and every HTTP function is anonymous at the host level.

@description('Function App name (also its default host name prefix).')
param name string

@description('Name of the Flex Consumption hosting plan.')
param planName string

@description('Region of the plan and the app; must offer Flex Consumption.')
param location string

@description('Tags applied to the plan and the app.')
param tags object

@description('Name of the user-assigned identity the app runs as (identity.bicep).')
param identityName string

@description('Name of the host storage account (storage.bicep).')
param storageAccountName string

@description('Blob container in that account holding the deployment package.')
param deploymentContainerName string

@description('Application Insights connection string (monitoring.bicep).')
param applicationInsightsConnectionString string

@description('Cosmos DB account endpoint (its documentEndpoint).')
param cosmosEndpoint string

@description('Cosmos DB database name.')
param cosmosDatabaseName string

@description('ENTRA_AUTHORITY: where token issuers publish their OpenID metadata.')
param entraAuthority string

@description('ENTRA_TENANT_ID: allowed tenant GUIDs, comma separated.')
param entraTenantIds string

@description('ENTRA_AUDIENCE: accepted token audiences, comma separated.')
param entraAudience string

// Node.js 20 reached end of life on 2026-04-30; the code still runs on 20 (package.json engines),
// which is what local machines may have.
// https://learn.microsoft.com/azure/azure-functions/supported-languages
@description('Node.js major version for the Flex runtime.')
param nodeVersion string = '22'

@description('Memory per instance, in MB (Flex offers 512, 2048 and 4096).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound on scale-out; also bounds the request-unit burst this app can put on serverless Cosmos DB.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: identityName
}

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true // Linux
  }
}

resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  // azd finds the app to deploy the `api` service (azure.yaml) to by this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          // Flex pulls the package from this container with the app's own identity (no SAS, no key).
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      // On Flex the runtime is chosen here; FUNCTIONS_WORKER_RUNTIME and
      // WEBSITE_NODE_DEFAULT_VERSION are rejected as app settings.
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      // Names the app reads: src/config/settings.ts (test/infra/infra.test.ts keeps the two in step).
      appSettings: [
        // Identity-based host storage: account name + managed identity instead of a connection
        // string, because the account does not accept shared keys; __clientId picks the
        // user-assigned identity (without it the host would look for a system-assigned one).
        // https://learn.microsoft.com/azure/azure-functions/functions-reference#common-properties-for-identity-based-connections
        {
          name: 'AzureWebJobsStorage__accountName'
          value: storage.name
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identity.properties.clientId
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: applicationInsightsConnectionString
        }
        // Send telemetry with the user-assigned identity (the component has local auth off).
        // https://learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication#environment-variable-configuration
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${identity.properties.clientId};Authorization=AAD'
        }
        {
          name: 'ENTRA_AUTHORITY'
          value: entraAuthority
        }
        {
          name: 'ENTRA_TENANT_ID'
          value: entraTenantIds
        }
        {
          name: 'ENTRA_AUDIENCE'
          value: entraAudience
        }
        // No COSMOS_KEY: its absence makes the app sign in with DefaultAzureCredential
        // (@azure/identity), and the account has local (key) auth disabled anyway. That credential
        // takes the user-assigned identity's client id from AZURE_CLIENT_ID by itself
        // (https://learn.microsoft.com/javascript/api/@azure/identity/defaultazurecredential).
        {
          name: 'AZURE_CLIENT_ID'
          value: identity.properties.clientId
        }
        {
          name: 'COSMOS_ENDPOINT'
          value: cosmosEndpoint
        }
        {
          name: 'COSMOS_DATABASE'
          value: cosmosDatabaseName
        }
      ]
    }
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
