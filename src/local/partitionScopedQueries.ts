// The endpoint's private members (`_data`, `_set`, ...) are what this patches, and its methods
// are taken off the prototype to be called with `this` bound explicitly.
/* oxlint-disable no-underscore-dangle, typescript/unbound-method */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';

/**
 * Makes the embedded endpoint scope a query to the logical partition its request names, as
 * Cosmos DB does: a query sent with the partition key header (the SDK's `partitionKey` feed
 * option) reads only that partition ("Only documents in partitions containing the PartitionKey
 * [are] returned in the result",
 * https://learn.microsoft.com/dotnet/api/microsoft.azure.documents.client.feedoptions.partitionkey;
 * the header is `x-ms-documentdb-partitionkey`, @azure/cosmos common/constants.js).
 *
 * @vercel/cosmosdb-server 1.0.1 ignores that header and evaluates every query over every
 * document of the container (lib/account/items.js `query`: `[...this._data.values()]`), so a
 * query's cost there grew with the whole container: change records and anchors in other
 * partitions made the same 207 requests of the deepest nesting take 7.6 s instead of about 1 s.
 * Results are unchanged (every query here also filters on `pk`, which the endpoint requires):
 * only the documents evaluated are. Each partition's documents are kept in the container's own
 * order, so continuation tokens mean what they meant.
 *
 * Query plan requests read no documents either. @azure/cosmos 4.x asks for a query's plan beside
 * every query (queryIterator.js: `queryPlanPromise = this.fetchQueryPlan(...)`, header
 * `x-ms-cosmos-is-query-plan-request`) and uses it only when the query answers that it needs one
 * (`needsQueryPlan`; https://github.com/Azure/azure-sdk-for-js/issues/4978), which the embedded
 * endpoint never does. Cosmos DB's gateway derives a plan
 * from the query text; the embedded endpoint ran it as a query over the whole container, which
 * was most of the cost of every query there.
 */

/**
 * What the request being served may read, carried across the handler's awaits: one partition
 * (its key header, a JSON array) or, for a query plan, nothing.
 */
const requestScope = new AsyncLocalStorage<{ readonly partitionKeyHeader: string } | 'queryPlan'>();

const partitionKeyHeader = 'x-ms-documentdb-partitionkey';
const queryPlanHeader = 'x-ms-cosmos-is-query-plan-request';

interface EmbeddedItems {
  _data: Map<string, unknown>;
  _byPartition?: Map<string, Map<string, unknown>>;
  _partitionKeyPath: readonly string[];
  _getPartition(data: unknown): unknown;
  _item(keyPath: string, keyPathValue: unknown, partition: unknown): { read(): { _rid: string } | undefined };
  query(params: unknown, options: unknown): unknown;
  delete(idOrRid: string, partition: unknown): void;
  _set(data: { _rid: string }): unknown;
}

let installed = false;

/** Patches the endpoint's item store once per process; the patch only narrows what a query scans. */
function installPartitionIndex(): void {
  if (installed) return;
  installed = true;
  const Items = (require('@vercel/cosmosdb-server/lib/account/items') as { default: { prototype: EmbeddedItems } }).default;
  const { _set: set, delete: remove, query } = Items.prototype;
  const partitionOf = (items: EmbeddedItems, data: unknown): Map<string, unknown> => {
    items._byPartition ??= new Map();
    const key = JSON.stringify(items._getPartition(data) ?? null);
    let documents = items._byPartition.get(key);
    if (documents === undefined) {
      documents = new Map();
      items._byPartition.set(key, documents);
    }
    return documents;
  };

  Items.prototype._set = function (this: EmbeddedItems, data: { _rid: string }) {
    const result = set.call(this, data);
    // The same item object the container holds, appended as the container appends it.
    partitionOf(this, data).set(data._rid, this._data.get(data._rid));
    return result;
  };
  Items.prototype.delete = function (this: EmbeddedItems, idOrRid: string, partition: unknown) {
    const data = this._item('/id', idOrRid, partition).read();
    remove.call(this, idOrRid, partition);
    if (data !== undefined) partitionOf(this, data).delete(data._rid);
  };
  Items.prototype.query = function (this: EmbeddedItems, params: unknown, options: unknown) {
    const scope = requestScope.getStore();
    if (scope === undefined || (scope !== 'queryPlan' && this._partitionKeyPath.length === 0)) return query.call(this, params, options);
    const none = new Map<string, unknown>();
    const documents = scope === 'queryPlan' ? none : (this._byPartition?.get(JSON.stringify((JSON.parse(scope.partitionKeyHeader) as unknown[])[0] ?? null)) ?? none);
    // `query` is synchronous and reads `this._data` once, so swapping it in is confined to this call.
    const all = this._data;
    this._data = documents;
    try {
      return query.call(this, params, options);
    } finally {
      this._data = all;
    }
  };
}

/**
 * Re-registers the server's request listeners so each request runs with what it may read in
 * scope. A partition key header that is not a JSON array (never sent by the SDK) leaves the
 * query unscoped.
 */
export function scopeQueriesToPartitions(server: Server): void {
  installPartitionIndex();
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const serve = () => {
      for (const listener of listeners) listener(request, response);
    };
    const header = request.headers[partitionKeyHeader];
    if (String(request.headers[queryPlanHeader]).toLowerCase() === 'true') requestScope.run('queryPlan', serve);
    else if (typeof header === 'string' && isJsonArray(header)) requestScope.run({ partitionKeyHeader: header }, serve);
    else serve();
  });
}

function isJsonArray(text: string): boolean {
  try {
    return Array.isArray(JSON.parse(text));
  } catch {
    return false;
  }
}
