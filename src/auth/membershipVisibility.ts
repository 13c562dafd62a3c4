import type { DirectoryObjectDocument } from '../directory/directoryObjects';
import { graphErrors } from '../http/errors';
import { hiddenGroupsOf, type EdgeSelection } from '../membership/edgeQuery';
import type { EdgePage, MembershipRepository } from '../membership/membershipRepository';
import type { Caller } from './caller';
import { groupManagerRoles, privilegedRoles } from './groupRights';
import { hasPermission, holdsAnyRole } from './permissions';

/**
 * SPEC 2: a group whose `visibility` is `HiddenMembership` shows its members, and its place in a
 * member's memberOf, only to its owners and members, to the group-managing and privileged roles
 * in `wids`, to applications holding Directory.Read.All (Directory.ReadWrite.All includes it, as
 * in Graph), and to the member itself.
 */
const hiddenMembershipRoles = [...new Set([...groupManagerRoles, ...privilegedRoles])];
const readsHiddenMemberships = { delegated: [], application: ['Directory.Read.All', 'Directory.ReadWrite.All'] } as const;

/**
 * At most this many store reads in flight for one page. A page of memberOf costs at most two
 * point reads (owner, member) per distinct hidden group on it that the caller cannot see by role,
 * so at most 2 x $top (1,998 at $top=999), in waves of this size; pages without hidden groups and
 * callers who see them all by role cost nothing extra.
 */
const maxParallelChecks = 16;

export function isHiddenMembership(group: Readonly<Record<string, unknown>>): boolean {
  return group.visibility === 'HiddenMembership';
}

/** Whether the caller sees every hidden membership without asking the store. */
export function seesAllHiddenMemberships(caller: Caller): boolean {
  return caller.kind === 'app' ? hasPermission(caller, readsHiddenMemberships) : holdsAnyRole(caller, hiddenMembershipRoles);
}

/** Owner or direct member of the group: both are point reads, made together. */
export async function belongsTo(memberships: MembershipRepository, caller: Caller, groupId: string): Promise<boolean> {
  if (caller.kind !== 'user') return false;
  const [owner, member] = await Promise.all([memberships.isOwner(caller.tenantId, groupId, caller.userId), memberships.getMembership(caller.tenantId, groupId, caller.userId)]);
  return owner || member !== undefined;
}

/** GET /groups/{id}/members: 403 for a hidden group the caller may not look into. */
export async function assertMayListMembers(memberships: MembershipRepository, caller: Caller, group: DirectoryObjectDocument): Promise<void> {
  if (!isHiddenMembership(group.entity) || seesAllHiddenMemberships(caller)) return;
  if (!(await belongsTo(memberships, caller, group.id))) throw graphErrors.insufficientPrivileges();
}

/**
 * A page of `subjectId`'s memberOf (or joinedGroups) without the hidden groups the caller may not
 * see. The page keeps its continuation token, so paging goes on where the store left off: a page
 * may come out short, or even empty, with a nextLink, as Graph's own pages may.
 */
export async function withoutHiddenParents(memberships: MembershipRepository, caller: Caller, subjectId: string, page: EdgePage): Promise<EdgePage> {
  if (seesAllHiddenMemberships(caller) || (caller.kind === 'user' && caller.userId === subjectId)) return page;
  const hidden = [...new Set(page.edges.filter((edge) => edge.farType === 'group' && isHiddenMembership(edge.far)).map((edge) => edge.groupId))];
  if (hidden.length === 0) return page;
  const visible = new Set<string>();
  for (let start = 0; start < hidden.length; start += maxParallelChecks) {
    const wave = hidden.slice(start, start + maxParallelChecks);
    const answers = await Promise.all(wave.map((groupId) => belongsTo(memberships, caller, groupId)));
    wave.forEach((groupId, index) => {
      if (answers[index] === true) visible.add(groupId);
    });
  }
  return { ...page, edges: page.edges.filter((edge) => !(edge.farType === 'group' && isHiddenMembership(edge.far)) || visible.has(edge.groupId)) };
}

/** Pages of hidden groups read at a time when counting (the store's largest page). */
const hiddenPageSize = 999;

/**
 * How many of `subjectId`'s memberOf edges in `selection` the caller may see: the same rule as
 * withoutHiddenParents, so a count never reveals a hidden group a page would not show. One
 * aggregate query when the caller sees every hidden membership (by role, by Directory.Read.All, or
 * as the subject itself). Otherwise the count is exact for this caller: the aggregate, less the
 * hidden groups on the list, plus those of them the caller owns or belongs to; finding those
 * takes one query for the list's hidden groups and the same per-group checks (two point reads per
 * hidden group) a page of them would cost. Subjects in no hidden group cost one query more.
 */
export async function countVisibleParents(memberships: MembershipRepository, caller: Caller, subjectId: string, selection: EdgeSelection): Promise<number> {
  const total = await memberships.countEdges(selection);
  if (total === 0 || seesAllHiddenMemberships(caller) || (caller.kind === 'user' && caller.userId === subjectId)) return total;
  const hidden = hiddenGroupsOf(selection);
  let hiddenCount = 0;
  let visibleCount = 0;
  let continuationToken: string | undefined;
  do {
    const page = await memberships.queryEdges(hidden, { top: hiddenPageSize, ...(continuationToken === undefined ? {} : { continuationToken }) });
    hiddenCount += page.edges.length;
    visibleCount += (await withoutHiddenParents(memberships, caller, subjectId, page)).edges.length;
    continuationToken = page.continuationToken;
  } while (continuationToken !== undefined);
  return total - hiddenCount + visibleCount;
}
