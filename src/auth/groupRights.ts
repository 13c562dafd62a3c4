import type { GroupTraits } from '../directory/directoryObjects';
import { graphErrors } from '../http/errors';
import type { Caller } from './caller';
import { directoryRoles, hasPermission, holdsAnyRole, permissions } from './permissions';

/** SPEC 2: roles that may change any (non role-assignable) group's members. */
export const groupManagerRoles = [directoryRoles.globalAdministrator, directoryRoles.groupsAdministrator, directoryRoles.userAdministrator, directoryRoles.directoryWriters] as const;

/** SPEC 2: the only roles that may change a role-assignable group. */
export const privilegedRoles = [directoryRoles.globalAdministrator, directoryRoles.privilegedRoleAdministrator] as const;

/** Whether a delegated caller's roles alone let it change any ordinary group. */
export function managesAnyGroup(caller: Caller): boolean {
  return holdsAnyRole(caller, groupManagerRoles);
}

export interface GroupChange {
  /** Whether the (delegated) caller is one of the group's owners, or will be once it exists. */
  readonly callerOwnsGroup: boolean;
  /** The object being added or removed, if the change is to the membership. */
  readonly memberId?: string;
}

/**
 * SPEC 2: who may change a group, in one place for every route that does (adding or removing a
 * member, creating a group with its members). Throws 403 Authorization_RequestDenied otherwise.
 * A role-assignable group takes Global Administrator or Privileged Role Administrator in `wids`,
 * or, for an app, RoleManagement.ReadWrite.Directory, whatever else the caller holds.
 */
export function authorizeGroupChange(caller: Caller, group: GroupTraits, change: GroupChange): void {
  if (group.isRoleAssignable) {
    const allowed = caller.kind === 'user' ? holdsAnyRole(caller, privilegedRoles) : hasPermission(caller, permissions.manageRoleAssignableGroups);
    if (!allowed) throw graphErrors.insufficientPrivileges();
    return;
  }
  if (caller.kind === 'app') return;
  if (change.callerOwnsGroup || managesAnyGroup(caller)) return;
  // The one exception: a user joining a public Microsoft 365 group by themselves (S4).
  if (change.memberId === caller.userId && group.isUnified && group.isPublic) return;
  throw graphErrors.insufficientPrivileges();
}
