import type { ObjectType } from '../directory/directoryObjects';
import { GraphError, graphErrors } from '../http/errors';
import type { GraphRequest } from '../http/pipeline';
import type { GraphResult } from '../http/responses';
import type { EdgePage, ListEdgesOptions } from '../membership/membershipRepository';

const defaultPageSize = 100;
const supportedOptions = new Set(['$top', '$skiptoken', '$select']);

/** $top, $skiptoken and a type-cast segment, read from a list request. */
export function readListOptions(request: GraphRequest): ListEdgesOptions & { select?: readonly string[] } {
  // OData option names are case-insensitive ($TOP is $top).
  const query = new Map<string, string>();
  for (const [name, value] of request.request.query) {
    const option = name.toLowerCase();
    if (option.startsWith('$') && !supportedOptions.has(option)) {
      throw new GraphError('BadRequest', `Query option '${name}' is not supported on this resource.`);
    }
    query.set(option, value);
  }
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
  const cast = request.request.params.cast?.toLowerCase();
  const objectType: ObjectType | undefined = cast === 'microsoft.graph.user' ? 'user' : cast === 'microsoft.graph.group' ? 'group' : undefined;
  const select = query
    .get('$select')
    ?.split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  return {
    top,
    ...(continuationToken === undefined ? {} : { continuationToken }),
    ...(objectType === undefined ? {} : { objectType }),
    ...(select === undefined ? {} : { select }),
  };
}

/** A page of directory objects with @odata.context and, when there is more, @odata.nextLink. */
export function pageResult(request: GraphRequest, page: EdgePage, select?: readonly string[]): GraphResult {
  const url = new URL(request.request.url);
  const root = `${request.baseUrl}/${request.apiVersion}`;
  const value = page.edges.map((edge) => (select === undefined ? edge.far : pick(edge.far, select)));
  const body: Record<string, unknown> = { '@odata.context': `${root}/$metadata#directoryObjects`, value };
  if (page.continuationToken !== undefined) {
    const next = new URL(`${request.baseUrl}${url.pathname}`);
    for (const [name, optionValue] of url.searchParams) if (name.toLowerCase() !== '$skiptoken') next.searchParams.append(name, optionValue);
    next.searchParams.set('$skiptoken', Buffer.from(page.continuationToken, 'utf8').toString('base64url'));
    body['@odata.nextLink'] = next.toString();
  }
  return { status: 200, body };
}

function pick(entity: Readonly<Record<string, unknown>>, select: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = { '@odata.type': entity['@odata.type'], id: entity.id };
  for (const name of select) if (name in entity) picked[name] = entity[name];
  return picked;
}
