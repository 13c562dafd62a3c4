import { graphErrors } from '../http/errors';
import type { Caller } from './caller';

/** Directory roles (template ids, as in `wids`) this service's rules name. */
export const directoryRoles = {
  globalAdministrator: '62e90394-69f5-4237-9190-012177145e10',
  groupsAdministrator: 'fdd7a751-b60b-444a-984c-02652fe8fa1c',
  userAdministrator: 'fe930be7-5e62-47db-91af-98c3a49a38b1',
  directoryWriters: '9360feb5-f418-4baa-8175-e2a00bac4301',
  privilegedRoleAdministrator: 'e8611ab8-c189-46e8-94e1-60213ab1f814',
  privilegedAuthenticationAdministrator: '7be44c8a-adaf-4e2a-84d6-ab2649e08a13',
} as const;

export interface Permission {
  readonly delegated: readonly string[];
  readonly application: readonly string[];
}

const writeMembership = ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'];
const readMembership = [...writeMembership, 'GroupMember.Read.All', 'Group.Read.All', 'Directory.Read.All'];

/** SPEC section 2: any one of the listed permissions suffices. */
export const permissions = {
  writeMembership: { delegated: [...writeMembership, 'Directory.AccessAsUser.All'], application: writeMembership },
  readGroups: { delegated: [...readMembership, 'Directory.AccessAsUser.All'], application: readMembership },
  readUsers: {
    delegated: [...readMembership, 'User.Read.All', 'User.ReadWrite.All', 'Directory.AccessAsUser.All'],
    application: [...readMembership, 'User.Read.All', 'User.ReadWrite.All'],
  },
  createUsers: { delegated: ['User.ReadWrite.All', 'Directory.ReadWrite.All'], application: ['User.ReadWrite.All', 'Directory.ReadWrite.All'] },
  /** PATCH and DELETE of users (SPEC 6): what creating them takes. */
  writeUsers: { delegated: ['User.ReadWrite.All', 'Directory.ReadWrite.All'], application: ['User.ReadWrite.All', 'Directory.ReadWrite.All'] },
  /** PATCH and DELETE of groups, and their owners (Graph's group-update, group-delete, group-post-owners, group-delete-owners). */
  writeGroups: { delegated: ['Group.ReadWrite.All', 'Directory.ReadWrite.All', 'Directory.AccessAsUser.All'], application: ['Group.ReadWrite.All', 'Directory.ReadWrite.All'] },
  createGroups: {
    delegated: ['Group.Create', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'],
    application: ['Group.Create', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'],
  },
  /** Needed in addition by apps that change role-assignable groups. */
  manageRoleAssignableGroups: { delegated: [], application: ['RoleManagement.ReadWrite.Directory'] },
} as const satisfies Record<string, Permission>;

export function hasPermission(caller: Caller, permission: Permission): boolean {
  const granted = caller.kind === 'user' ? caller.scopes : caller.roles;
  const accepted = caller.kind === 'user' ? permission.delegated : permission.application;
  return accepted.some((name) => granted.has(name));
}

/** Throws 403 Authorization_RequestDenied unless the caller holds one of the permission's names. */
export function requirePermission(caller: Caller, permission: Permission): void {
  if (!hasPermission(caller, permission)) throw graphErrors.insufficientPrivileges();
}

export function holdsAnyRole(caller: Caller, roleIds: readonly string[]): boolean {
  return caller.kind === 'user' && roleIds.some((roleId) => caller.roleIds.has(roleId));
}
