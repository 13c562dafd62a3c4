import type { Caller } from '../auth/caller';
import { belongsTo, isHiddenMembership, seesAllHiddenMemberships } from '../auth/membershipVisibility';
import { mapWithConcurrency } from '../directory/directoryObjectReads';
import { toGraphEntity, type DirectoryObjectDocument, type ObjectType } from '../directory/directoryObjects';
import type { DirectoryRepository } from '../directory/directoryRepository';
import { GraphError } from '../http/errors';
import { closureLimits } from './closure';
import { affectsGroupsOf, affectsMembersOf, finishAffecting } from './closureJournal';
import type { MembershipRepository } from './membershipRepository';

/**
 * Transitive membership (SPEC 7), read from the nested-group closure (closure.ts):
 * - the groups a group is in: its `ancestors` document, one point read;
 * - the groups a user is in: its direct groups (its member-side partition, one query) and their
 *   `ancestors` documents (point reads, all at once): two rounds, whatever the depth;
 * - the members of a group, through every path: its `descendants` document, then the direct
 *   members of it and of each group under it (one single-partition query each, at once).
 * Each object once, however many paths lead to it. The tenant's journal of nesting changes is read
 * in the first round too: a change still pending that could alter the answer has its closure
 * update run before the answer is read (closureJournal.ts), so a fault that cut an update short
 * never shows (a third round, only then). Objects being deleted are left out, as on
 * direct lists. SPEC 2's rule for groups whose visibility is HiddenMembership: such a group shows
 * in the transitive memberOf of another object only to a caller who may see its members (owners,
 * members, the roles, Directory.Read.All apps, the subject itself); in transitiveMembers it is
 * listed, but the members reached only through it are left out for a caller who may not see them.
 */
export const maxTransitiveResults = 11_000;

/** Graph's answer beyond 11,000 (https://learn.microsoft.com/graph/api/user-getmembergroups). */
export const resultSizeExceeded = () =>
  new GraphError('Directory_ResultSizeLimitExceeded', `Request was not able to be completed because the number of results exceeds the limit of ${maxTransitiveResults}.`);

/** Point reads in flight at once for one request's objects: the 20 ids of a check in one round. */
const readConcurrency = 20;

export interface TransitiveSubject {
  readonly id: string;
  readonly objectType: ObjectType;
}

/**
 * The ids of every group the subject is a transitive member of (not yet filtered for the caller).
 * A group: one point read. A user: one query, then one point read per direct group, in parallel.
 */
export async function transitiveGroupIds(memberships: MembershipRepository, tenantId: string, subject: TransitiveSubject): Promise<Set<string>> {
  const deletedRead = memberships.deletions.deletedIds(tenantId);
  deletedRead.catch(() => undefined);
  // The tenant's journal of nesting changes (nestingGuard.ts), in the same first round.
  const guardRead = memberships.readNestingGuard(tenantId);
  guardRead.catch(() => undefined);
  const readIds = async (): Promise<Set<string>> => {
    if (subject.objectType === 'group') return new Set((await memberships.closure.read(tenantId, subject.id, 'ancestors')).ids);
    const direct = await memberships.closure.neighbours(tenantId, subject.id, 'ancestors');
    const found = new Set(direct);
    const sets = await mapWithConcurrency(direct, closureLimits.concurrency * 4, (groupId) => memberships.closure.read(tenantId, groupId, 'ancestors'));
    for (const set of sets) for (const id of set.ids) found.add(id);
    return found;
  };
  let ids = await readIds();
  // Never an answer from a closure that a pending change affects: its update is run first
  // (closureJournal.ts), and the closure read again.
  if (await finishAffecting(memberships, tenantId, await guardRead, affectsGroupsOf(subject.id, ids))) ids = await readIds();
  for (const id of await deletedRead) ids.delete(id);
  if (ids.size > maxTransitiveResults) throw resultSizeExceeded();
  return ids;
}

/** The caller's view of some groups the subject is in: hidden ones only if the caller may see them. */
export async function visibleToCaller(memberships: MembershipRepository, caller: Caller, subjectId: string, groups: readonly DirectoryObjectDocument[]): Promise<DirectoryObjectDocument[]> {
  if (seesAllHiddenMemberships(caller) || (caller.kind === 'user' && caller.userId === subjectId)) return [...groups];
  const hidden = groups.filter((group) => isHiddenMembership(group.entity));
  if (hidden.length === 0) return [...groups];
  const answers = await mapWithConcurrency(hidden, readConcurrency, (group) => belongsTo(memberships, caller, group.id));
  const refused = new Set(hidden.filter((_, index) => answers[index] !== true).map((group) => group.id));
  return groups.filter((group) => !refused.has(group.id));
}

/** The groups among `ids` as the directory has them now (missing ones left out). */
export async function readGroups(directory: DirectoryRepository, tenantId: string, ids: Iterable<string>): Promise<DirectoryObjectDocument[]> {
  const found = await mapWithConcurrency([...ids], readConcurrency, (id) => directory.getObject(tenantId, id));
  return found.filter((object): object is DirectoryObjectDocument => object?.objectType === 'group');
}

/** GET …/transitiveMemberOf: the groups the subject is in, as Graph entities, sorted by id, for this caller. */
export async function transitiveMemberOf(directory: DirectoryRepository, memberships: MembershipRepository, caller: Caller, subject: TransitiveSubject): Promise<Record<string, unknown>[]> {
  const ids = await transitiveGroupIds(memberships, caller.tenantId, subject);
  const groups = await visibleToCaller(memberships, caller, subject.id, await readGroups(directory, caller.tenantId, ids));
  return groups.map(toGraphEntity).sort(byId);
}

const byId = (left: Readonly<Record<string, unknown>>, right: Readonly<Record<string, unknown>>) => String(left.id).localeCompare(String(right.id));

/**
 * GET /groups/{id}/transitiveMembers: every user and group under the group, through any path, as
 * the member snapshots on the edges show them (kept current by PATCH, SPEC 6), sorted by id. The
 * caller's right to the group itself is checked by the caller of this function.
 */
export async function transitiveMembers(memberships: MembershipRepository, caller: Caller, groupId: string): Promise<Record<string, unknown>[]> {
  const tenantId = caller.tenantId;
  const [stored, deleted, guard] = await Promise.all([memberships.closure.read(tenantId, groupId, 'descendants'), memberships.deletions.deletedIds(tenantId), memberships.readNestingGuard(tenantId)]);
  let below = stored;
  // As for the groups above (transitiveGroupIds): a pending change under the group is finished first.
  if (await finishAffecting(memberships, tenantId, guard, affectsMembersOf(groupId, new Set(stored.ids)))) below = await memberships.closure.read(tenantId, groupId, 'descendants');
  const groups = [groupId, ...below.ids.filter((id) => !deleted.has(id))];
  if (groups.length > maxTransitiveResults) throw resultSizeExceeded();
  const pages = await mapWithConcurrency(groups, readConcurrency, (id) => memberships.closure.directMembers(tenantId, id));
  const membersByGroup = new Map(groups.map((id, index) => [id, pages[index] ?? []]));
  const found = new Map<string, Readonly<Record<string, unknown>>>();
  const seeAll = seesAllHiddenMemberships(caller);
  // From the group down; a hidden group the caller may not look into is listed but not opened.
  const opened = new Set([groupId]);
  let frontier = [groupId];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const parent of frontier) {
      for (const row of membersByGroup.get(parent) ?? []) {
        if (deleted.has(row.objectId)) continue;
        found.set(row.objectId, row.far);
        if (found.size > maxTransitiveResults) throw resultSizeExceeded();
        if (row.farType === 'group' && !opened.has(row.objectId)) {
          opened.add(row.objectId);
          next.push(row.objectId);
        }
      }
    }
    const hidden = seeAll ? [] : next.filter((id) => isHiddenMembership(found.get(id) ?? {}));
    const answers = await mapWithConcurrency(hidden, readConcurrency, (id) => belongsTo(memberships, caller, id));
    const closed = new Set(hidden.filter((_, index) => answers[index] !== true));
    frontier = next.filter((id) => !closed.has(id));
  }
  return [...found.values()].map((entity) => ({ ...entity })).sort(byId);
}
