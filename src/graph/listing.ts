import type { ObjectType } from '../directory/directoryObjects';
import { GraphError, graphErrors } from '../http/errors';
import type { GraphRequest } from '../http/pipeline';
import type { GraphResult } from '../http/responses';
import type { EdgePage, ListEdgesOptions } from '../membership/membershipRepository';

const defaultPageSize = 100;
const listOptions = new Set(['$top', '$skiptoken', '$select']);
const objectOptions = new Set(['$select']);

/**
 * A request's OData query options by lower-cased name (option names are case-insensitive: $TOP
 * is $top); an option the route does not support is a 400 naming it, never silently ignored
 * (SPEC section 6), $expand included.
 */
export function readQueryOptions(request: GraphRequest, supported: ReadonlySet<string>): Map<string, string> {
  const query = new Map<string, string>();
  for (const [name, value] of request.request.query) {
    const option = name.toLowerCase();
    if (option.startsWith('$') && !supported.has(option)) {
      throw new GraphError('BadRequest', `Query option '${name}' is not supported on this resource.`);
    }
    query.set(option, value);
  }
  return query;
}

export function selectOf(query: ReadonlyMap<string, string>): string[] | undefined {
  return query
    .get('$select')
    ?.split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
}

/** $select on a single object (GET /users/{id}, /groups/{id}, /me). */
export function readObjectOptions(request: GraphRequest): { select?: readonly string[] } {
  const select = selectOf(readQueryOptions(request, objectOptions));
  return select === undefined ? {} : { select };
}

/** $top, $skiptoken, $select and a type-cast segment, read from a list request. */
export function readListOptions(request: GraphRequest): ListEdgesOptions & { select?: readonly string[] } {
  const query = readQueryOptions(request, listOptions);
  const { top, continuationToken } = readPaging(query);
  // microsoft.graph.user or, as the Kiota SDKs write it, graph.user.
  const cast = request.request.params.cast?.toLowerCase().replace(/^microsoft\./, '');
  const objectType: ObjectType | undefined = cast === 'graph.user' ? 'user' : cast === 'graph.group' ? 'group' : undefined;
  const select = selectOf(query);
  return {
    top,
    ...(continuationToken === undefined ? {} : { continuationToken }),
    ...(objectType === undefined ? {} : { objectType }),
    ...(select === undefined ? {} : { select }),
  };
}

/** $top (1–999, default 100) and $skiptoken (an opaque base64url continuation token) of a list. */
export function readPaging(query: ReadonlyMap<string, string>): { top: number; continuationToken?: string } {
  const topText = query.get('$top');
  let top = defaultPageSize;
  if (topText !== undefined) {
    top = /^\d{1,4}$/.test(topText) ? Number(topText) : Number.NaN;
    if (!(top >= 1 && top <= 999)) throw graphErrors.invalidPageSize(topText);
  }
  const skipToken = query.get('$skiptoken');
  let continuationToken: string | undefined;
  if (skipToken !== undefined) {
    continuationToken = Buffer.from(skipToken, 'base64url').toString('utf8');
    // Cosmos continuation tokens are printable ASCII; anything else never came from us.
    if (!/^[\x20-\x7e]+$/.test(continuationToken) || Buffer.from(continuationToken, 'utf8').toString('base64url') !== skipToken) {
      throw graphErrors.invalidSkipToken();
    }
  }
  return { top, ...(continuationToken === undefined ? {} : { continuationToken }) };
}

/** A page of directory objects with @odata.context and, when there is more, @odata.nextLink. */
export function pageResult(request: GraphRequest, page: EdgePage, select?: readonly string[]): GraphResult {
  const root = `${request.baseUrl}/${request.apiVersion}`;
  const value = page.edges.map((edge) => (select === undefined ? edge.far : pick(edge.far, select)));
  const body: Record<string, unknown> = { '@odata.context': `${root}/$metadata#directoryObjects`, value };
  if (page.continuationToken !== undefined) body['@odata.nextLink'] = nextLinkOf(request, page.continuationToken);
  return { status: 200, body };
}

/** The request's own URL with every option kept and `$skiptoken` set to the opaque continuation. */
export function nextLinkOf(request: GraphRequest, continuationToken: string): string {
  const url = new URL(request.request.url);
  const next = new URL(`${request.baseUrl}${url.pathname}`);
  for (const [name, optionValue] of url.searchParams) if (name.toLowerCase() !== '$skiptoken') next.searchParams.append(name, optionValue);
  next.searchParams.set('$skiptoken', Buffer.from(continuationToken, 'utf8').toString('base64url'));
  return next.toString();
}

/** The selected properties of an entity, with its type and id, as lists and single objects answer $select. */
export function pick(entity: Readonly<Record<string, unknown>>, select: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = { '@odata.type': entity['@odata.type'], id: entity.id };
  for (const name of select) if (name in entity) picked[name] = entity[name];
  return picked;
}
