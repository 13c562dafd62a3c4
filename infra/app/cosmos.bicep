// Azure Cosmos DB for NoSQL, serverless, with its database and the two containers the app uses.
//
// - Serverless: pay per request unit, no provisioned throughput to size (and none may be set on
//   the database or containers below).
// - disableLocalAuth: account keys cannot be used at all, for data or metadata. The app reaches
//   the data plane only through its managed identity and the data-plane role in rbac.bicep; this
//   is why no COSMOS_KEY app setting exists.
// - Session consistency: a client reads its own writes, which the membership rules rely on when a
//   request checks and then writes.

@description('Cosmos DB account name: 3-44 lowercase letters, digits and hyphens, globally unique.')
@minLength(3)
@maxLength(44)
param accountName string

@description('Region of the account (serverless accounts have exactly one).')
param location string

@description('Tags applied to the account.')
param tags object

@description('Name of the SQL (NoSQL) database.')
param databaseName string

// Both containers use a synthetic partition key /pk (e.g. "{tid}|group|{id}") so that every read
// the API makes is a single-partition read. See DESIGN.md, "The membership-edge repository".
var containerNames = [
  'directory'
  'memberships'
]

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: accountName
  location: location
  tags: tags
  kind: 'GlobalDocumentDB' // the NoSQL API
  properties: {
    databaseAccountOfferType: 'Standard'
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    capabilities: [
      {
        name: 'EnableServerless'
      }
    ]
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    disableLocalAuth: true
    // Databases and containers are managed by this template, never by the app at runtime.
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Enabled'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
  }
}

resource containers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [
  for containerName in containerNames: {
    parent: database
    name: containerName
    properties: {
      resource: {
        id: containerName
        partitionKey: {
          paths: [
            '/pk'
          ]
          kind: 'Hash'
          version: 2
        }
        // TTL on, with no default expiry: only items that carry their own `ttl` expire (such as
        // the 24-hour idempotency records of SPEC.md section 4); everything else lives forever.
        defaultTtl: -1
      }
    }
  }
]

output accountName string = account.name
output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
