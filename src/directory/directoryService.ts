import { randomUUID } from 'node:crypto';
import type { Caller } from '../auth';
import { authorizeGroupChange } from '../auth/groupRights';
import { hasPermission } from '../auth/permissions';
import { guidPattern } from '../config/settings';
import { parseODataId, type ObjectReference } from '../graph/odataReference';
import { GraphError, graphErrors } from '../http/errors';
import { assertDistinctLinks } from '../membership/bindMemberships';
import { StaleObjects, type MembershipRepository } from '../membership/membershipRepository';
import { checkMembershipRules } from '../membership/membershipRules';
import { finishReservations, reserveNesting, type NestingReservation } from '../membership/nestingGuard';
import { groupTraits, objectPartitionKey, type DirectoryObjectDocument } from './directoryObjects';
import type { DirectoryRepository } from './directoryRepository';
import { principalNameLimits, serverManagedGroupProperties, userPrincipalName, type CreateGroupInput, type CreateUserInput } from './schemas';

/**
 * Reads one object of the caller's tenant; another tenant's objects do not exist (404). 'remembered'
 * may answer from this instance's copy: only for callers that check it against the store in the
 * same round (an add's anchors; a relation page's pending deletions).
 */
export async function getObjectOrNotFound(directory: DirectoryRepository, tenantId: string, reference: ObjectReference, source: 'fresh' | 'remembered' = 'fresh'): Promise<DirectoryObjectDocument> {
  const object = source === 'remembered' ? await directory.getRemembered(tenantId, reference.id) : await directory.getObject(tenantId, reference.id);
  if (object === undefined || (reference.expectedType !== undefined && object.objectType !== reference.expectedType)) {
    throw graphErrors.resourceNotFound(reference.id);
  }
  return object;
}

/**
 * `answer`, once the object is known to exist (else its 404). The object is read beside the reads
 * of the answer rather than before them, one store round fewer; for an object that does not exist
 * they find nothing, and the 404 is what the caller gets.
 */
export async function answerIfObjectExists<T>(directory: DirectoryRepository, tenantId: string, reference: ObjectReference, answer: Promise<T>): Promise<T> {
  const [, answered] = await Promise.all([getObjectOrNotFound(directory, tenantId, reference), answer]);
  return answered;
}

/**
 * A new object's first version: the time, so that an object deleted and created again under the
 * same id (a sync application may choose ids) never shares a version, or anchors, with the old one.
 */
const firstVersion = (): number => Date.now();

/** A `{id}` route segment: 400 unless it is a GUID. */
export function parseObjectId(value: string): string {
  if (!guidPattern.test(value)) throw graphErrors.invalidObjectId(value);
  return value.toLowerCase();
}

/**
 * A user segment: an object id or, as in Graph, a userPrincipalName. Longer than a UPN can be
 * (principalNameLimits) it is no identifier: 400. A UPN no user could have been created with is
 * answered 404 without a store read.
 */
export async function resolveUserId(directory: DirectoryRepository, tenantId: string, idOrPrincipalName: string): Promise<string> {
  if (guidPattern.test(idOrPrincipalName)) return idOrPrincipalName.toLowerCase();
  const at = idOrPrincipalName.indexOf('@');
  if (at < 0 || at > principalNameLimits.localPart || idOrPrincipalName.length > principalNameLimits.total) {
    throw graphErrors.invalidObjectId(idOrPrincipalName);
  }
  if (!userPrincipalName.safeParse(idOrPrincipalName).success) throw graphErrors.resourceNotFound(idOrPrincipalName);
  const id = await directory.getUserIdByPrincipalName(tenantId, idOrPrincipalName);
  if (id === undefined) throw graphErrors.resourceNotFound(idOrPrincipalName);
  return id;
}

/**
 * SPEC 2: an `id` in a create body mirrors an Entra object id for a sync application; from anyone
 * else it would let a caller squat the id of an object Entra has yet to mirror (and own it).
 */
const mayChooseObjectIds = { delegated: [], application: ['Directory.ReadWrite.All'] } as const;

function assertMayChooseId(caller: Caller, id: string | undefined): void {
  if (id !== undefined && !hasPermission(caller, mayChooseObjectIds)) {
    throw graphErrors.readOnlyProperty('id');
  }
}

/** What POST /users needs beyond its permission, checked before anything is read or written. */
export function authorizeUserCreation(caller: Caller, input: CreateUserInput): void {
  assertMayChooseId(caller, input.id);
}

/**
 * What POST /groups needs beyond its permission, checked before anything is read or written:
 * creating a role-assignable group takes what changing one takes (the same rule as adding a
 * member, SPEC 2); the creator of an ordinary group becomes its owner, so it may bind members.
 */
export function authorizeGroupCreation(caller: Caller, input: CreateGroupInput): void {
  assertMayChooseId(caller, input.id);
  authorizeGroupChange(caller, groupTraits({ entity: input }), { callerOwnsGroup: true });
}

export async function createUser(directory: DirectoryRepository, caller: Caller, input: CreateUserInput): Promise<DirectoryObjectDocument> {
  authorizeUserCreation(caller, input);
  const { id = randomUUID(), passwordProfile: _ignored, '@odata.type': _type, ...properties } = input;
  const userId = id.toLowerCase();
  const user: DirectoryObjectDocument = {
    id: userId,
    pk: objectPartitionKey(caller.tenantId, userId),
    tenantId: caller.tenantId,
    objectType: 'user',
    version: firstVersion(),
    entity: {
      accountEnabled: true,
      mail: null,
      mailNickname: input.userPrincipalName.split('@')[0],
      ...properties,
      createdDateTime: new Date().toISOString(),
    },
  };
  if (input.id !== undefined) await directory.assertIdNotBeingDeleted(caller.tenantId, userId);
  await directory.createUser(user, input.userPrincipalName);
  return user;
}

interface ResolvedLinks {
  readonly owners: DirectoryObjectDocument[];
  readonly members: DirectoryObjectDocument[];
}

async function resolveLinks(directory: DirectoryRepository, tenantId: string, links: readonly string[], baseUrl: string, property: 'members' | 'owners'): Promise<DirectoryObjectDocument[]> {
  const references = links.map((link) => parseODataId(link, baseUrl));
  assertDistinctLinks(references, property);
  return Promise.all(references.map((reference) => getObjectOrNotFound(directory, tenantId, reference)));
}

/**
 * POST /groups: checks every bound owner and member (and the membership rules for members)
 * before anything is written; a delegated creator becomes an owner, as in Entra.
 *
 * The group document is the commit point and is written last (issue 8, item 7): owner and
 * member edges first, then the group. If anything fails, the edges this request created are
 * taken back before the error is answered, so a 503 leaves no group and no edges (what a failed
 * take-back leaves, edges of a group that does not exist, the reconciler deletes after its grace
 * period); never a group without its owner. A group that does not exist yet cannot be nested
 * into or under anything, so its member edges need no cycle check, except when the caller
 * chose the id: then another request could create that group meanwhile, and each member group
 * is reserved through the nesting guard as an add would be.
 */
export async function createGroup(directory: DirectoryRepository, memberships: MembershipRepository, caller: Caller, input: CreateGroupInput, baseUrl: string): Promise<DirectoryObjectDocument> {
  authorizeGroupCreation(caller, input);
  const groupId = (input.id ?? randomUUID()).toLowerCase();
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await createGroupOnce(directory, memberships, caller, input, baseUrl, groupId);
    } catch (error) {
      // A bound member changed or went between its read and its edge (anchors.ts): everything
      // this attempt wrote was taken back; read the links again.
      if (!(error instanceof StaleObjects)) throw error;
      if (attempt === 3) throw graphErrors.throttled(1);
    }
  }
}

async function createGroupOnce(
  directory: DirectoryRepository,
  memberships: MembershipRepository,
  caller: Caller,
  input: CreateGroupInput,
  baseUrl: string,
  groupId: string,
): Promise<DirectoryObjectDocument> {
  const properties: Record<string, unknown> = { ...input };
  for (const name of [...serverManagedGroupProperties, '@odata.type', 'owners@odata.bind', 'members@odata.bind']) delete properties[name];
  const group: DirectoryObjectDocument = {
    id: groupId,
    pk: objectPartitionKey(caller.tenantId, groupId),
    tenantId: caller.tenantId,
    objectType: 'group',
    version: firstVersion(),
    entity: {
      description: null,
      groupTypes: [],
      isAssignableToRole: input.isAssignableToRole ?? false,
      mail: input.mailEnabled ? `${input.mailNickname}@${caller.tenantId}.local` : null,
      membershipRule: null,
      visibility: null,
      ...properties,
      createdDateTime: new Date().toISOString(),
    },
  };
  const links: ResolvedLinks = {
    owners: await resolveLinks(directory, caller.tenantId, input['owners@odata.bind'] ?? [], baseUrl, 'owners'),
    members: await resolveLinks(directory, caller.tenantId, input['members@odata.bind'] ?? [], baseUrl, 'members'),
  };
  for (const owner of links.owners) {
    if (owner.objectType !== 'user') throw graphErrors.resourceNotFound(owner.id);
  }
  for (const member of links.members) checkMembershipRules(group, member);
  const chosenId = input.id !== undefined;
  // An existing group's edges must never be written, not even for a moment.
  if (chosenId && (await directory.getObject(caller.tenantId, groupId)) !== undefined) throw duplicateId();
  if (chosenId) await directory.assertIdNotBeingDeleted(caller.tenantId, groupId);

  const owners = new Map(links.owners.map((owner) => [owner.id, owner]));
  if (caller.kind === 'user' && !owners.has(caller.userId)) {
    const creator = await directory.getObject(caller.tenantId, caller.userId);
    if (creator !== undefined) owners.set(creator.id, creator);
  }
  // Each group nested at creation goes through the tenant's nesting journal (src/membership/nestingGuard.ts):
  // its cycle check and closure bound (a 400 before anything is written), and an entry that stays
  // pending until the closure was updated after the write. With an id the service chose, no cycle
  // can form (nothing can be nested in a group that does not exist yet), but the entry is needed all the same.
  const reservations: NestingReservation[] = [];
  for (const member of links.members) {
    if (member.objectType === 'group') reservations.push(await reserveNesting(memberships, caller.tenantId, groupId, member.id));
  }
  let writeFailed = true;
  try {
    for (const reservation of reservations) reservation.assertFresh();
    const takeBack = await memberships.createEdgesOfNewGroup(group, [...owners.values()], links.members);
    try {
      await directory.createGroup(group);
    } catch (error) {
      // A store fault may hide a write that landed: then the group is complete, and stays.
      const landed = error instanceof GraphError ? undefined : await directory.getObject(caller.tenantId, groupId).catch(() => undefined);
      if (landed === undefined) {
        await takeBack();
        throw error;
      }
    }
    writeFailed = false;
  } finally {
    await finishReservations(reservations, writeFailed);
  }
  return group;
}

/** The repository's answer to a create whose id exists (directoryRepository.createGroup). */
const duplicateId = () => new GraphError('Request_BadRequest', 'Another object with the same value for property id already exists.');
