import type { Container, SqlParameter, SqlQuerySpec } from '@azure/cosmos';
import type { DirectoryQuery } from '../graph/directoryQuery';
import { filterPredicate, type FilterLeaves } from '../graph/filterSql';
import { GraphError, graphErrors } from '../http/errors';
import { toStoreFault } from '../store/storeFaults';
import type { DirectoryObjectDocument, ObjectType } from './directoryObjects';

/**
 * GET /users and GET /groups (issue 10, item 4). Objects live one per partition (point reads), so
 * listing them from there would be a cross-partition query whose cost grows with the tenant. Each
 * object therefore also has one compact listing document in its tenant's listing partition
 * `{tenantId}|list|users` or `{tenantId}|list|groups` (id = object id): the filterable and
 * sortable properties, case-folded (Entra compares them case-insensitively), and the entity to
 * answer with. A filtered page is one single-partition query on indexed paths (two with
 * `$count`), whatever the tenant's size.
 *
 * A PATCH rewrites the listing document right after the object (before it answers), a DELETE
 * removes it with the object (src/directory/objectLifecycle.ts); a PATCH cut short between the two
 * is finished by the reconciler's pass over pending updates.
 */
export interface ListingDocument {
  readonly id: string;
  readonly pk: string;
  readonly tenantId: string;
  readonly objectType: ObjectType;
  /** Case-folded keys: what $filter, $search and $orderby read (indexed). */
  readonly displayName: string;
  readonly mail: string | null;
  readonly mailNickname: string | null;
  readonly userPrincipalName: string | null;
  readonly securityEnabled: boolean | null;
  readonly mailEnabled: boolean | null;
  readonly groupTypes: readonly string[];
  /** The object's Graph properties, as its own document holds them (not indexed). */
  readonly entity: Readonly<Record<string, unknown>>;
}

export const listingPartitionKey = (tenantId: string, objectType: ObjectType): string => `${tenantId}|list|${objectType === 'user' ? 'users' : 'groups'}`;

/**
 * The listing document's filterable properties, by Graph name, and the Cosmos DB path each is
 * read from. Queries only ever name these (and `c.pk`), so they are the directory container's
 * indexed paths (src/store/cosmosStore.ts, infra/app/cosmos.bicep; test/infra checks all three).
 */
const columns: Readonly<Record<string, { readonly sql: string; readonly folded: boolean; readonly indexPath?: string }>> = {
  // Cosmos DB indexes `id` whatever the policy says (https://learn.microsoft.com/azure/cosmos-db/index-policy#include-exclude-strategy).
  id: { sql: 'c.id', folded: true },
  displayName: { sql: 'c.displayName', folded: true, indexPath: '/displayName/?' },
  mail: { sql: 'c.mail', folded: true, indexPath: '/mail/?' },
  mailNickname: { sql: 'c.mailNickname', folded: true, indexPath: '/mailNickname/?' },
  userPrincipalName: { sql: 'c.userPrincipalName', folded: true, indexPath: '/userPrincipalName/?' },
  securityEnabled: { sql: 'c.securityEnabled', folded: false, indexPath: '/securityEnabled/?' },
  mailEnabled: { sql: 'c.mailEnabled', folded: false, indexPath: '/mailEnabled/?' },
  groupTypes: { sql: 'c.groupTypes', folded: true, indexPath: '/groupTypes/[]/?' },
};

/** Every path a listing query reads, the partition key included. */
export const listingIndexedPaths: readonly string[] = ['/pk/?', ...Object.values(columns).flatMap((column) => (column.indexPath === undefined ? [] : [column.indexPath]))].sort();

const fold = (value: unknown): string | null => (typeof value === 'string' ? value.toLowerCase() : null);
const flag = (value: unknown): boolean | null => (typeof value === 'boolean' ? value : null);

export function toListingDocument(object: DirectoryObjectDocument): ListingDocument {
  const entity = object.entity;
  return {
    id: object.id,
    pk: listingPartitionKey(object.tenantId, object.objectType),
    tenantId: object.tenantId,
    objectType: object.objectType,
    displayName: fold(entity.displayName) ?? '',
    mail: fold(entity.mail),
    mailNickname: fold(entity.mailNickname),
    userPrincipalName: fold(entity.userPrincipalName),
    securityEnabled: flag(entity.securityEnabled),
    mailEnabled: flag(entity.mailEnabled),
    groupTypes: Array.isArray(entity.groupTypes) ? (entity.groupTypes as unknown[]).flatMap((type) => (typeof type === 'string' ? [type.toLowerCase()] : [])) : [],
    entity,
  };
}

function columnOf(property: string): { readonly sql: string; readonly folded: boolean } {
  const column = columns[property];
  // The parser only lets through properties of filterRules, all of which have a column.
  if (column === undefined) throw new GraphError('Request_UnsupportedQuery', `Unsupported property '${property}'.`);
  return column;
}

/**
 * The leaves of a filter on the listing documents: columns come from `columns`, never from the
 * request; the folded columns hold lower-cased copies, so values are lower-cased to match.
 */
const listingLeaves: FilterLeaves = {
  eq(property, value, parameter) {
    const column = columnOf(property);
    return `${column.sql} = ${parameter(column.folded && typeof value === 'string' ? value.toLowerCase() : value)}`;
  },
  startswith: (property, value, parameter) => `STARTSWITH(${columnOf(property).sql}, ${parameter(value.toLowerCase())})`,
  anyEq: (property, value, parameter) => `ARRAY_CONTAINS(${columnOf(property).sql}, ${parameter(value.toLowerCase())})`,
};

function whereOf(tenantId: string, query: DirectoryQuery): { where: string; parameters: SqlParameter[]; partitionKey: string } {
  const partitionKey = listingPartitionKey(tenantId, query.objectType);
  // The pk filter is redundant on Cosmos DB (the partitionKey option scopes the query) but the
  // embedded endpoint ignores that option, so the filter keeps both honest.
  const parameters: SqlParameter[] = [{ name: '@pk', value: partitionKey }];
  let where = 'c.pk = @pk';
  if (query.filter !== undefined) where += ` AND ${filterPredicate(query.filter, listingLeaves, parameters, 'p')}`;
  if (query.search !== undefined) {
    parameters.push({ name: '@search', value: query.search.toLowerCase() });
    where += ` AND CONTAINS(${columnOf('displayName').sql}, @search)`;
  }
  return { where, parameters, partitionKey };
}

export interface ListingPage {
  readonly objects: readonly Pick<DirectoryObjectDocument, 'id' | 'objectType' | 'entity'>[];
  readonly continuationToken?: string;
  readonly count?: number;
}

export class DirectoryListing {
  constructor(private readonly container: Container) {}

  /** Creates the object's listing document; a 409 means it is there already (a retried write). */
  async add(object: DirectoryObjectDocument): Promise<void> {
    try {
      await this.container.items.create(toListingDocument(object));
    } catch (error) {
      if ((error as { code?: unknown }).code !== 409) throw error;
    }
  }

  /** Writes the listing document of the object's current version (a PATCH). */
  async update(object: DirectoryObjectDocument): Promise<void> {
    await this.container.items.upsert(toListingDocument(object));
  }

  /** Deletes the object's listing document; true once it is gone (a 404 included). */
  async remove(object: DirectoryObjectDocument): Promise<boolean> {
    try {
      await this.container.item(object.id, listingPartitionKey(object.tenantId, object.objectType)).delete();
    } catch (error) {
      if ((error as { code?: unknown }).code !== 404) throw error;
    }
    return true;
  }

  async exists(tenantId: string, objectType: ObjectType, objectId: string): Promise<boolean> {
    const { resource } = await this.container.item(objectId, listingPartitionKey(tenantId, objectType)).read<ListingDocument>();
    return resource !== undefined;
  }

  /** The number of objects the query matches: one aggregate query on the listing partition. */
  async count(tenantId: string, query: DirectoryQuery): Promise<number> {
    const { where, parameters, partitionKey } = whereOf(tenantId, query);
    const { resources } = await this.container.items.query<number>({ query: `SELECT VALUE COUNT(1) FROM c WHERE ${where}`, parameters }, { partitionKey }).fetchAll();
    return resources.reduce((sum, value) => sum + value, 0);
  }

  /**
   * One page: a single query on the tenant's listing partition, plus a count query with `$count`
   * when the matches do not all fit the first page.
   */
  async list(tenantId: string, query: DirectoryQuery): Promise<ListingPage> {
    const { where, parameters, partitionKey } = whereOf(tenantId, query);
    const order = query.orderBy === undefined ? '' : ` ORDER BY c.displayName ${query.orderBy === 'desc' ? 'DESC' : 'ASC'}`;
    const spec: SqlQuerySpec = { query: `SELECT c.id, c.objectType, c.entity FROM c WHERE ${where}${order}`, parameters };
    let response;
    try {
      response = await this.container.items
        .query<ListingDocument>(spec, { partitionKey, maxItemCount: query.top, ...(query.continuationToken === undefined ? {} : { continuationToken: query.continuationToken }) })
        .fetchNext();
    } catch (error) {
      // A continuation token we did not issue fails in many ways, none of them the store's fault.
      if (query.continuationToken !== undefined && toStoreFault(error) === undefined) throw graphErrors.invalidSkipToken();
      throw error;
    }
    const more = response.continuationToken !== undefined && response.continuationToken !== null;
    // A first page that holds every match is its own count: no second query.
    const count = !query.count ? undefined : query.continuationToken === undefined && !more ? response.resources.length : await this.count(tenantId, query);
    return {
      objects: response.resources,
      ...(more ? { continuationToken: response.continuationToken } : {}),
      ...(count === undefined ? {} : { count }),
    };
  }
}
