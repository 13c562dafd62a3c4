import { GraphError } from '../http/errors';
import type { GraphRequest } from '../http/pipeline';
import { readQueryOptions } from '../http/queryOptions';
import { selectOf } from './listing';

/** `$expand=members` or `$expand=owners` on GET /groups/{id}, with an optional nested `$select`. */
export interface GroupExpand {
  readonly relation: 'members' | 'owners';
  readonly select?: readonly string[];
}

/**
 * Graph expands at most this many related objects and offers no paging of them
 * (https://learn.microsoft.com/graph/query-parameters#expand-parameter: "only 20 objects are returned").
 */
export const maxExpanded = 20;

const groupOptions = new Set(['$select', '$expand']);

/**
 * $select and $expand on GET /groups/{id} (SPEC 6). `members`, `owners` (any case, as Graph reads
 * navigation property names) and either with `($select=a,b)` are taken; any other value is a 400
 * naming it, never silently ignored (code that ignored it would conclude the group is empty).
 */
export function readGroupOptions(request: GraphRequest): { select?: readonly string[]; expand?: GroupExpand } {
  const query = readQueryOptions(request.request, groupOptions);
  const select = selectOf(query);
  const text = query.get('$expand');
  let expand: GroupExpand | undefined;
  if (text !== undefined) {
    const match = /^\s*(members|owners)\s*(?:\(\s*\$select\s*=\s*([^()]*)\))?\s*$/i.exec(text);
    if (match === null) throw new GraphError('BadRequest', `Expanding '${text}' is not supported on a group; use members or owners (one of them).`);
    const nested = match[2] === undefined ? undefined : selectOf(new Map([['$select', match[2]]]));
    expand = { relation: match[1]!.toLowerCase() === 'members' ? 'members' : 'owners', ...(nested === undefined ? {} : { select: nested }) };
  }
  return { ...(select === undefined ? {} : { select }), ...(expand === undefined ? {} : { expand }) };
}
