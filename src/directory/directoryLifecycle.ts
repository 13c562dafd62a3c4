import type { Caller } from '../auth';
import { authorizeGroupChange, managesAnyGroup } from '../auth/groupRights';
import { directoryRoles, holdsAnyRole } from '../auth/permissions';
import { graphErrors } from '../http/errors';
import { resolveBinds, writeBinds } from '../membership/bindMemberships';
import { groupTraits, type DirectoryObjectDocument } from './directoryObjects';
import type { LifecycleStore, StoredObject } from './lifecycleStore';
import type { UpdateGroupInput, UpdateUserInput } from './updateSchemas';

/**
 * PATCH and DELETE of users and groups (SPEC 6). The pipeline has checked the route's permission
 * (SPEC 2); these check existence in the caller's tenant (404), the caller's right on a group
 * (its owners or the group-managing roles, authorizeGroupChange), Graph's rules on the new
 * values, and only then write, through the LifecycleStore alone.
 */

/** Reads the object as stored now (no cache): 404 when absent or of another type. */
async function readOrNotFound(store: LifecycleStore, tenantId: string, id: string, objectType: 'user' | 'group'): Promise<StoredObject> {
  const object = await store.readObject(tenantId, id);
  if (object === undefined || object.objectType !== objectType) throw graphErrors.resourceNotFound(id);
  return object;
}

/** SPEC 2: an application, a group-managing role, or (delegated) one of the group's owners. */
async function authorizeGroupEdit(store: LifecycleStore, caller: Caller, group: DirectoryObjectDocument): Promise<void> {
  const mustBeOwner = caller.kind === 'user' && !managesAnyGroup(caller);
  const callerOwnsGroup = mustBeOwner && (await store.edgeExists(caller.tenantId, group.id, caller.userId, 'owner'));
  authorizeGroupChange(caller, groupTraits(group), { callerOwnsGroup });
}

/** PATCH /users/{id}: 204. A new userPrincipalName is claimed before the old one is released. */
export async function updateUser(store: LifecycleStore, caller: Caller, userId: string, input: UpdateUserInput): Promise<void> {
  const user = await readOrNotFound(store, caller.tenantId, userId, 'user');
  const { passwordProfile: _neverStored, '@odata.type': _type, ...changes } = input;
  if (Object.keys(changes).length === 0) return;
  const oldName = String(user.entity.userPrincipalName);
  const newName = changes.userPrincipalName;
  const claim = newName === undefined ? undefined : await store.claimPrincipalName(caller.tenantId, user.id, oldName, newName);
  try {
    await store.replaceObject(user, { ...user.entity, ...changes });
  } catch (error) {
    await claim?.takeBack().catch(() => undefined);
    throw error;
  }
  await claim?.releaseOld();
}

/**
 * Graph's rules on what a group PATCH may change (https://learn.microsoft.com/graph/api/group-update,
 * https://learn.microsoft.com/graph/api/resources/group): `Unified` cannot be added or removed
 * (a security group does not become a Microsoft 365 group), `DynamicMembership` may be, but a
 * dynamic group needs a membershipRule, and `HiddenMembership` is set only at creation.
 */
function checkGroupChange(current: DirectoryObjectDocument, input: UpdateGroupInput, merged: Readonly<Record<string, unknown>>): void {
  if (input.groupTypes !== undefined && groupTraits(current).isUnified !== input.groupTypes.includes('Unified')) {
    throw graphErrors.unifiedTypeChange();
  }
  if (input.visibility !== undefined && input.visibility !== current.entity.visibility && (input.visibility === 'HiddenMembership' || current.entity.visibility === 'HiddenMembership')) {
    throw graphErrors.invalidPropertyValue('visibility', 'Group');
  }
  const groupTypes = Array.isArray(merged.groupTypes) ? (merged.groupTypes as unknown[]) : [];
  if (groupTypes.includes('DynamicMembership') && (typeof merged.membershipRule !== 'string' || merged.membershipRule.length === 0)) throw graphErrors.invalidPropertyValue('membershipRule', 'Group');
}

/**
 * PATCH /groups/{id}: 204. Properties and binds are checked first (resolveBinds: every link,
 * duplicate and membership rule); then the bound edges are written (all or none), then the
 * group's properties; if that last write fails, the edges written are taken back.
 */
export async function updateGroup(store: LifecycleStore, caller: Caller, groupId: string, input: UpdateGroupInput, baseUrl: string): Promise<void> {
  const group = await readOrNotFound(store, caller.tenantId, groupId, 'group');
  await authorizeGroupEdit(store, caller, group);
  const { '@odata.type': _type, 'members@odata.bind': memberLinks = [], 'owners@odata.bind': ownerLinks = [], ...changes } = input;
  const entity = { ...group.entity, ...changes };
  checkGroupChange(group, input, entity);
  const changed: DirectoryObjectDocument = { ...group, entity };
  const binds = await resolveBinds(store, changed, memberLinks, ownerLinks, baseUrl);
  const takeBack = await writeBinds(store, changed, binds);
  if (Object.keys(changes).length === 0) return;
  try {
    await store.replaceObject(group, entity);
  } catch (error) {
    await takeBack();
    throw error;
  }
}

/**
 * Delegated callers who may delete a user, beyond the permission: Graph's user-delete names User
 * Administrator and Privileged Authentication Administrator (https://learn.microsoft.com/graph/api/user-delete);
 * a Global Administrator holds every right. The scope alone let any user delete a colleague.
 */
const userDeletingRoles = [directoryRoles.globalAdministrator, directoryRoles.userAdministrator, directoryRoles.privilegedAuthenticationAdministrator] as const;

/** DELETE /users/{id}: 204; the user, its name and every edge naming it are gone. */
export async function deleteUser(store: LifecycleStore, caller: Caller, userId: string): Promise<void> {
  if (caller.kind === 'user' && !holdsAnyRole(caller, userDeletingRoles)) throw graphErrors.insufficientPrivileges();
  const user = await readOrNotFound(store, caller.tenantId, userId, 'user');
  await store.deleteObject(user);
}

/** DELETE /groups/{id}: 204 for its owners and the group-managing roles (as in Graph). */
export async function deleteGroup(store: LifecycleStore, caller: Caller, groupId: string): Promise<void> {
  const group = await readOrNotFound(store, caller.tenantId, groupId, 'group');
  await authorizeGroupEdit(store, caller, group);
  await store.deleteObject(group);
}
