import type { Caller } from '../auth';
import { assertMayListMembers } from '../auth/membershipVisibility';
import { objectPartitionKey, odataTypeOf, toGraphEntity, type DirectoryObjectDocument } from '../directory/directoryObjects';
import { guidPattern } from '../config/settings';
import { selectOf } from '../graph/listing';
import { readQueryOptions } from '../http/queryOptions';
import { GraphError, graphErrors } from '../http/errors';
import type { GraphRequest } from '../http/pipeline';
import type { GraphResult } from '../http/responses';
import { edgeSelection } from '../membership/edgeQuery';
import type { Repositories } from '../store/repositories';
import { getCosmosStore } from '../store/cosmosStore';
import { isLifecycleChange, isMembershipChange, isOwnershipChange, type ChangeRecord } from './changeLog';
import { commitLagMs, listChangesSince } from './changeReads';

/**
 * GET /groups/delta (SPEC 9) over the change log (changeLog.ts).
 *
 * A round reads the tenant's records written after the token's watermark `w` (one query) and
 * answers each group they name as it is now (read afresh), with `members@delta` for the members
 * the records name, each in its state now: a member the group side holds is listed, one it does
 * not is `@removed` (one query per group and 100 members named). The records' order is never
 * used, so no ordering has to be kept when they are written (changeLog.ts). A group that is gone
 * is `@removed`. The next watermark is the round's start less commitLagMs, so a record that
 * committed late (its writer's clock before the watermark's) is still found; what changed in that
 * last minute is reported again next round, in its state then, which a client applies as it did
 * the first time (Graph's delta may repeat an entry too). A group with a lifecycle record (created,
 * changed, deleted) gets its whole member list (a group created with members bound lists them).
 *
 * Owners: `owners@delta` only with `$select` naming `owners`, as Graph tracks a group's other
 * directoryObject relationships only when they are selected ("track other changes, such as
 * ownership, by selecting any group relationship of type directoryObject collection":
 * https://learn.microsoft.com/graph/api/group-delta). Built like members@delta, from the owner
 * records (changeLog.ts ownerAdded, ownerRemoved), each owner in its state now (one point read of
 * its edge), every owner after a lifecycle record. Without owners selected, an owner record is
 * passed over: a group whose only changes are of its owners is not in the round (nothing that
 * client asked for changed), and a group that is in it for other records shows no owner change.
 *
 * The first round (no token) is the full state: every group (paged on the listing), each with
 * every member (and, with owners selected, every owner). Its deltaLink starts from the moment the
 * sync began (less the lag), so what changed while it paged is reported next: a client that
 * applies the sync and every round after it in order holds exactly what a direct read shows.
 *
 * Tokens are base64url JSON, opaque to clients, checked for their tenant; they carry $select and
 * the $filter ids. One older than 7 days is Graph's 410 with a Location to start again.
 */

/** The segment after /groups that names the delta function: `delta`, `delta()`, `microsoft.graph.delta[()]` (the SDKs' form). */
export function isDeltaSegment(segment: string): boolean {
  return /^(microsoft\.graph\.)?delta(\(\))?$/i.test(segment);
}

const deltaOptions = new Set(['$select', '$filter', '$deltatoken', '$skiptoken']);
const defaultPageSize = 100;
const maxFilterIds = 50;
export const deltaTokenLifetimeMs = 7 * 24 * 3600 * 1000;

interface Scope {
  readonly t: string;
  readonly sel?: readonly string[];
  readonly ids?: readonly string[];
}
type SyncState = Scope & { readonly p: 'sync'; readonly w: number; readonly c?: string; readonly i?: number };
type RoundState = Scope & { readonly p: 'round'; readonly w: number; readonly r: number; readonly after?: string };
type DeltaState = Scope & { readonly p: 'delta'; readonly w: number };

const encode = (state: SyncState | RoundState | DeltaState): string => Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');

function decode(token: string, tenantId: string, option: string): SyncState | RoundState | DeltaState {
  let state: unknown;
  try {
    state = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    state = undefined;
  }
  const candidate = state as Partial<RoundState> | Partial<SyncState> | Partial<DeltaState> | undefined;
  const wellFormed =
    typeof candidate === 'object' &&
    candidate !== null &&
    candidate.t === tenantId &&
    typeof candidate.w === 'number' &&
    (candidate.p === 'sync' || candidate.p === 'delta' || (candidate.p === 'round' && typeof candidate.r === 'number'));
  if (!wellFormed) {
    throw new GraphError('Request_BadRequest', `The ${option} is not valid.`);
  }
  return state as SyncState | RoundState | DeltaState;
}

/** `$filter=id eq '…' or id eq '…'`: the only filter Graph's group delta takes, up to 50 ids. */
function parseIdFilter(filter: string): string[] {
  const ids = filter.split(/\s+or\s+/i).map((clause) => /^\s*id\s+eq\s+'([^']*)'\s*$/i.exec(clause)?.[1]);
  if (ids.some((id) => id === undefined)) throw new GraphError('Request_UnsupportedQuery', "Unsupported filter: delta takes only 'id eq' clauses joined by 'or'.");
  if (ids.length > maxFilterIds) throw new GraphError('Request_BadRequest', `Too many ids in the filter: at most ${maxFilterIds}.`);
  for (const id of ids) if (!guidPattern.test(id!)) throw graphErrors.invalidObjectId(id!);
  return [...new Set(ids.map((id) => id!.toLowerCase()))];
}

/** `Prefer: odata.maxpagesize=n` (Graph's page size for delta), else 100. */
function pageSizeOf(request: GraphRequest): number {
  const match = /odata\.maxpagesize\s*=\s*(\d{1,4})/i.exec(request.request.headers.get('prefer') ?? '');
  const size = match === null ? defaultPageSize : Number(match[1]);
  return size >= 1 && size <= 999 ? size : defaultPageSize;
}

/** Graph's form, `$` unencoded (a base64url token needs no encoding either). */
function linkOf(request: GraphRequest, option: '$skiptoken' | '$deltatoken', token: string): string {
  return `${request.baseUrl}${new URL(request.request.url).pathname}?${option}=${token}`;
}

function contextOf(request: GraphRequest, select: readonly string[] | undefined): string {
  return `${request.baseUrl}/${request.apiVersion}/$metadata#groups${select === undefined ? '' : `(${select.join(',')})`}`;
}

const wantsMembers = (scope: Scope) => scope.sel === undefined || scope.sel.some((name) => name.toLowerCase() === 'members');
/** Owners only when selected (not in the default response, as in Graph). */
const wantsOwners = (scope: Scope) => scope.sel !== undefined && scope.sel.some((name) => name.toLowerCase() === 'owners');
/** Whether a round reports `record` at all under `scope`: owner records only when owners are selected. */
const reportedUnder = (scope: Scope) => (record: ChangeRecord) => !isOwnershipChange(record) || wantsOwners(scope);

function groupEntity(group: Pick<DirectoryObjectDocument, 'id' | 'objectType' | 'entity'>, scope: Scope): Record<string, unknown> {
  const entity = toGraphEntity(group);
  if (scope.sel === undefined) return entity;
  const picked: Record<string, unknown> = { id: group.id };
  for (const name of scope.sel) if (name !== 'members' && name !== 'owners' && name in entity) picked[name] = entity[name];
  return picked;
}

/** A member or owner as delta reports it: its type, id, and whether it is gone from the relationship. */
interface MemberRef {
  readonly id: string;
  readonly type: 'user' | 'group' | undefined;
  readonly removed: boolean;
}

const memberEntry = (member: MemberRef) => ({
  '@odata.type': member.type === undefined ? '#microsoft.graph.directoryObject' : odataTypeOf(member.type),
  id: member.id,
  ...(member.removed ? { '@removed': { reason: 'deleted' } } : {}),
});

/** Every member (or owner) of the group as a direct read lists it. */
async function currentMembers(repositories: Repositories, tenantId: string, groupId: string, relation: 'members' | 'owners' = 'members'): Promise<MemberRef[]> {
  const members: MemberRef[] = [];
  let continuationToken: string | undefined;
  do {
    const page = await repositories.memberships.queryEdges(edgeSelection(tenantId, relation, groupId, {}), { top: 999, ...(continuationToken === undefined ? {} : { continuationToken }) });
    members.push(...page.edges.map((edge) => ({ id: edge.objectId, type: edge.farType, removed: false })));
    continuationToken = page.continuationToken;
  } while (continuationToken !== undefined);
  return members;
}

/** Whether the caller may see the group's members (SPEC 2, HiddenMembership): else no members@delta. */
async function mayListMembers(repositories: Repositories, caller: Caller, group: Pick<DirectoryObjectDocument, 'id' | 'objectType' | 'entity'>): Promise<boolean> {
  const document: DirectoryObjectDocument = { ...group, tenantId: caller.tenantId, pk: objectPartitionKey(caller.tenantId, group.id) };
  try {
    await assertMayListMembers(repositories.memberships, caller, document);
    return true;
  } catch (error) {
    if (error instanceof GraphError && error.status === 403) return false;
    throw error;
  }
}

async function fullGroup(repositories: Repositories, caller: Caller, group: Pick<DirectoryObjectDocument, 'id' | 'objectType' | 'entity'>, scope: Scope): Promise<Record<string, unknown>> {
  const [members, owners] = await Promise.all([
    wantsMembers(scope) && (await mayListMembers(repositories, caller, group)) ? currentMembers(repositories, caller.tenantId, group.id) : undefined,
    // Owners are visible to every reader (src/membership/relationLists.ts), hidden membership or not.
    wantsOwners(scope) ? currentMembers(repositories, caller.tenantId, group.id, 'owners') : undefined,
  ]);
  return {
    ...groupEntity(group, scope),
    ...(members === undefined ? {} : { 'members@delta': members.map(memberEntry) }),
    ...(owners === undefined ? {} : { 'owners@delta': owners.map(memberEntry) }),
  };
}

export async function answerGroupsDelta(request: GraphRequest, repositories: Repositories): Promise<GraphResult> {
  const query = readQueryOptions(request.request, deltaOptions);
  const tenantId = request.caller.tenantId;
  const skipToken = query.get('$skiptoken');
  const deltaToken = query.get('$deltatoken');
  const now = Date.now();
  let state: SyncState | RoundState | DeltaState;
  if (skipToken !== undefined) state = decode(skipToken, tenantId, '$skiptoken');
  else if (deltaToken !== undefined && deltaToken.toLowerCase() !== 'latest') state = decode(deltaToken, tenantId, '$deltatoken');
  else {
    const filter = query.get('$filter');
    const select = selectOf(query);
    const scope: Scope = { t: tenantId, ...(select === undefined ? {} : { sel: select }), ...(filter === undefined ? {} : { ids: parseIdFilter(filter) }) };
    // The sync (or "from now on") starts here, less the lag: a change committing now is reported next.
    const start = now - commitLagMs;
    if (deltaToken !== undefined) {
      return { status: 200, body: { '@odata.context': contextOf(request, scope.sel), value: [], '@odata.deltaLink': linkOf(request, '$deltatoken', encode({ ...scope, p: 'delta', w: start })) } };
    }
    state = { ...scope, p: 'sync', w: start };
  }
  if (state.w < now - deltaTokenLifetimeMs) {
    const options = [
      ...(state.sel === undefined ? [] : [`$select=${encodeURIComponent(state.sel.join(','))}`]),
      ...(state.ids === undefined ? [] : [`$filter=${encodeURIComponent(state.ids.map((id) => `id eq '${id}'`).join(' or '))}`]),
    ];
    const restart = `${request.baseUrl}${new URL(request.request.url).pathname}${options.length === 0 ? '' : `?${options.join('&')}`}`;
    throw new GraphError('SyncStateNotFound', 'The sync state generation is not found. The delta token is expired and data must be synchronized again.', { Location: restart });
  }
  const pageSize = pageSizeOf(request);
  if (state.p === 'sync') return syncPage(request, repositories, state, pageSize);
  return roundPage(request, repositories, state.p === 'round' ? state : { ...state, p: 'round', r: now }, pageSize);
}

/** A page of the first round: the groups as they are, each with every member. */
async function syncPage(request: GraphRequest, repositories: Repositories, state: SyncState, pageSize: number): Promise<GraphResult> {
  const { caller } = request;
  let groups: Pick<DirectoryObjectDocument, 'id' | 'objectType' | 'entity'>[];
  let next: SyncState | undefined;
  if (state.ids !== undefined) {
    const from = state.i ?? 0;
    const ids = state.ids.slice(from, from + pageSize);
    const found = await Promise.all(ids.map((id) => repositories.directory.getObject(caller.tenantId, id)));
    groups = found.filter((group): group is DirectoryObjectDocument => group?.objectType === 'group');
    if (from + pageSize < state.ids.length) next = { ...state, i: from + pageSize };
  } else {
    const page = await repositories.directory.listing.list(caller.tenantId, {
      objectType: 'group',
      top: pageSize,
      count: false,
      countOnly: false,
      ...(state.c === undefined ? {} : { continuationToken: state.c }),
    });
    groups = [...page.objects];
    if (page.continuationToken !== undefined) next = { ...state, c: page.continuationToken };
  }
  const value = await Promise.all(groups.map((group) => fullGroup(repositories, caller, group, state)));
  const link =
    next !== undefined
      ? { '@odata.nextLink': linkOf(request, '$skiptoken', encode(next)) }
      : {
          '@odata.deltaLink': linkOf(
            request,
            '$deltatoken',
            encode({ t: state.t, ...(state.sel === undefined ? {} : { sel: state.sel }), ...(state.ids === undefined ? {} : { ids: state.ids }), p: 'delta', w: state.w }),
          ),
        };
  return { status: 200, body: { '@odata.context': contextOf(request, state.sel), value, ...link } };
}

/** The members `records` name, each as the group side holds it now: listed, or `@removed`. */
async function namedMembers(repositories: Repositories, tenantId: string, groupId: string, records: readonly ChangeRecord[]): Promise<MemberRef[]> {
  const named = new Map<string, ChangeRecord>();
  for (const record of records) if (isMembershipChange(record)) named.set(record.memberId!, record);
  const present = await repositories.memberships.presentEdges(tenantId, groupId, 'member', [...named.keys()]);
  return [...named.values()].map((record) => ({ id: record.memberId!, type: present.get(record.memberId!) ?? record.memberType, removed: !present.has(record.memberId!) }));
}

/** The owners `records` name, each as the owner partition holds it now: listed, or `@removed`. */
async function namedOwners(repositories: Repositories, tenantId: string, groupId: string, records: readonly ChangeRecord[]): Promise<MemberRef[]> {
  const named = new Set<string>();
  for (const record of records) if (isOwnershipChange(record)) named.add(record.ownerId!);
  const present = await repositories.memberships.presentEdges(tenantId, groupId, 'owner', [...named]);
  // Owners are users (src/directory/groupOwners.ts), so a removed one is typed as one too.
  return [...named].map((ownerId) => ({ id: ownerId, type: present.get(ownerId) ?? 'user', removed: !present.has(ownerId) }));
}

/**
 * One relationship's `@delta` for a group in a round: after a lifecycle record, every current
 * one and the named ones now gone; else the named ones; undefined when nothing names any.
 */
async function relationDelta(changes: readonly ChangeRecord[], names: (record: ChangeRecord) => boolean, named: () => Promise<MemberRef[]>, current: () => Promise<MemberRef[]>) {
  const lifecycle = changes.some(isLifecycleChange);
  if (!lifecycle && !changes.some(names)) return undefined;
  const namedNow = await named();
  if (!lifecycle) return namedNow.map(memberEntry);
  return [...(await current()), ...namedNow.filter((member) => member.removed)].map(memberEntry);
}

/** A page of a later round: the groups with records since the token, as they are now. */
async function roundPage(request: GraphRequest, repositories: Repositories, state: RoundState, pageSize: number): Promise<GraphResult> {
  const { caller } = request;
  const { memberships } = await getCosmosStore();
  const records = (await listChangesSince(memberships, state.w, { tenantId: caller.tenantId, ...(state.ids === undefined ? {} : { groupIds: state.ids }) })).filter(reportedUnder(state));
  const byGroup = new Map<string, ChangeRecord[]>();
  for (const record of records) byGroup.set(record.groupId, [...(byGroup.get(record.groupId) ?? []), record]);
  const groupIds = [...byGroup.keys()].sort().filter((groupId) => state.after === undefined || groupId > state.after);
  const pageIds = groupIds.slice(0, pageSize);
  const value = await Promise.all(
    pageIds.map(async (groupId) => {
      const changes = byGroup.get(groupId)!;
      const group = await repositories.directory.getObject(caller.tenantId, groupId);
      if (group === undefined || group.objectType !== 'group') return { id: groupId, '@removed': { reason: 'deleted' } };
      const { tenantId } = caller;
      const [members, owners] = await Promise.all([
        wantsMembers(state) && (await mayListMembers(repositories, caller, group))
          ? relationDelta(
              changes,
              isMembershipChange,
              () => namedMembers(repositories, tenantId, groupId, changes),
              () => currentMembers(repositories, tenantId, groupId),
            )
          : undefined,
        wantsOwners(state)
          ? relationDelta(
              changes,
              isOwnershipChange,
              () => namedOwners(repositories, tenantId, groupId, changes),
              () => currentMembers(repositories, tenantId, groupId, 'owners'),
            )
          : undefined,
      ]);
      return {
        ...groupEntity(group, state),
        ...(members === undefined ? {} : { 'members@delta': members }),
        ...(owners === undefined ? {} : { 'owners@delta': owners }),
      };
    }),
  );
  const scope = { t: state.t, ...(state.sel === undefined ? {} : { sel: state.sel }), ...(state.ids === undefined ? {} : { ids: state.ids }) };
  const link =
    groupIds.length > pageSize
      ? { '@odata.nextLink': linkOf(request, '$skiptoken', encode({ ...state, after: pageIds.at(-1)! })) }
      : { '@odata.deltaLink': linkOf(request, '$deltatoken', encode({ ...scope, p: 'delta', w: state.r - commitLagMs })) };
  return { status: 200, body: { '@odata.context': contextOf(request, state.sel), value, ...link } };
}
