import type { DirectoryObjectDocument } from '../directory/directoryObjects';
import type { LifecycleStore } from '../directory/lifecycleStore';
import { parseODataId, type ObjectReference } from '../graph/odataReference';
import { graphErrors } from '../http/errors';
import { checkMembershipRules } from './membershipRules';
import { finishReservations, reserveNesting, type NestingReservation } from './nestingGuard';

/** `members@odata.bind` and `owners@odata.bind` of a group PATCH, each resolved to its object. */
export interface ResolvedBinds {
  readonly members: readonly DirectoryObjectDocument[];
  readonly owners: readonly DirectoryObjectDocument[];
}

/**
 * Resolves and checks every link before anything is written (SPEC 6: all-or-nothing): each link
 * parses (400), names an object of the tenant (404), an owner is a user (404, as POST /groups
 * answers), no object is named twice and none is already a member (or owner) of the group
 * (Graph's duplicate 400 for the property), and each member passes the membership rules against
 * the group as it will be after the PATCH. The cycle check is the write's (writeBinds).
 */
export async function resolveBinds(store: LifecycleStore, group: DirectoryObjectDocument, memberLinks: readonly string[], ownerLinks: readonly string[], baseUrl: string): Promise<ResolvedBinds> {
  const memberReferences = memberLinks.map((link) => parseODataId(link, baseUrl));
  const ownerReferences = ownerLinks.map((link) => parseODataId(link, baseUrl));
  assertDistinctLinks(memberReferences, 'members');
  assertDistinctLinks(ownerReferences, 'owners');
  const [members, owners] = await Promise.all([resolveAll(store, group.tenantId, memberReferences), resolveAll(store, group.tenantId, ownerReferences)]);
  for (const owner of owners) {
    if (owner.objectType !== 'user') throw graphErrors.resourceNotFound(owner.id);
  }
  for (const member of members) checkMembershipRules(group, member);
  const [memberExists, ownerExists] = await Promise.all([
    Promise.all(members.map((member) => store.edgeExists(group.tenantId, group.id, member.id, 'member'))),
    Promise.all(owners.map((owner) => store.edgeExists(group.tenantId, group.id, owner.id, 'owner'))),
  ]);
  if (memberExists.includes(true)) throw graphErrors.referenceAlreadyExists('members');
  if (ownerExists.includes(true)) throw graphErrors.referenceAlreadyExists('owners');
  return { members, owners };
}

/** One object linked twice in one property (by any spelling of its link): Graph's duplicate 400, at creation as in a PATCH. */
export function assertDistinctLinks(references: readonly ObjectReference[], property: 'members' | 'owners'): void {
  if (new Set(references.map((reference) => reference.id)).size !== references.length) throw graphErrors.referenceAlreadyExists(property);
}

async function resolveAll(store: LifecycleStore, tenantId: string, references: readonly ObjectReference[]): Promise<DirectoryObjectDocument[]> {
  return Promise.all(
    references.map(async (reference) => {
      const object = await store.readObject(tenantId, reference.id);
      if (object === undefined || (reference.expectedType !== undefined && object.objectType !== reference.expectedType)) throw graphErrors.resourceNotFound(reference.id);
      return object;
    }),
  );
}

/**
 * Writes the resolved binds: each member group is first reserved through the tenant's nesting
 * guard (the cycle check, as an add does), then every edge is created. Returns a take-back that
 * removes exactly the edges this call wrote, for when the rest of the PATCH fails. If any write
 * fails, or finds its edge already there (an add raced this PATCH: Graph's duplicate 400), the
 * edges written so far are taken back before the error is thrown: nothing is added.
 */
export async function writeBinds(store: LifecycleStore, group: DirectoryObjectDocument, binds: ResolvedBinds): Promise<() => Promise<void>> {
  const written: (() => Promise<unknown>)[] = [];
  const takeBack = async () => {
    for (const undo of written.reverse()) await undo().catch(() => undefined);
  };
  if (binds.members.length === 0 && binds.owners.length === 0) return takeBack;
  const reservations: NestingReservation[] = [];
  try {
    // Each nesting through the tenant's nesting journal (nestingGuard.ts): its cycle check and the
    // closure's bound (a 400 before anything is written), pending until the closure is updated.
    for (const member of binds.members) {
      if (member.objectType === 'group') reservations.push(await reserveNesting(store.memberships, group.tenantId, group.id, member.id));
    }
    for (const reservation of reservations) reservation.assertFresh();
    for (const member of binds.members) {
      const outcome = await store.memberships.createMembership(group, member);
      if (!outcome.created) throw graphErrors.referenceAlreadyExists('members');
      written.push(async () => {
        if (member.objectType !== 'group') {
          await store.memberships.deleteMembership(group, member);
          return;
        }
        // Taking a nesting back is a removal, journaled as one.
        const removal = await reserveNesting(store.memberships, group.tenantId, group.id, member.id, undefined, 'remove');
        let writeFailed = true;
        try {
          await store.memberships.deleteMembership(group, member);
          writeFailed = false;
        } finally {
          await removal.finish(writeFailed);
        }
      });
    }
    for (const owner of binds.owners) {
      if (!(await store.createOwner(group, owner))) throw graphErrors.referenceAlreadyExists('owners');
      written.push(() => store.memberships.takeBackOwner(group.tenantId, group.id, owner.id));
    }
  } catch (error) {
    // Within the reservations: the take-back's removals are covered by their entries too.
    await takeBack();
    await finishReservations(reservations, true).catch(() => undefined);
    throw error;
  }
  try {
    // Once both sides of every nesting are written (closure.ts rule 3), as an add does.
    await finishReservations(reservations);
  } catch (error) {
    await takeBack();
    throw error;
  }
  return takeBack;
}
