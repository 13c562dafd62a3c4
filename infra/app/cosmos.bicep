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
//
// Each container indexes only the paths some query filters on, and nothing else: the default
// policy indexes every path of every item, which here would mean every property of every far-object
// snapshot (`far`) on every edge write, paid in request units and never used. `id` and `_ts` are
// indexed whatever the policy says; a point read by id and partition key needs no index at all.
// https://learn.microsoft.com/azure/cosmos-db/index-policy#include-exclude-strategy
var containers = [
  {
    // Users, groups and the userPrincipalName claims are only read by id and partition key
    // (src/directory/directoryRepository.ts). GET /users and /groups query the listing documents,
    // one partition per tenant and type (src/directory/directoryListing.ts; test/infra checks this
    // list against it), on pk and the properties SPEC 6 filters and sorts on; groupTypes is
    // matched by element (ARRAY_CONTAINS), hence `[]`. The entity snapshot is not indexed.
    name: 'directory'
    includedPaths: [
      {
        path: '/pk/?'
      }
      {
        path: '/displayName/?'
      }
      {
        path: '/mail/?'
      }
      {
        path: '/mailNickname/?'
      }
      {
        path: '/userPrincipalName/?'
      }
      {
        path: '/securityEnabled/?'
      }
      {
        path: '/mailEnabled/?'
      }
      {
        path: '/groupTypes/[]/?'
      }
    ]
  }
  {
    // Membership edges. The queries (src/membership/membershipRepository.ts, reconciler.ts,
    // src/tools/checkConsistency.ts; test/infra checks this list against them) filter on:
    // - pk: list a partition (members, memberOf, owners), optionally with farType ($filter on type);
    // - kind: the reconciler's and the consistency check's cross-partition scans ('member'/'memberOf');
    // - tenantId: the consistency check limited to one tenant;
    // - objectId, groupId: the edges naming one object, across partitions (a deletion's final
    //   sweep, the owner edges a PATCH or DELETE of their owner must reach);
    // - atMs: change records written since a watermark (delta rounds, the notification outbox:
    //   src/changes/changeReads.ts).
    name: 'memberships'
    includedPaths: [
      {
        path: '/pk/?'
      }
      {
        path: '/kind/?'
      }
      {
        path: '/farType/?'
      }
      {
        path: '/tenantId/?'
      }
      {
        path: '/objectId/?'
      }
      {
        path: '/groupId/?'
      }
      {
        path: '/atMs/?'
      }
    ]
  }
]

resource account 'Microsoft.DocumentDB/databaseAccounts@2025-04-15' = {
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

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2025-04-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
  }
}

resource sqlContainers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2025-04-15' = [
  for container in containers: {
    parent: database
    name: container.name
    properties: {
      resource: {
        id: container.name
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
        indexingPolicy: {
          indexingMode: 'consistent'
          automatic: true
          includedPaths: container.includedPaths
          // Everything else, the far-object snapshots included.
          excludedPaths: [
            {
              path: '/*'
            }
          ]
        }
      }
    }
  }
]

output accountName string = account.name
output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
