import type { ObjectType } from '../directory/directoryObjects';
import { GraphError } from '../http/errors';
import type { GraphRequest } from '../http/pipeline';
import { filterRules, isEventual, readCount } from './directoryQuery';
import { parseFilter, type FilterNode, type FilterRules } from './filter';
import { readQueryOptions } from '../http/queryOptions';
import { readPaging, selectOf } from './listing';

/**
 * A relation list (members, owners, memberOf, joinedGroups) as one typed query, read once from the
 * request (SPEC 6: `$count`, the `/$count` segment and `$filter` on every relation list).
 */
export interface RelationQuery {
  readonly top: number;
  readonly continuationToken?: string;
  /** Only objects of this type (a Graph type-cast segment). */
  readonly objectType?: ObjectType;
  readonly select?: readonly string[];
  readonly filter?: FilterNode;
  /** `$count=true`, or the `/$count` segment (`countOnly`). */
  readonly count: boolean;
  readonly countOnly: boolean;
}

const relationOptions = new Set(['$top', '$skiptoken', '$select', '$filter', '$count']);

/**
 * What `$filter` may name on a list whose objects are users and groups alike (members, owners):
 * each property either type has, as GET /users and /groups take it; an object without the
 * property simply does not match.
 */
const directoryObjectRules: FilterRules = {
  resource: 'DirectoryObject',
  eq: { ...filterRules.user.eq, ...filterRules.group.eq },
  startswith: [...new Set([...filterRules.user.startswith, ...filterRules.group.startswith])],
  any: filterRules.group.any,
};

/** The `$filter` rules of a relation list: its cast's type, else the type it holds (`far`), else both. */
function rulesOf(objectType: ObjectType | undefined, far: ObjectType | 'any'): FilterRules {
  const type = objectType ?? (far === 'any' ? undefined : far);
  return type === undefined ? directoryObjectRules : filterRules[type];
}

/**
 * Reads a relation list request. The route's `cast` segment holds a type cast or `$count`, and an
 * optional `count` segment follows a cast (`/members/microsoft.graph.user/$count`); `far` is the
 * type every object of the list has ('group' for memberOf and joinedGroups here).
 */
export function readRelationQuery(request: GraphRequest, far: ObjectType | 'any'): RelationQuery {
  const params = request.request.params;
  const castText = params.cast?.toLowerCase();
  const countSegment = castText === '$count' || params.count !== undefined;
  // `/$count/$count` matches the route (both segments may hold `$count`) but is no resource.
  if (castText === '$count' && params.count !== undefined) throw new GraphError('NotFound', "Resource not found for the segment '$count'.");
  // microsoft.graph.user or, as the Kiota SDKs write it, graph.user.
  const cast = castText?.replace(/^microsoft\./, '');
  const objectType: ObjectType | undefined = cast === 'graph.user' ? 'user' : cast === 'graph.group' ? 'group' : undefined;
  const query = readQueryOptions(request.request, relationOptions);
  const { top, continuationToken } = readPaging(query);
  const select = selectOf(query);
  const filterText = query.get('$filter');
  const filter = filterText === undefined ? undefined : parseFilter(filterText, rulesOf(objectType, far));
  const count = readCount(query, isEventual(request), countSegment);
  return {
    top,
    ...(continuationToken === undefined ? {} : { continuationToken }),
    ...(objectType === undefined ? {} : { objectType }),
    ...(select === undefined ? {} : { select }),
    ...(filter === undefined ? {} : { filter }),
    count,
    countOnly: countSegment,
  };
}
