import { assertMayListMembers } from '../auth/membershipVisibility';
import type { DirectoryObjectDocument } from '../directory/directoryObjects';
import type { DirectoryRepository } from '../directory/directoryRepository';
import { parseObjectId } from '../directory/directoryService';
import { isEventual, readCount } from '../graph/directoryQuery';
import { listContext } from '../graph/entityResults';
import { nextLinkOf, pick, readPaging, selectOf } from '../graph/listing';
import { readQueryOptions } from '../http/queryOptions';
import { parseBody } from '../graph/validation';
import { GraphError } from '../http/errors';
import type { GraphRequest } from '../http/pipeline';
import type { GraphResult } from '../http/responses';
import type { MembershipRepository } from './membershipRepository';
import { readGroups, transitiveGroupIds, transitiveMemberOf, transitiveMembers, visibleToCaller, type TransitiveSubject } from './transitive';
import { checkMemberGroupsSchema, checkMemberObjectsSchema, getMemberGroupsSchema } from './transitiveSchemas';

/** Options a transitive list takes (SPEC 7: casts, $count, $top, paging; $select as other lists). */
const transitiveOptions = new Set(['$top', '$skiptoken', '$select', '$count']);

/** Graph's limit on checkMemberGroups and checkMemberObjects. */
export const maxCheckedIds = 20;

interface TransitiveQuery {
  readonly top: number;
  /** The last id of the previous page: pages are by id, so a change between pages skips or repeats nothing else. */
  readonly after?: string;
  readonly objectType?: 'user' | 'group';
  readonly select?: readonly string[];
  readonly count: boolean;
  readonly countOnly: boolean;
}

/** Reads a transitive list request (the route's `cast` and `count` segments as on direct relations). */
export function readTransitiveQuery(request: GraphRequest): TransitiveQuery {
  const params = request.request.params;
  const castText = params.cast?.toLowerCase();
  if (castText === '$count' && params.count !== undefined) throw new GraphError('NotFound', "Resource not found for the segment '$count'.");
  const countSegment = castText === '$count' || params.count !== undefined;
  const cast = castText?.replace(/^microsoft\./, '');
  const objectType = cast === 'graph.user' ? 'user' : cast === 'graph.group' ? 'group' : undefined;
  const query = readQueryOptions(request.request, transitiveOptions);
  const { top, continuationToken } = readPaging(query);
  const select = selectOf(query);
  const count = readCount(query, isEventual(request), countSegment);
  return {
    top,
    ...(continuationToken === undefined ? {} : { after: continuationToken }),
    ...(objectType === undefined ? {} : { objectType }),
    ...(select === undefined ? {} : { select }),
    count,
    countOnly: countSegment,
  };
}

/** One page (or the count) of a whole transitive list, sorted by id. */
function answerList(request: GraphRequest, query: TransitiveQuery, all: readonly Record<string, unknown>[]): GraphResult {
  const typed = query.objectType === undefined ? all : all.filter((entity) => entity['@odata.type'] === `#microsoft.graph.${query.objectType}`);
  if (query.countOnly) return { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: String(typed.length) };
  const start = query.after === undefined ? 0 : typed.findIndex((entity) => String(entity.id) > query.after!);
  const from = start < 0 ? typed.length : start;
  const page = typed.slice(from, from + query.top);
  const body: Record<string, unknown> = { '@odata.context': listContext(request, query.objectType, query.select) };
  if (query.count) body['@odata.count'] = typed.length;
  body.value = page.map((entity) => (query.select === undefined ? entity : pick(entity, query.select)));
  const last = page.at(-1);
  if (from + query.top < typed.length && last !== undefined) body['@odata.nextLink'] = nextLinkOf(request, String(last.id));
  return { status: 200, body };
}

/** GET …/transitiveMemberOf for a user, a group or /me (the subject's existence checked by the caller). */
export async function answerTransitiveMemberOf(request: GraphRequest, directory: DirectoryRepository, memberships: MembershipRepository, subject: TransitiveSubject): Promise<GraphResult> {
  const query = readTransitiveQuery(request);
  return answerList(request, query, await transitiveMemberOf(directory, memberships, request.caller, subject));
}

/** GET /groups/{id}/transitiveMembers: 403 for a hidden group the caller may not look into, as direct members. */
export async function answerTransitiveMembers(request: GraphRequest, memberships: MembershipRepository, group: DirectoryObjectDocument): Promise<GraphResult> {
  const query = readTransitiveQuery(request);
  await assertMayListMembers(memberships, request.caller, group);
  return answerList(request, query, await transitiveMembers(memberships, request.caller, group.id));
}

export type MemberAction = 'checkmembergroups' | 'checkmemberobjects' | 'getmembergroups' | 'getmemberobjects';

/** The ids a check asks about: GUIDs, at most 20, each once. Read before the store is asked. */
function checkedIds(request: GraphRequest, action: 'checkmembergroups' | 'checkmemberobjects'): string[] {
  const property = action === 'checkmembergroups' ? 'groupIds' : 'ids';
  const ids =
    action === 'checkmembergroups' ? parseBody(checkMemberGroupsSchema, request.body, 'checkMemberGroups').groupIds : parseBody(checkMemberObjectsSchema, request.body, 'checkMemberObjects').ids;
  if (ids.length > maxCheckedIds) throw new GraphError('Request_BadRequest', `The number of values for property '${property}' exceeds the maximum of ${maxCheckedIds}.`);
  return [...new Set(ids.map(parseObjectId))];
}

/** Reads an action's body: a 400 before the store is asked. */
export function readMemberAction(request: GraphRequest, action: MemberAction): { readonly ids?: readonly string[]; readonly securityEnabledOnly: boolean } {
  if (action === 'checkmembergroups' || action === 'checkmemberobjects') return { ids: checkedIds(request, action), securityEnabledOnly: false };
  return { securityEnabledOnly: parseBody(getMemberGroupsSchema, request.body, action === 'getmembergroups' ? 'getMemberGroups' : 'getMemberObjects').securityEnabledOnly === true };
}

/**
 * POST …/checkMemberGroups | checkMemberObjects | getMemberGroups | getMemberObjects (SPEC 7),
 * answered `{"value": [ids]}` as Graph. Only groups hold members here, so the objects of
 * checkMemberObjects and getMemberObjects are groups too. A check reads the groups it asks about
 * in the same round as the subject's direct groups: a user's check is two store rounds, a group's
 * one; a third only for hidden groups the caller needs owner or member checks for.
 */
export async function answerMemberAction(
  request: GraphRequest,
  directory: DirectoryRepository,
  memberships: MembershipRepository,
  subject: TransitiveSubject,
  input: ReturnType<typeof readMemberAction>,
): Promise<GraphResult> {
  const tenantId = request.caller.tenantId;
  let groups: DirectoryObjectDocument[];
  if (input.ids !== undefined) {
    const [ids, candidates] = await Promise.all([transitiveGroupIds(memberships, tenantId, subject), readGroups(directory, tenantId, input.ids)]);
    groups = candidates.filter((group) => ids.has(group.id));
  } else {
    groups = await readGroups(directory, tenantId, await transitiveGroupIds(memberships, tenantId, subject));
    if (input.securityEnabledOnly) groups = groups.filter((group) => group.entity.securityEnabled === true);
  }
  const visible = await visibleToCaller(memberships, request.caller, subject.id, groups);
  // checks keep the request's order; the lists go by id.
  const value = input.ids !== undefined ? input.ids.filter((id) => visible.some((group) => group.id === id)) : visible.map((group) => group.id).sort();
  return { status: 200, body: { '@odata.context': `${request.baseUrl}/${request.apiVersion}/$metadata#Collection(Edm.String)`, value } };
}
