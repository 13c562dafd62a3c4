import type { MembershipRepository } from './membershipRepository';
import { nestingLimits, removePending, type NestingGuardState, type PendingNesting } from './nestingGuard';

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
 * whether there was any: the caller then reads the closure again. The entries stay listed (their
 * writer may still be writing; the writer or the timer removes them), except those marked
 * `edgeComplete`, whose writer has gone: they are removed.
 */
export async function finishAffecting(memberships: MembershipRepository, tenantId: string, guard: NestingGuardState, affects: (entry: PendingNesting) => boolean): Promise<boolean> {
  const entries = guard.pending.filter(affects);
  if (entries.length === 0) return false;
  await finishEntries(memberships, tenantId, entries);
  // Those whose edge is complete have no writer left: finished, they go (best effort).
  const complete = new Set(entries.filter((entry) => entry.edgeComplete === true).map((entry) => entry.id));
  if (complete.size > 0) await removePending(memberships, tenantId, complete, guard);
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
 * are then removed from the journal. Idempotent: an interrupted run is run again.
 */
export async function finishPendingNestings(memberships: MembershipRepository, settleAfterMs: number = nestingLimits.settleAfterMs): Promise<PendingNestingsReport> {
  let recomputed = 0;
  let settled = 0;
  for (const guard of await memberships.listPendingNestingGuards()) {
    const cutoff = Date.now() - settleAfterMs;
    await finishEntries(memberships, guard.tenantId, guard.pending);
    recomputed += guard.pending.length;
    const old = new Set(guard.pending.filter((entry) => entry.atMs <= cutoff).map((entry) => entry.id));
    if (old.size === 0) continue;
    await removePending(memberships, guard.tenantId, old);
    settled += old.size;
  }
  return { recomputed, settled };
}
