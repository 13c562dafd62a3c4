import type { Caller } from '../auth/caller';
import { assertMayListMembers, countVisibleParents, withoutHiddenParents } from '../auth/membershipVisibility';
import type { DirectoryObjectDocument } from '../directory/directoryObjects';
import { listContext } from '../graph/entityResults';
import { nextLinkOf, pick } from '../graph/listing';
import type { RelationQuery } from '../graph/relationQuery';
import { graphErrors } from '../http/errors';
import type { GraphRequest } from '../http/pipeline';
import type { GraphResult } from '../http/responses';
import { edgeSelection, type EdgeSelection } from './edgeQuery';
import type { EdgePage, MembershipRepository } from './membershipRepository';

/**
 * Whose list, and the read that proves it exists (404 otherwise): a group (members, owners, with
 * its document for the visibility rule; memberOf) or a user (memberOf). The read is a promise so
 * that the page's query runs beside it (one round): the page is answered only once it resolves.
 */
export type RelationSubject =
  | { readonly relation: 'members' | 'owners'; readonly id: string; readonly group: Promise<DirectoryObjectDocument> }
  | { readonly relation: 'memberOf'; readonly id: string; readonly exists: Promise<unknown> };

/** The subject's read, settled: throws its 404 before anything of the page is used. */
const subjectReady = (subject: RelationSubject): Promise<unknown> => (subject.relation === 'memberOf' ? subject.exists : subject.group);

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
    if (this.subject.relation === 'members') await assertMayListMembers(this.memberships, this.caller, await this.subject.group);
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
  const selection = edgeSelection(request.caller.tenantId, subject.relation, subject.id, query);
  // The subject's read, the page (or count) and the tenant's pending deletions in one round; the
  // answer waits for the subject's 404 and the visibility rule before it uses anything read.
  if (query.countOnly) {
    const counted = reader.count(selection);
    counted.catch(() => undefined);
    await subjectReady(subject);
    await reader.assertMayRead();
    return { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: String(await counted) };
  }
  const read = reader.page(selection, query.top, query.continuationToken);
  read.catch(() => undefined);
  await subjectReady(subject);
  await reader.assertMayRead();
  const page = await read;
  // The subject may come from a remembered copy (relationSubjectOf): the pending deletions read
  // beside the page say whether it is being deleted.
  if (page.pendingDeletions?.has(subject.id) === true) throw graphErrors.resourceNotFound(subject.id);
  // A first page that holds every match is its own count: no second query.
  const count = !query.count ? undefined : query.continuationToken === undefined && page.continuationToken === undefined ? page.edges.length : await reader.count(selection);
  const body: Record<string, unknown> = { '@odata.context': listContext(request, query.objectType, query.select) };
  if (count !== undefined) body['@odata.count'] = count;
  body.value = page.edges.map((edge) => (query.select === undefined ? edge.far : pick(edge.far, query.select)));
  if (page.continuationToken !== undefined) body['@odata.nextLink'] = nextLinkOf(request, page.continuationToken);
  return { status: 200, body };
}
