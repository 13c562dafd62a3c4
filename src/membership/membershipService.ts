import { createHash } from 'node:crypto';
import { callerKey, type Caller } from '../auth';
import { authorizeGroupChange, managesAnyGroup } from '../auth/groupRights';
import { groupTraits, type DirectoryObjectDocument } from '../directory/directoryObjects';
import type { DirectoryRepository } from '../directory/directoryRepository';
import { getObjectOrNotFound } from '../directory/directoryService';
import type { ObjectReference } from '../graph/odataReference';
import { GraphError, graphErrors } from '../http/errors';
import type { AddOrigin } from './edges';
import { StaleObjects, type MembershipRepository } from './membershipRepository';
import { checkMembershipRules } from './membershipRules';
import { reserveNesting, type NestingGuardState } from './nestingGuard';

/** SPEC section 4: a retry within this window gets the original answer. */
export const replayWindowInMs = 24 * 60 * 60 * 1000;

/** Identifies a request so that its retry can be recognized, never to authorize it. */
export interface RequestIdentity {
  /** Idempotency-Key, else a client-chosen client-request-id; undefined when neither was sent. */
  readonly key: string | undefined;
  /** Method, path and body: a different body under the same key is a different request. */
  readonly fingerprint: string;
}

export interface AddMembershipCommand {
  readonly caller: Caller;
  readonly group: ObjectReference;
  readonly member: ObjectReference;
  /** S3: the caller must be a direct member of this group (the member being nested). */
  readonly callerMustBeMemberOf?: string;
  readonly request: RequestIdentity;
}

export interface AddMembershipResult {
  readonly group: DirectoryObjectDocument;
  readonly member: DirectoryObjectDocument;
  /** True when this answers a retry of an earlier successful add. */
  readonly replayed: boolean;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

function originOf(caller: Caller, request: RequestIdentity): AddOrigin | undefined {
  if (request.key === undefined) return undefined;
  return { keyHash: sha256(`${callerKey(caller)}\n${request.key}`), requestHash: sha256(request.fingerprint), atMs: Date.now() };
}

function isReplay(existing: AddOrigin | undefined, attempt: AddOrigin | undefined): boolean {
  return existing !== undefined && attempt !== undefined && existing.keyHash === attempt.keyHash && existing.requestHash === attempt.requestHash && attempt.atMs - existing.atMs <= replayWindowInMs;
}

/**
 * Adds a direct member to a group. The pipeline has checked the caller's permission; every
 * other check happens before the one write round: existence in the caller's tenant, the caller's
 * right on the group, the membership rules, and (for a group member) the cycle check, which
 * reserves the nesting in the tenant's nesting guard first (nestingGuard.ts: no timing can close
 * a cycle). A user member never touches the guard. A duplicate is a 400 unless it is a retry of
 * the add that created the edge.
 *
 * The objects may come from this instance's remembered copies: the write round checks each copy's
 * version against the object's anchors in the same transactional batch as each side's create
 * (anchors.ts), so a copy made stale by a PATCH or DELETE anywhere writes nothing, and the add
 * starts again from the store. Objects seen before: one round, two store requests; an object not
 * seen before adds its point read to a first round.
 */
export async function addMembership(directory: DirectoryRepository, memberships: MembershipRepository, command: AddMembershipCommand): Promise<AddMembershipResult> {
  // A guard read already in flight is for the first attempt only (see below).
  let guardReadEarly: Promise<NestingGuardState> | undefined = command.member.expectedType === 'group' ? memberships.readNestingGuard(command.caller.tenantId) : undefined;
  guardReadEarly?.catch(() => undefined);
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await addMembershipOnce(directory, memberships, command, attempt === 1, guardReadEarly);
    } catch (error) {
      // A remembered copy was stale (changed or deleted on some instance): read both again, and
      // decide again from what the store has now (a deleted object is then a 404).
      if (!(error instanceof StaleObjects) || attempt === maxStaleRetries) {
        if (error instanceof StaleObjects) throw graphErrors.throttled(1);
        throw error;
      }
      for (const id of error.objectIds) directory.forget(command.caller.tenantId, id);
      guardReadEarly = undefined;
    }
  }
}

/** Attempts of an add whose copies of the objects its anchors found stale (each reads them anew). */
const maxStaleRetries = 3;

async function addMembershipOnce(
  directory: DirectoryRepository,
  memberships: MembershipRepository,
  command: AddMembershipCommand,
  mayUseRemembered: boolean,
  guardReadEarly: Promise<NestingGuardState> | undefined,
): Promise<AddMembershipResult> {
  const { caller } = command;
  const tenantId = caller.tenantId;
  const delegatedUserId = caller.kind === 'user' && !managesAnyGroup(caller) ? caller.userId : undefined;
  const read = (reference: ObjectReference) => getObjectOrNotFound(directory, tenantId, reference, mayUseRemembered ? 'remembered' : 'fresh');
  // A nesting's edge, read beside the objects when the reference says "group" (see below).
  const nestingEdgeRead = command.member.expectedType === 'group' ? memberships.readEdgeSides(tenantId, command.group.id, command.member.id) : undefined;
  nestingEdgeRead?.catch(() => undefined);

  const [group, member, callerOwnsGroup, callerIsMember] = await Promise.all([
    read({ ...command.group, expectedType: 'group' }),
    read(command.member),
    delegatedUserId === undefined ? false : memberships.isOwner(tenantId, command.group.id, delegatedUserId),
    command.callerMustBeMemberOf === undefined || caller.kind !== 'user' ? true : memberships.getMembership(tenantId, command.callerMustBeMemberOf, caller.userId).then((edge) => edge !== undefined),
  ]);
  if (!callerIsMember) throw graphErrors.resourceNotFound(command.callerMustBeMemberOf ?? member.id);

  authorizeGroupChange(caller, groupTraits(group), { callerOwnsGroup, memberId: member.id });
  checkMembershipRules(group, member);
  const origin = originOf(caller, command.request);
  let outcome;
  if (member.objectType === 'group') {
    // A complete edge is the duplicate 400 (or a replay's answer) before the journal: a nesting
    // that changes nothing writes nothing. A half-written one goes on, for the write to complete it.
    const sides = await (nestingEdgeRead !== undefined && command.member.id === member.id && command.group.id === group.id
      ? nestingEdgeRead
      : memberships.readEdgeSides(tenantId, group.id, member.id));
    if (sides.groupSide !== undefined && sides.memberSide !== undefined) {
      if (isReplay(sides.groupSide.origin, origin)) return { group, member, replayed: true };
      throw graphErrors.referenceAlreadyExists('members');
    }
    // The cycle check and the closure's bound read the closure (nestingGuard.ts): a 400 before anything is written.
    const reservation = await reserveNesting(memberships, tenantId, group.id, member.id, guardReadEarly);
    let writeFailed = true;
    try {
      reservation.assertFresh();
      outcome = await memberships.createMembership(group, member, origin);
      writeFailed = false;
    } finally {
      // Whatever the write did (a duplicate, a replay, a fault): the closure update from the edges,
      // then the journal entry goes, unless the write failed or the update did: then it stays pending.
      await reservation.finish(writeFailed);
    }
  } else {
    outcome = await memberships.createMembership(group, member, origin);
  }
  if (outcome.created) return { group, member, replayed: false };
  if (isReplay(outcome.existing.origin, origin)) return { group, member, replayed: true };
  throw graphErrors.referenceAlreadyExists('members');
}

/** DELETE /groups/{id}/members/{memberId}/$ref: 404 unless it is a direct member. */
export async function removeMembership(directory: DirectoryRepository, memberships: MembershipRepository, caller: Caller, groupId: string, memberId: string): Promise<void> {
  const delegatedUserId = caller.kind === 'user' && !managesAnyGroup(caller) ? caller.userId : undefined;
  const [group, member, callerOwnsGroup] = await Promise.all([
    getObjectOrNotFound(directory, caller.tenantId, { id: groupId, expectedType: 'group' }),
    getObjectOrNotFound(directory, caller.tenantId, { id: memberId }),
    delegatedUserId === undefined ? false : memberships.isOwner(caller.tenantId, groupId, delegatedUserId),
  ]);
  authorizeGroupChange(caller, groupTraits(group), { callerOwnsGroup, memberId: member.id });
  if (groupTraits(group).isDynamic) throw new GraphError('Request_BadRequest', 'Members of a group with dynamic membership cannot be removed manually.');
  if (member.objectType !== 'group') {
    if (!(await memberships.deleteMembership(group, member))) throw graphErrors.resourceNotFound(memberId);
    return;
  }
  // No edge at all is the 404 before the journal: a removal that removes nothing writes nothing.
  const sides = await memberships.readEdgeSides(caller.tenantId, group.id, member.id);
  if (sides.groupSide === undefined && sides.memberSide === undefined) throw graphErrors.resourceNotFound(memberId);
  // A nesting's removal is journaled as an add is (nestingGuard.ts): pending before the delete,
  // settled only once the closure was recomputed after it.
  const reservation = await reserveNesting(memberships, caller.tenantId, group.id, member.id, undefined, 'remove');
  let removed: boolean;
  let writeFailed = true;
  try {
    reservation.assertFresh();
    removed = await memberships.deleteMembership(group, member);
    writeFailed = false;
  } finally {
    await reservation.finish(writeFailed);
  }
  if (!removed) throw graphErrors.resourceNotFound(memberId);
}
