import { groupTraits, type DirectoryObjectDocument } from '../directory/directoryObjects';
import { GraphError, graphErrors } from '../http/errors';

const ruleViolation = (message: string) => new GraphError('Request_BadRequest', message);

/**
 * SPEC section 1's membership rules that need only the two objects. Checked before anything is
 * written; the cycle check, which reads the graph, is `reserveNesting` (nestingGuard.ts).
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
