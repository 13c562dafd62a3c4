import { graphErrors } from '../http/errors';
import type { GraphRequest } from '../http/pipeline';
import { readQueryOptions } from '../http/queryOptions';

const defaultPageSize = 100;
const objectOptions = new Set(['$select']);

export function selectOf(query: ReadonlyMap<string, string>): string[] | undefined {
  return query
    .get('$select')
    ?.split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
}

/** $select on a single object (GET /users/{id}, /groups/{id}, /me). */
export function readObjectOptions(request: GraphRequest): { select?: readonly string[] } {
  const select = selectOf(readQueryOptions(request.request, objectOptions));
  return select === undefined ? {} : { select };
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
  // Property names are matched case-insensitively, as Graph does (`$select=DisplayName` answers
  // `displayName`); the entity's own spelling is what the answer carries.
  const wanted = new Set(select.map((name) => name.toLowerCase()));
  for (const [name, value] of Object.entries(entity)) if (wanted.has(name.toLowerCase())) picked[name] = value;
  return picked;
}
