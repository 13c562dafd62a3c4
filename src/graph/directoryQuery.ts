import type { ObjectType } from '../directory/directoryObjects';
import { GraphError } from '../http/errors';
import type { GraphRequest } from '../http/pipeline';
import { parseFilter, type FilterNode, type FilterRules } from './filter';
import { readQueryOptions } from '../http/queryOptions';
import { readPaging, selectOf } from './listing';

/**
 * GET /users and GET /groups as one typed query, read once from the request (DESIGN.md: one
 * OData query reader; the repository takes the result, never the raw query string).
 */
export interface DirectoryQuery {
  readonly objectType: ObjectType;
  readonly top: number;
  readonly continuationToken?: string;
  readonly select?: readonly string[];
  readonly filter?: FilterNode;
  /** `$orderby=displayName [asc|desc]`. */
  readonly orderBy?: 'asc' | 'desc';
  /** `$search="displayName:…"`: the text to find in displayName (substring, case-insensitive). */
  readonly search?: string;
  /** `$count=true`, or the `/$count` segment (`countOnly`). */
  readonly count: boolean;
  readonly countOnly: boolean;
}

const listOptions = new Set(['$top', '$skiptoken', '$select', '$filter', '$orderby', '$search', '$count']);

/**
 * The longest `$search` value taken (quotes included). Graph documents none; 256 characters is
 * longer than any displayName Entra allows (256) plus its `displayName:` prefix would need to be
 * useful, and keeps the CONTAINS predicate's cost bounded.
 */
export const maxSearchLength = 256;

const strings = (...names: string[]) => Object.fromEntries(names.map((name) => [name, 'string' as const]));

export const filterRules: Readonly<Record<ObjectType, FilterRules>> = {
  user: { resource: 'User', eq: strings('id', 'displayName', 'mail', 'mailNickname', 'userPrincipalName'), startswith: ['displayName', 'mail', 'userPrincipalName', 'mailNickname'], any: [] },
  group: {
    resource: 'Group',
    eq: { ...strings('id', 'displayName', 'mail', 'mailNickname'), securityEnabled: 'boolean', mailEnabled: 'boolean' },
    startswith: ['displayName', 'mail', 'mailNickname'],
    any: ['groupTypes'],
  },
};

/** Whether the request opted into Graph's advanced queries (https://learn.microsoft.com/graph/aad-advanced-queries). */
export function isEventual(request: GraphRequest): boolean {
  return request.request.headers.get('consistencylevel')?.trim().toLowerCase() === 'eventual';
}

function readOrderBy(text: string, eventual: boolean): 'asc' | 'desc' {
  const match = /^\s*(\S+)(?:\s+(asc|desc))?\s*$/i.exec(text);
  if (match === null || match[1]?.toLowerCase() !== 'displayname') {
    const property = match?.[1] ?? text;
    throw new GraphError('Request_UnsupportedQuery', `Unsupported sort property '${property}'; only displayName can be sorted on.`);
  }
  // Graph's answer to a sort without the advanced-query opt-in.
  if (!eventual) throw new GraphError('Request_UnsupportedQuery', 'Sorting not supported for current query.');
  return match[2]?.toLowerCase() === 'desc' ? 'desc' : 'asc';
}

function readSearch(text: string, eventual: boolean): string {
  if (text.length > maxSearchLength) throw new GraphError('Request_BadRequest', `The $search value is longer than ${maxSearchLength} characters.`);
  // One clause: a quote inside it would be a second clause ("displayName:a" OR "displayName:b"),
  // which read as one text matched nothing and answered an empty page; combining clauses is not
  // supported, so it is the 400.
  const match = /^"([^":]+):([^"]*)"$/s.exec(text.trim());
  if (match === null) throw new GraphError('Request_BadRequest', `Invalid $search value '${text}': use "displayName:text".`);
  if (match[1]?.toLowerCase() !== 'displayname') throw new GraphError('Request_UnsupportedQuery', `Unsupported search property '${match[1] ?? ''}'; only displayName can be searched.`);
  if (!eventual) throw new GraphError('Request_UnsupportedQuery', "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'");
  return match[2] ?? '';
}

/**
 * `$count=true|false` or the `/$count` segment (`countOnly`): whether to count, or a 400. Shared by
 * every list, relations included (SPEC 6), so the answers stay the same everywhere.
 */
export function readCount(query: ReadonlyMap<string, string>, eventual: boolean, countOnly: boolean): boolean {
  const countText = query.get('$count')?.toLowerCase();
  if (countText !== undefined && countText !== 'true' && countText !== 'false') {
    throw new GraphError('Request_BadRequest', `Invalid value '${query.get('$count') ?? ''}' for $count: use true or false.`);
  }
  const count = countOnly || countText === 'true';
  // Graph's answer to $count (option or segment) without the advanced-query opt-in (microsoft-graph-docs-contrib#2716).
  if (count && !eventual) throw new GraphError('Request_BadRequest', '$count is not currently supported.');
  return count;
}

/** Reads GET /users or /groups (`countOnly`: the `/$count` segment) into a DirectoryQuery or a 400 naming the bad part. */
export function readDirectoryQuery(request: GraphRequest, objectType: ObjectType, countOnly: boolean): DirectoryQuery {
  const query = readQueryOptions(request.request, listOptions);
  const eventual = isEventual(request);
  const { top, continuationToken } = readPaging(query);
  const select = selectOf(query);
  const filterText = query.get('$filter');
  const filter = filterText === undefined ? undefined : parseFilter(filterText, filterRules[objectType]);
  const orderByText = query.get('$orderby');
  const orderBy = orderByText === undefined ? undefined : readOrderBy(orderByText, eventual);
  const searchText = query.get('$search');
  const search = searchText === undefined ? undefined : readSearch(searchText, eventual);
  const count = readCount(query, eventual, countOnly);
  return {
    objectType,
    top,
    ...(continuationToken === undefined ? {} : { continuationToken }),
    ...(select === undefined ? {} : { select }),
    ...(filter === undefined ? {} : { filter }),
    ...(orderBy === undefined ? {} : { orderBy }),
    ...(search === undefined ? {} : { search }),
    count,
    countOnly,
  };
}
