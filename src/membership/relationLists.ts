import type { Caller } from '../auth/caller';
import { assertMayListMembers, countVisibleParents, withoutHiddenParents } from '../auth/membershipVisibility';
import type { DirectoryObjectDocument } from '../directory/directoryObjects';
import { nextLinkOf, pick } from '../graph/listing';
import type { RelationQuery } from '../graph/relationQuery';
import type { GraphRequest } from '../http/pipeline';
import type { GraphResult } from '../http/responses';
import { edgeSelection, type EdgeSelection } from './edgeQuery';
import type { EdgePage, MembershipRepository } from './membershipRepository';

/** Whose list: a group (members, owners, memberOf, with its document for the visibility rule) or a user (memberOf). */
export type RelationSubject = { readonly relation: 'members' | 'owners'; readonly group: DirectoryObjectDocument } | { readonly relation: 'memberOf'; readonly id: string };

const subjectIdOf = (subject: RelationSubject) => (subject.relation === 'memberOf' ? subject.id : subject.group.id);

/**
 * The visibility rules of SPEC 2 on one relation: a hidden group's members are refused (403) to
 * outsiders, counts included; memberOf pages and counts leave out the hidden groups the caller may
 * not see. Owners are visible to every reader, as in Graph.
 */
class RelationReader {
  constructor(
    private readonly memberships: MembershipRepository,
    private readonly caller: Caller,
    private readonly subject: RelationSubject,
  ) {}

  async assertMayRead(): Promise<void> {
    if (this.subject.relation === 'members') await assertMayListMembers(this.memberships, this.caller, this.subject.group);
  }

  async page(selection: EdgeSelection, top: number, continuationToken?: string): Promise<EdgePage> {
    const page = await this.memberships.queryEdges(selection, { top, ...(continuationToken === undefined ? {} : { continuationToken }) });
    return this.subject.relation === 'memberOf' ? withoutHiddenParents(this.memberships, this.caller, this.subject.id, page) : page;
  }

  count(selection: EdgeSelection): Promise<number> {
    return this.subject.relation === 'memberOf' ? countVisibleParents(this.memberships, this.caller, this.subject.id, selection) : this.memberships.countEdges(selection);
  }
}

/**
 * GET …/members | owners | memberOf | joinedGroups, cast or not, and their `/$count` segment
 * (SPEC 6), for a query read (src/graph/relationQuery.ts) before the store was asked. A page is one
 * query on the relation's partition; `$count=true` adds one aggregate query unless the first page
 * holds every match; `/$count` is that aggregate query alone (memberOf: see countVisibleParents).
 */
export async function answerRelationList(request: GraphRequest, query: RelationQuery, memberships: MembershipRepository, subject: RelationSubject): Promise<GraphResult> {
  const reader = new RelationReader(memberships, request.caller, subject);
  await reader.assertMayRead();
  const selection = edgeSelection(request.caller.tenantId, subject.relation, subjectIdOf(subject), query);
  if (query.countOnly) {
    return { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: String(await reader.count(selection)) };
  }
  const page = await reader.page(selection, query.top, query.continuationToken);
  // A first page that holds every match is its own count: no second query.
  const count = !query.count ? undefined : query.continuationToken === undefined && page.continuationToken === undefined ? page.edges.length : await reader.count(selection);
  const root = `${request.baseUrl}/${request.apiVersion}`;
  const body: Record<string, unknown> = { '@odata.context': `${root}/$metadata#directoryObjects` };
  if (count !== undefined) body['@odata.count'] = count;
  body.value = page.edges.map((edge) => (query.select === undefined ? edge.far : pick(edge.far, query.select)));
  if (page.continuationToken !== undefined) body['@odata.nextLink'] = nextLinkOf(request, page.continuationToken);
  return { status: 200, body };
}
