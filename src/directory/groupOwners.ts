import type { Caller } from '../auth';
import { authorizeGroupChange, managesAnyGroup } from '../auth/groupRights';
import type { ObjectReference } from '../graph/odataReference';
import { graphErrors } from '../http/errors';
import { groupTraits, type DirectoryObjectDocument } from './directoryObjects';
import type { LifecycleStore } from './lifecycleStore';

/**
 * POST /groups/{id}/owners/$ref and DELETE /groups/{id}/owners/{ownerId}/$ref (SPEC 6): "as
 * members", and only the group's owners or the group-managing roles may change its owners
 * (authorizeGroupChange, which also guards role-assignable groups).
 */

async function readGroupForOwnerChange(store: LifecycleStore, caller: Caller, groupId: string): Promise<DirectoryObjectDocument> {
  const group = await store.readObject(caller.tenantId, groupId);
  if (group === undefined || group.objectType !== 'group') throw graphErrors.resourceNotFound(groupId);
  const mustBeOwner = caller.kind === 'user' && !managesAnyGroup(caller);
  const callerOwnsGroup = mustBeOwner && (await store.edgeExists(caller.tenantId, group.id, caller.userId, 'owner'));
  authorizeGroupChange(caller, groupTraits(group), { callerOwnsGroup });
  return group;
}

/**
 * Adds an owner: 204. Owners are users here (404 for any other object, as POST /groups answers
 * an owner bind); an owner already there is Graph's duplicate 400 for 'owners'.
 */
export async function addOwner(store: LifecycleStore, caller: Caller, groupId: string, reference: ObjectReference): Promise<void> {
  const group = await readGroupForOwnerChange(store, caller, groupId);
  const owner = await store.readObject(caller.tenantId, reference.id);
  if (owner === undefined || owner.objectType !== 'user' || (reference.expectedType !== undefined && reference.expectedType !== owner.objectType)) {
    throw graphErrors.resourceNotFound(reference.id);
  }
  if (!(await store.createOwner(group, owner))) throw graphErrors.referenceAlreadyExists('owners');
}

/** Owner lists read again after a concurrent removal took the owner chosen to stay. */
const maxOwnerRemovalRaces = 3;

/**
 * Removes an owner: 204; 404 when not an owner; 400 for the last owner. The check and the delete
 * are one store transaction with another owner's edge (MembershipRepository.removeOwner), so two
 * racing removals can never take a group's last two owners; the one that loses reads the owners
 * again and answers what it finds.
 */
export async function removeOwner(store: LifecycleStore, caller: Caller, groupId: string, ownerId: string): Promise<void> {
  const group = await readGroupForOwnerChange(store, caller, groupId);
  for (let attempt = 1; attempt <= maxOwnerRemovalRaces; attempt += 1) {
    const owners = await store.ownerIds(caller.tenantId, group.id);
    if (!owners.includes(ownerId)) throw graphErrors.resourceNotFound(ownerId);
    const witnessId = owners.find((id) => id !== ownerId);
    if (witnessId === undefined) throw graphErrors.lastOwner();
    const outcome = await store.deleteOwner(caller.tenantId, group.id, ownerId, witnessId);
    if (outcome === 'removed') return;
    if (outcome === 'notOwner') throw graphErrors.resourceNotFound(ownerId);
  }
  // Owners changing under every attempt: the caller retries after a second.
  throw graphErrors.throttled(1);
}
