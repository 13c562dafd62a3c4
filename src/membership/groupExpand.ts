import type { Caller } from '../auth/caller';
import { assertMayListMembers } from '../auth/membershipVisibility';
import type { DirectoryObjectDocument } from '../directory/directoryObjects';
import { entityResult } from '../graph/entityResults';
import { maxExpanded, type GroupExpand } from '../graph/groupExpand';
import { pick } from '../graph/listing';
import type { GraphRequest } from '../http/pipeline';
import type { GraphResult } from '../http/responses';
import { edgeSelection } from './edgeQuery';
import type { MembershipRepository } from './membershipRepository';

/**
 * GET /groups/{id}?$expand=members|owners (SPEC 6): the group as GET /groups/{id} answers it
 * (`$select` included) plus the first 20 related objects under `members` or `owners`, each as a
 * list shows it (`@odata.type`, id, properties; a nested `$select` picks). One more query on the
 * relation's partition, capped at 20 items. A hidden group's members are refused to outsiders as
 * GET …/members refuses them (403), never answered as an empty list.
 */
export async function expandedGroupResult(
  request: GraphRequest,
  memberships: MembershipRepository,
  caller: Caller,
  group: DirectoryObjectDocument,
  select: readonly string[] | undefined,
  expand: GroupExpand,
): Promise<GraphResult> {
  if (expand.relation === 'members') await assertMayListMembers(memberships, caller, group);
  const page = await memberships.queryEdges(edgeSelection(group.tenantId, expand.relation, group.id, {}), { top: maxExpanded });
  const related = page.edges.map((edge) => (expand.select === undefined ? edge.far : pick(edge.far, expand.select)));
  const result = entityResult(request, group, select);
  const body = result.body as Record<string, unknown>;
  // Graph's context names the expanded property among the selected ones: `#groups(displayName,members())/$entity`.
  const root = `${request.baseUrl}/${request.apiVersion}`;
  const properties = [...(select ?? []), `${expand.relation}(${expand.select === undefined ? '' : expand.select.join(',')})`];
  return { ...result, body: { ...body, '@odata.context': `${root}/$metadata#groups(${properties.join(',')})/$entity`, [expand.relation]: related } };
}
