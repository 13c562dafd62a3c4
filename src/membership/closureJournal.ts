import type { MembershipRepository } from './membershipRepository';
import { markEntry, nestingLimits, removePending, type NestingGuardState, type PendingNesting } from './nestingGuard';

/**
 * Finishing the closure updates that the tenant's journal (the nesting guard's `pending` list,
 * nestingGuard.ts) still lists: a change whose writer is still running, or was cut short by a
 * store fault after its edge write. Finishing is the closure's recompute from the edges as they
 * are now (closure.ts afterNestingChanged: idempotent, If-Match), so anyone may run it at any
 * time, as often as it likes.
 */

/**
 * Whether a pending change can make a stored upward answer (the groups `subject` is in) differ
 * from the edges': its member group is the subject or one of the groups read for it. A path from
 * the subject through settled edges up to a pending change's member is in the stored closure
 * (nestingGuard.ts), so the first pending change on any path that matters is caught.
 */
export const affectsGroupsOf = (subjectId: string, groupIds: ReadonlySet<string>) => (entry: PendingNesting) => entry.memberId === subjectId || groupIds.has(entry.memberId);

/** The same downward, for the objects under `groupId`: the change's group is it or under it. */
export const affectsMembersOf = (groupId: string, groupIds: ReadonlySet<string>) => (entry: PendingNesting) => entry.groupId === groupId || groupIds.has(entry.groupId);

/**
 * Recomputes the closure for every pending change that `affects` selects (at once). Returns
 * whether there was any: the caller then reads the closure again. The entries stay pending (their
 * writer may still be writing; the writer or the timer settles them), except those marked
 * `edgeComplete`, whose writer has gone: they are marked settled.
 */
export async function finishAffecting(memberships: MembershipRepository, tenantId: string, guard: NestingGuardState, affects: (entry: PendingNesting) => boolean): Promise<boolean> {
  const entries = guard.pending.filter(affects);
  if (entries.length === 0) return false;
  await finishEntries(memberships, tenantId, entries);
  // Those whose edge is complete have no writer left: finished, they are settled (best effort).
  const complete = entries.filter((entry) => entry.edgeComplete === true);
  await Promise.all(complete.map((entry) => markEntry(memberships, tenantId, entry, { settled: true })));
  return true;
}

async function finishEntries(memberships: MembershipRepository, tenantId: string, entries: readonly PendingNesting[]): Promise<void> {
  const distinct = new Map(entries.map((entry) => [`${entry.groupId}|${entry.memberId}`, entry]));
  for (const entry of distinct.values()) await memberships.closure.afterNestingChanged(tenantId, entry.groupId, entry.memberId);
}

export interface PendingNestingsReport {
  /** Pending changes whose closure update was run again. */
  readonly recomputed: number;
  /** Of those, the ones older than `settleAfterMs`, removed from the journal. */
  readonly settled: number;
}

/**
 * The timer's part (functions/reconcileMemberships.ts, after the member sides were reconciled):
 * every tenant's pending changes are recomputed; those that were older than `settleAfterMs`
 * before the recompute started (no writer can write their edges any more: nestingGuard.ts step 4)
 * are then removed from the journal, with the settled entries that no commit has left out yet,
 * and the marks of all of them. Marks of entries no longer listed that are older than
 * `settleAfterMs` go too: an entry is committed before its mark is written, so the guard read
 * with the marks lists the entry of any mark younger than the read by more than the read's own
 * duration. Idempotent: an interrupted run is run again.
 */
export async function finishPendingNestings(memberships: MembershipRepository, settleAfterMs: number = nestingLimits.settleAfterMs): Promise<PendingNestingsReport> {
  let recomputed = 0;
  let settled = 0;
  for (const tenantId of await memberships.listNestingJournalTenants()) {
    const journal = await memberships.readNestingGuard(tenantId);
    const cutoff = Date.now() - settleAfterMs;
    await finishEntries(memberships, tenantId, journal.pending);
    recomputed += journal.pending.length;
    const old = journal.pending.filter((entry) => entry.atMs <= cutoff).map((entry) => entry.id);
    const leaving = [...old, ...journal.settledIds];
    if (leaving.length > 0 && (await removePending(memberships, tenantId, new Set(leaving)))) {
      settled += old.length;
      await memberships.deleteNestingMarks(tenantId, leaving);
    }
    await memberships.deleteNestingMarks(
      tenantId,
      journal.strayMarks.filter((mark) => mark.atMs <= cutoff).map((mark) => mark.entryId),
    );
  }
  return { recomputed, settled };
}
