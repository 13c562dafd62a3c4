import { CosmosClient, type Container, type CosmosClientOptions, type Database } from '@azure/cosmos';
import { getServiceSettings, type ServiceSettings } from '../config/settings';
import { recordStoreRequest } from './storeMeter';

/** Containers the service uses; each is partitioned on the synthetic key `/pk`. */
export const containerNames = { directory: 'directory', memberships: 'memberships' } as const;
export const partitionKeyPath = '/pk';

/**
 * The only paths each container indexes: the ones queries filter on (the directory: objects are
 * read by id and partition key, and GET /users and /groups query the listing documents on the
 * properties SPEC 6 filters and sorts on, src/directory/directoryListing.ts, groupTypes by array
 * element; memberships: a partition, optionally by far type; the reconciler's and
 * the consistency check's scans by kind and tenant; the edges naming one object, by objectId and
 * groupId, for a deletion's sweep and a PATCH's owner snapshots). Everything else, the far-object snapshots
 * included, is excluded, so writes pay no index RU for it. infra/app/cosmos.bicep declares the
 * same policy for Azure, and test/infra checks that both match the queries in src/.
 */
export const indexedPaths: Readonly<Record<keyof typeof containerNames, readonly string[]>> = {
  directory: ['/displayName/?', '/groupTypes/[]/?', '/mail/?', '/mailEnabled/?', '/mailNickname/?', '/pk/?', '/securityEnabled/?', '/userPrincipalName/?'],
  memberships: ['/atMs/?', '/farType/?', '/groupId/?', '/kind/?', '/objectId/?', '/pk/?', '/tenantId/?'],
};

export interface CosmosStore {
  readonly client: CosmosClient;
  readonly database: Database;
  readonly directory: Container;
  readonly memberships: Container;
}

// The SDK's `plugins` option is marked @hidden but is the only per-request hook it has; it lets
// telemetry and the benchmark count real round trips, retries included.
const meteringPlugin = {
  on: 'request' as const,
  plugin: async (context: unknown, diagnosticNode: unknown, next: (context: unknown) => Promise<{ headers?: Record<string, unknown> }>) => {
    void diagnosticNode;
    try {
      const response = await next(context);
      recordStoreRequest(Number(response.headers?.['x-ms-request-charge'] ?? 0));
      return response;
    } catch (error) {
      const headers = (error as { headers?: Record<string, unknown> }).headers;
      recordStoreRequest(Number(headers?.['x-ms-request-charge'] ?? 0));
      throw error;
    }
  },
};

function createCredential(): CosmosClientOptions['aadCredentials'] {
  // Loaded only when no key is configured: @azure/identity is heavy and local runs never need it.
  const { DefaultAzureCredential } = require('@azure/identity') as typeof import('@azure/identity');
  return new DefaultAzureCredential();
}

export async function createCosmosStore(settings: ServiceSettings): Promise<CosmosStore> {
  const options: CosmosClientOptions & { plugins: unknown[] } = {
    endpoint: settings.cosmosEndpoint,
    connectionPolicy: {
      // A request that outlives the function's budget is worse than a quick 503 with Retry-After.
      requestTimeout: 5_000,
      retryOptions: { maxRetryAttemptCount: 3, maxWaitTimeInSeconds: 3 },
      enableEndpointDiscovery: !isLoopbackEndpoint(settings.cosmosEndpoint),
    },
    plugins: [meteringPlugin],
  };
  if (settings.cosmosKey !== undefined) options.key = settings.cosmosKey;
  else options.aadCredentials = createCredential();
  const client = new CosmosClient(options);
  const database = client.database(settings.cosmosDatabase);
  return {
    client,
    database,
    directory: database.container(containerNames.directory),
    memberships: database.container(containerNames.memberships),
  };
}

function isLoopbackEndpoint(endpoint: string): boolean {
  const { hostname } = new URL(endpoint);
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

let storePromise: Promise<CosmosStore> | undefined;

/** The process's one Cosmos client and its containers, created on first use. */
export function getCosmosStore(): Promise<CosmosStore> {
  storePromise ??= createCosmosStore(getServiceSettings()).catch((error: unknown) => {
    storePromise = undefined;
    throw error;
  });
  return storePromise;
}

/**
 * Creates the database and containers when missing. In Azure the Bicep template owns them (and
 * the app's identity has data-plane rights only); the local host and tests call this.
 */
export async function ensureCosmosResources(store: CosmosStore): Promise<void> {
  await store.client.databases.createIfNotExists({ id: store.database.id });
  for (const [key, id] of Object.entries(containerNames) as [keyof typeof containerNames, string][]) {
    const indexingPolicy = { indexingMode: 'consistent' as const, automatic: true, includedPaths: indexedPaths[key].map((path) => ({ path })), excludedPaths: [{ path: '/*' }] };
    // defaultTtl -1: no default expiry, but items carrying their own `ttl` (change records,
    // src/changes/changeLog.ts) expire, as infra/app/cosmos.bicep declares for Azure.
    await store.database.containers.createIfNotExists({ id, partitionKey: { paths: [partitionKeyPath] }, indexingPolicy, defaultTtl: -1 });
  }
}
