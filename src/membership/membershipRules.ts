import { groupTraits, type DirectoryObjectDocument } from '../directory/directoryObjects';
import { GraphError, graphErrors } from '../http/errors';

const ruleViolation = (message: string) => new GraphError('Request_BadRequest', message);

/**
 * SPEC section 1's membership rules that need only the two objects. Checked before anything is
 * written; the cycle check, which reads the graph, is `assertNoCycle`.
 */
export function checkMembershipRules(group: DirectoryObjectDocument, member: DirectoryObjectDocument): void {
  if (group.objectType !== 'group') throw graphErrors.resourceNotFound(group.id);
  const traits = groupTraits(group);
  if (member.id === group.id) throw ruleViolation('A group cannot be a member of itself.');
  if (traits.isDynamic) throw ruleViolation('Members of a group with dynamic membership cannot be added manually.');
  if (traits.isDistributionList) throw ruleViolation('Cannot Update a mail-enabled security groups and or distribution list.');
  if (member.objectType === 'group') {
    if (traits.isRoleAssignable) throw ruleViolation('Nesting is currently not supported for groups that can be assigned to a role.');
    if (traits.isUnified) throw ruleViolation('Only users can be members of a Microsoft 365 group.');
  }
}

/** Largest ancestry a cycle check walks before it refuses the add rather than loop on. */
const maxAncestorsVisited = 10_000;

/**
 * Refuses a nesting that would close a cycle: walks up from `groupId` through the member-side
 * index, one level at a time with the level's reads in parallel, looking for `memberGroupId`.
 */
export async function assertNoCycle(
  listParentGroupIds: (groupId: string) => Promise<string[]>,
  groupId: string,
  memberGroupId: string,
): Promise<void> {
  const visited = new Set<string>([groupId]);
  let frontier = [groupId];
  while (frontier.length > 0) {
    const parents = (await Promise.all(frontier.map((id) => listParentGroupIds(id)))).flat();
    frontier = [];
    for (const parent of parents) {
      if (parent === memberGroupId) throw ruleViolation('The nesting would create a cycle: the group is already a direct or indirect member of the member being added.');
      if (visited.has(parent)) continue;
      visited.add(parent);
      frontier.push(parent);
    }
    if (visited.size > maxAncestorsVisited) throw ruleViolation('The group is nested too deeply to check for cycles.');
  }
}
