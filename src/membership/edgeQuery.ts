import type { SqlParameter } from '@azure/cosmos';
import type { ObjectType } from '../directory/directoryObjects';
import type { FilterNode } from '../graph/filter';
import { filterPredicate, type FilterLeaves } from '../graph/filterSql';
import { GraphError } from '../http/errors';
import { groupSidePartition, memberSidePartition, ownerPartition, type EdgeKind } from './edges';

/** The relation lists (SPEC 1 and 6); joinedGroups is memberOf. */
export type Relation = 'members' | 'owners' | 'memberOf';

/** The partition that holds one relation list of `subjectId`: one logical partition, whatever the list's size. */
export function relationPartition(tenantId: string, relation: Relation, subjectId: string): string {
  if (relation === 'members') return groupSidePartition(tenantId, subjectId);
  if (relation === 'owners') return ownerPartition(tenantId, subjectId);
  return memberSidePartition(tenantId, subjectId);
}

const edgeKindOf: Readonly<Record<Relation, EdgeKind>> = { members: 'member', owners: 'owner', memberOf: 'memberOf' };

/**
 * Which edges of one partition a relation list reads: the WHERE clause and its parameters. Built
 * here from the typed filter (src/graph/filter.ts), never from the caller's text: property paths
 * come from `farPaths`, every value the caller wrote travels as a parameter.
 */
export interface EdgeSelection {
  readonly partitionKey: string;
  readonly where: string;
  readonly parameters: readonly SqlParameter[];
}

/**
 * The far-object properties a relation `$filter` may name, and how each compares: strings
 * case-insensitively (Entra compares them so, as GET /users does), booleans as they are.
 *
 * None of these paths is indexed (the memberships container indexes /pk, /kind, /farType and
 * /tenantId only: src/store/cosmosStore.ts, infra/app/cosmos.bicep), on purpose: `c.pk = @pk` is
 * an index seek to one logical partition, the edges of one group or one member, and the far-object
 * predicates are evaluated on what that seek yields. The cost grows with that list's length, not
 * with the tenant, and indexing every snapshot property would add to the RU of every add
 * (issue 10: bytes and RU per add), which matters more than the occasional filtered relation list.
 * Query cost model: https://learn.microsoft.com/training/modules/choose-indexes-azure-cosmos-db-sql-api/2-index-usage
 */
const farPaths: Readonly<Record<string, { readonly sql: string; readonly folded: boolean }>> = {
  id: { sql: 'c.far.id', folded: true },
  displayName: { sql: 'c.far.displayName', folded: true },
  mail: { sql: 'c.far.mail', folded: true },
  mailNickname: { sql: 'c.far.mailNickname', folded: true },
  userPrincipalName: { sql: 'c.far.userPrincipalName', folded: true },
  securityEnabled: { sql: 'c.far.securityEnabled', folded: false },
  mailEnabled: { sql: 'c.far.mailEnabled', folded: false },
  groupTypes: { sql: 'c.far.groupTypes', folded: false },
};

/**
 * groupTypes values as Entra spells them. The snapshot keeps the stored spelling and ARRAY_CONTAINS
 * compares exactly, so `any(c:c eq 'unified')` is matched against the canonical spelling. (A
 * LOWER() inside an EXISTS subquery would fold any value, at the price of one more level of
 * parentheses for the embedded endpoint's slow PEG parser; see src/graph/filterSql.ts.)
 */
const groupTypeSpellings: Readonly<Record<string, string>> = { unified: 'Unified', dynamicmembership: 'DynamicMembership' };

function farPathOf(property: string): { readonly sql: string; readonly folded: boolean } {
  const path = farPaths[property];
  // The parser only lets through properties of the relation's FilterRules, all listed here.
  if (path === undefined) throw new GraphError('Request_UnsupportedQuery', `Unsupported property '${property}'.`);
  return path;
}

/**
 * The leaves of a filter on the far-object snapshot. LOWER and STARTSWITH with two arguments are
 * what both Cosmos DB and the embedded endpoint (@zeit/cosmosdb-query's builtin-functions.js has
 * no 3-argument STARTSWITH nor StringEquals) take; LOWER of a missing or null property is
 * undefined, which matches nothing, as in Cosmos DB.
 */
const snapshotLeaves: FilterLeaves = {
  eq(property, value, parameter) {
    const path = farPathOf(property);
    return path.folded && typeof value === 'string' ? `LOWER(${path.sql}) = ${parameter(value.toLowerCase())}` : `${path.sql} = ${parameter(value)}`;
  },
  startswith: (property, value, parameter) => `STARTSWITH(LOWER(${farPathOf(property).sql}), ${parameter(value.toLowerCase())})`,
  anyEq: (property, value, parameter) => `ARRAY_CONTAINS(${farPathOf(property).sql}, ${parameter(groupTypeSpellings[value.toLowerCase()] ?? value)})`,
};

/**
 * The edges of one partition, of one far type (a cast) and matching a filter. The pk filter is
 * redundant on Cosmos DB (the partitionKey option scopes the query) but the embedded endpoint
 * ignores that option, so the filter keeps both honest.
 */
export function edgeSelection(tenantId: string, relation: Relation, subjectId: string, options: { readonly objectType?: ObjectType; readonly filter?: FilterNode }): EdgeSelection {
  const partitionKey = relationPartition(tenantId, relation, subjectId);
  // The kind leaves out the other documents of the partition (the object's anchors: src/membership/anchors.ts).
  const parameters: SqlParameter[] = [
    { name: '@pk', value: partitionKey },
    { name: '@kind', value: edgeKindOf[relation] },
  ];
  let where = 'c.pk = @pk AND c.kind = @kind';
  if (options.objectType !== undefined) {
    parameters.push({ name: '@type', value: options.objectType });
    where += ' AND c.farType = @type';
  }
  if (options.filter !== undefined) where += ` AND ${filterPredicate(options.filter, snapshotLeaves, parameters, 'f')}`;
  return { partitionKey, where, parameters };
}

/** The same selection narrowed to edges whose far object is a HiddenMembership group. */
export function hiddenGroupsOf(selection: EdgeSelection): EdgeSelection {
  return {
    ...selection,
    where: `${selection.where} AND c.farType = 'group' AND c.far.visibility = @hidden`,
    parameters: [...selection.parameters, { name: '@hidden', value: 'HiddenMembership' }],
  };
}
