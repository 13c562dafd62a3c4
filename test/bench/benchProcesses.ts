/**
 * The processes of `npm run bench`, one role each, so that every server's CPU time is its own:
 *   node benchProcesses.js cosmos     the embedded Cosmos endpoint, counting what reaches it
 *   node benchProcesses.js service    the local host over functions/catalog.ts (settings from env)
 *   node benchProcesses.js baseline   a bare node:http server doing the naive work with the same SDK
 * Each prints one JSON line {"url": …} when it listens, then answers "stats" on stdin with its own
 * CPU time (getrusage), resident size, heap in use and Cosmos request count ("stats-after-gc":
 * the same after a full garbage collection, when started with --expose-gc); the cosmos role adds, per
 * database, the requests it received and the writes among them with their body bytes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { CosmosClient } from '@azure/cosmos';
import { httpFunctions } from '../../functions/catalog';
import { startFunctionsHost } from '../../src/local/functionsHost';
import { scopeQueriesToPartitions } from '../../src/local/partitionScopedQueries';

let cosmosRequests = 0;

/** What the store received for one database, counted at its own HTTP server. */
export interface StoreCounts {
  requests: number;
  writes: number;
  writeBytes: number;
  /** Writes without a Content-Length (none expected: the SDK sends whole bodies). */
  unsizedWrites: number;
}

const storeCounts: Record<string, StoreCounts> = {};

/**
 * Counts one request at the store boundary. A write is a POST, PUT, PATCH or DELETE that is not a
 * query: the SDK POSTs queries and query plans too, marked by `x-ms-documentdb-isquery` or
 * `x-ms-cosmos-is-query-plan-request` and the `application/query+json` content type
 * (https://learn.microsoft.com/rest/api/cosmos-db/query-documents); transactional batches are
 * POSTs of the whole batch body (`x-ms-cosmos-is-batch-request`), counted as one write of
 * their full size. Only headers are read, so the embedded server gets the body untouched.
 */
function meterStoreRequest(request: http.IncomingMessage): void {
  const database = /^\/dbs\/([^/]+)/.exec(request.url ?? '')?.[1];
  if (database === undefined) return;
  const counts = (storeCounts[decodeURIComponent(database)] ??= { requests: 0, writes: 0, writeBytes: 0, unsizedWrites: 0 });
  counts.requests += 1;
  const headers = request.headers;
  const isQuery =
    String(headers['x-ms-documentdb-isquery']).toLowerCase() === 'true' ||
    headers['x-ms-cosmos-is-query-plan-request'] !== undefined ||
    String(headers['content-type']).startsWith('application/query+json');
  if (isQuery || !['POST', 'PUT', 'PATCH', 'DELETE'].includes(request.method ?? '')) return;
  counts.writes += 1;
  const length = headers['content-length'];
  if (length !== undefined) counts.writeBytes += Number(length);
  else if (request.method !== 'DELETE') counts.unsizedWrites += 1;
}

/** The embedded Cosmos endpoint (as src/local/embeddedStores.ts starts it), metered. */
async function startCosmos(): Promise<string> {
  const { createHttpServer } = require('@vercel/cosmosdb-server') as { createHttpServer: () => http.Server };
  const server = createHttpServer();
  scopeQueriesToPartitions(server);
  server.prependListener('request', meterStoreRequest);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function answerStats(): void {
  const lines = createInterface({ input: process.stdin });
  // The bench holds this pipe: when it exits (a failed run included), so does this process.
  lines.on('close', () => process.exit(0));
  lines.on('line', (line) => {
    const asked = line.trim();
    if (asked !== 'stats' && asked !== 'stats-after-gc') return;
    // A full collection first (node --expose-gc) tells a heap that keeps growing from one not yet collected.
    if (asked === 'stats-after-gc') (globalThis as { gc?: () => void }).gc?.();
    const cpu = process.cpuUsage();
    process.stdout.write(
      `${JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, rssBytes: process.memoryUsage().rss, heapBytes: process.memoryUsage().heapUsed, cosmosRequests, store: storeCounts })}\n`,
    );
  });
}

async function startService(): Promise<string> {
  const host = await startFunctionsHost({
    functions: httpFunctions,
    port: 0,
    logHandler: (_level, message, details) => {
      if (message === 'request') cosmosRequests += (details as { cosmosRequests?: number }).cosmosRequests ?? 0;
    },
  });
  return host.baseUrl;
}

/** The naive add and list: no token, no pipeline, no rules; just the SDK calls an add needs. */
async function startBaseline(): Promise<string> {
  // Requests are counted on the wire, as the service counts them (an SDK query is two: the
  // query plan and the query itself).
  const countRequests = {
    on: 'request' as const,
    plugin: (context: unknown, _node: unknown, next: (context: unknown) => Promise<unknown>) => {
      cosmosRequests += 1;
      return next(context);
    },
  };
  const client = new CosmosClient({
    endpoint: process.env.COSMOS_ENDPOINT ?? '',
    key: process.env.COSMOS_KEY ?? '',
    connectionPolicy: { enableEndpointDiscovery: false },
    plugins: [countRequests],
  } as ConstructorParameters<typeof CosmosClient>[0]);
  const database = client.database(process.env.COSMOS_DATABASE ?? '');
  const directory = database.container('directory');
  const memberships = database.container('memberships');
  const tenantId = process.env.BENCH_TENANT ?? '';
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const parts = (request.url ?? '').split('?')[0]!.split('/');
      const groupId = parts[3] ?? '';
      const work = async (): Promise<[number, string]> => {
        if (request.method === 'GET') {
          const pk = `${tenantId}|group|${groupId}`;
          const { resources } = await memberships.items
            .query({ query: 'SELECT * FROM c WHERE c.pk = @pk', parameters: [{ name: '@pk', value: pk }] }, { partitionKey: pk, maxItemCount: 100 })
            .fetchNext();
          return [200, JSON.stringify({ value: resources.map((edge: { far: unknown }) => edge.far) })];
        }
        const memberId = (JSON.parse(Buffer.concat(chunks).toString()) as { '@odata.id': string })['@odata.id'].split('/').pop() ?? '';
        const [group, member] = await Promise.all([
          directory.item(groupId, `${tenantId}|${groupId}`).read<{ entity: unknown }>(),
          directory.item(memberId, `${tenantId}|${memberId}`).read<{ entity: unknown }>(),
        ]);
        if (group.resource === undefined || member.resource === undefined) return [404, ''];
        const edge = { tenantId, groupId, objectId: memberId, createdDateTime: new Date().toISOString() };
        await Promise.all([
          memberships.items.create({ ...edge, id: memberId, pk: `${tenantId}|group|${groupId}`, kind: 'member', far: member.resource.entity }),
          memberships.items.upsert({ ...edge, id: groupId, pk: `${tenantId}|member|${memberId}`, kind: 'memberOf', far: group.resource.entity }),
        ]);
        return [204, ''];
      };
      work().then(
        ([status, body]) => response.writeHead(status, { 'Content-Type': 'application/json' }).end(body),
        () => response.writeHead(500).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function main(): Promise<void> {
  const role = process.argv[2];
  const url = role === 'cosmos' ? await startCosmos() : role === 'service' ? await startService() : role === 'baseline' ? await startBaseline() : undefined;
  if (url === undefined) throw new Error(`unknown role '${role ?? ''}'`);
  answerStats();
  process.stdout.write(`${JSON.stringify({ url })}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

// Exit cleanly on SIGINT so that --cpu-prof can write its profile.
process.on('SIGINT', () => process.exit(0));
