import { readDirectoryQuery } from '../graph/directoryQuery';
import { nextLinkOf, pick } from '../graph/listing';
import type { GraphRequest } from '../http/pipeline';
import type { GraphResult } from '../http/responses';
import { getRepositories } from '../store/repositories';
import { toGraphEntity, type ObjectType } from './directoryObjects';

const collectionOf = (objectType: ObjectType) => (objectType === 'user' ? 'users' : 'groups');

/**
 * GET /users, GET /groups and their `/$count` segment (SPEC 6): the query is read (and any bad
 * part refused) before the store is asked; a page is one query on the tenant's listing partition,
 * plus one count query with `$count=true` (directoryListing.ts). HiddenMembership hides who is in
 * a group, not the group: every group of the tenant is listed.
 */
export async function answerDirectoryList(request: GraphRequest, objectType: ObjectType, countOnly: boolean): Promise<GraphResult> {
  const query = readDirectoryQuery(request, objectType, countOnly);
  const { directory } = await getRepositories();
  const tenantId = request.caller.tenantId;
  if (countOnly) {
    const count = await directory.listing.count(tenantId, query);
    return { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: String(count) };
  }
  const page = await directory.listing.list(tenantId, query);
  const root = `${request.baseUrl}/${request.apiVersion}`;
  const selected = query.select === undefined ? '' : `(${query.select.join(',')})`;
  const body: Record<string, unknown> = { '@odata.context': `${root}/$metadata#${collectionOf(objectType)}${selected}` };
  if (page.count !== undefined) body['@odata.count'] = page.count;
  body.value = page.objects.map((object) => (query.select === undefined ? toGraphEntity(object) : pick(toGraphEntity(object), query.select)));
  if (page.continuationToken !== undefined) body['@odata.nextLink'] = nextLinkOf(request, page.continuationToken);
  return { status: 200, body };
}
