import { randomUUID } from 'node:crypto';
import { GraphError, graphErrors } from '../http/errors';
import { changeTooLarge, closureLimits, setTooLarge, type ClosureSet } from './closure';
import type { MembershipRepository } from './membershipRepository';

/**
 * DESIGN: no nesting may ever close a cycle (issue 8, item 4), whatever the timing, the number
 * of instances, or the store faults; the nested-group closure (closure.ts) may never lag the
 * edges silently (issue 11, item 2); and the cycle check reads at most 2 sequential store rounds,
 * whatever the depth.
 *
 * Cosmos DB has no cross-partition transaction; what it has is optimistic concurrency on one
 * document (a replace with If-Match on its _etag fails with 412 if anyone replaced it since it
 * was read: https://learn.microsoft.com/azure/cosmos-db/nosql/database-transactions-optimistic-concurrency).
 * So every change of a group-into-group edge of a tenant (add or removal) goes through one
 * journal document, the guard, partition `{tid}|nesting` of the memberships container, which
 * lists the nesting changes whose closure update has not finished (`pending`):
 *
 *  1. read the guard (beside the existence reads when the reference already says "group");
 *  2. an add only: read the closure (one round, all at once): the member's descendants, the
 *     target's ancestors, and the descendants of the member of every pending add; in memory,
 *     the groups reachable from the member through the stored descendants and the pending adds
 *     (as edges); reaching the target means a cycle: 400. The same documents give the closure
 *     update's size: beyond `closureLimits`, a 400. Nothing is written before these answers;
 *  3. replace the guard, If-Match the etag read in 1, with this change appended to `pending`;
 *     a 412 means another change committed in between: back to 1, a few times, then 429;
 *  4. write the edge documents, unless so much time passed since 3 that this entry could be
 *     settled by someone else (then 503: nothing written);
 *  5. update the closure from the edges (closure.ts, idempotent), then remove the entry from
 *     `pending` (If-Match). A fault anywhere from 4 on leaves the entry: the change stays visible.
 *     A writer whose update failed marks its entry `writeEnded` (best effort): a check then reads
 *     that edge's group side (the truth) in its second round, rather than counting it as an edge.
 *     When only the update failed (the edge is complete) the change is answered as done, its entry
 *     marked `edgeComplete`: the next writer finishes up to `settledPerChange` such entries beside
 *     its own, a reader finishes those it affects, the timer the rest.
 *
 * Why no cycle can form: the successful guard replaces of a tenant are totally ordered. Take two
 * adds N1 before N2 in that order. N2 read the guard version it replaced after N1's replace, so
 * either that version lists N1 (N2 counted N1's edge), or N1's entry was removed since, which
 * happens only after N1's closure update ended (5), or after the entry was settled by a finisher
 * that recomputed the closure from the edges once N1 could no longer write (see settleAfterMs).
 * N2 read the closure after the guard, so it saw N1's edge in the closure whenever N1's entry was
 * gone. A path through edges whose entries are gone is in the stored descendants of its first
 * group (each recompute reads the edges after they were written, closure.ts rules 1-3), and the
 * check adds every pending add as an edge: a cycle needs some add to close it last, and that one
 * would have found the path. Pending removals only make the stored closure larger than the edges'
 * until their update ends: a check may then refuse an add that the edges alone would allow (never
 * the reverse).
 *
 * Why the closure cannot lag silently: every edge change is in `pending` from before its edge
 * write (3) until the closure is updated after it (5). Readers of the closure (transitive.ts)
 * read the guard in their first round, and recompute whatever a pending entry affects before
 * answering; the timer (functions/reconcileMemberships.ts) recomputes every pending entry and
 * removes those older than `settleAfterMs`, after the member sides are reconciled.
 *
 * The cost of one check: the guard read (first round, beside the existence reads), then 4 + p
 * point reads at once (p: distinct members of pending adds, at most `maxPending`); each tenant
 * has, per instance, at most `tenantChecksAtOnce` checks at once (a few more wait up to 2 s for a
 * slot), answered with 429 and Retry-After beyond.
 */
export const nestingLimits = {
  /** Guard replaces tried before a contended nesting answers 429. */
  commitAttempts: 16,
  /** Longest a check may take before it answers 503 (the function's limit is 30 s, host.json). */
  checkDeadlineMs: 10_000,
  /** A change that finds this much time passed since its commit writes no edge (step 4)... */
  writeDeadlineMs: 60_000,
  /** ...so a pending entry this old has no writer left: a finisher may settle it (remove it after a recompute). */
  settleAfterMs: 5 * 60_000,
  /** Pending entries with a complete edge that one change finishes beside its own. */
  settledPerChange: 4,
  /** Pending changes a tenant's guard may list; beyond it, 429. */
  maxPending: 200,
  /** Per tenant, per instance: nesting checks at once. */
  tenantChecksAtOnce: 16,
  /** Checks that may wait for a slot, and how long. */
  tenantChecksWaiting: 32,
  tenantSlotWaitMs: 2_000,
} as const;

export const nestingGuardId = 'nesting';

/** A nesting change between its commit (step 3) and the end of its closure update (step 5). */
export interface PendingNesting {
  readonly id: string;
  readonly groupId: string;
  readonly memberId: string;
  readonly change: 'add' | 'remove';
  /** When it was committed (epoch ms). */
  readonly atMs: number;
  /**
   * Set by a writer whose closure update failed, once its edge write had ended (landed or taken
   * back): the edge documents now tell whether it is an edge, so a cycle check reads them instead
   * of counting the entry as one until it is settled.
   */
  readonly writeEnded?: boolean;
  /**
   * Set with `writeEnded` when the edge write itself succeeded (only the closure update failed):
   * both sides agree, so anyone may finish the entry (recompute, then remove it) at once: the next
   * writer of the tenant's nestings and the next reader it affects do.
   */
  readonly edgeComplete?: boolean;
}

/** What the guard holds. */
export interface NestingGuardContent {
  readonly pending: readonly PendingNesting[];
  /** Commits so far (step 3). */
  readonly commits: number;
}

export interface NestingGuardDocument extends NestingGuardContent {
  readonly id: typeof nestingGuardId;
  readonly pk: string;
  readonly tenantId: string;
  readonly kind: 'nestingGuard';
  readonly _etag?: string;
}

export interface NestingGuardState extends NestingGuardContent {
  /** Absent when there is no guard document yet. */
  readonly etag?: string;
}

const cycleError = () => new GraphError('Request_BadRequest', 'The nesting would create a cycle: the group is already a direct or indirect member of the member being added.');
const contended = () => new GraphError('TooManyRequests', 'Too many group nestings are being made in this tenant at once. Retry after the time given in Retry-After.', { 'Retry-After': '1' });

/**
 * Nesting checks in progress per tenant on this instance: at most `tenantChecksAtOnce`; a check
 * beyond waits up to `tenantSlotWaitMs` for a slot (at most `tenantChecksWaiting` wait), else 429.
 */
class TenantCheckSlots {
  private readonly running = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();

  async acquire(tenantId: string): Promise<() => void> {
    const release = () => this.release(tenantId);
    const running = this.running.get(tenantId) ?? 0;
    if (running < nestingLimits.tenantChecksAtOnce) {
      this.running.set(tenantId, running + 1);
      return release;
    }
    const queue = this.waiting.get(tenantId) ?? [];
    if (queue.length >= nestingLimits.tenantChecksWaiting) throw busyTenant();
    this.waiting.set(tenantId, queue);
    await new Promise<void>((resolve, reject) => {
      const handOver = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        queue.splice(queue.indexOf(handOver), 1);
        if (queue.length === 0) this.waiting.delete(tenantId);
        reject(busyTenant());
      }, nestingLimits.tenantSlotWaitMs);
      queue.push(handOver);
    });
    return release;
  }

  private release(tenantId: string): void {
    const queue = this.waiting.get(tenantId);
    const next = queue?.shift();
    if (queue !== undefined && queue.length === 0) this.waiting.delete(tenantId);
    // The slot passes to the next waiter as it is; only without one does the count drop.
    if (next !== undefined) next();
    else {
      const left = (this.running.get(tenantId) ?? 1) - 1;
      if (left <= 0) this.running.delete(tenantId);
      else this.running.set(tenantId, left);
    }
  }
}

const busyTenant = () => new GraphError('TooManyRequests', 'Too many group nestings are being checked in this tenant at once. Retry after the time given in Retry-After.', { 'Retry-After': '1' });

const checkSlots = new TenantCheckSlots();

/**
 * Step 2 for "`memberGroupId` into `groupId`": one round of closure reads; throws the cycle 400
 * or the closure-size 400 (closure.ts). `pending` is the guard's list as read in step 1.
 */
export async function checkNestingAgainstClosure(memberships: MembershipRepository, tenantId: string, groupId: string, memberGroupId: string, pending: readonly PendingNesting[]): Promise<void> {
  if (groupId === memberGroupId) throw cycleError();
  const pendingAdds = pending.filter((entry) => entry.change === 'add');
  const others = [...new Set(pendingAdds.map((entry) => entry.memberId))].filter((id) => id !== memberGroupId);
  const ended = pendingAdds.filter((entry) => entry.writeEnded === true);
  const read = (id: string, side: 'ancestors' | 'descendants') => memberships.closure.read(tenantId, id, side);
  // One round: the closure documents, and the group-side edge (the truth) of each add whose write has ended.
  const [edgesOfEnded, below, above, belowTarget, aboveMember, ...otherBelow] = await Promise.all([
    Promise.all(ended.map((entry) => memberships.getMembership(tenantId, entry.groupId, entry.memberId))),
    read(memberGroupId, 'descendants'),
    read(groupId, 'ancestors'),
    read(groupId, 'descendants'),
    read(memberGroupId, 'ancestors'),
    ...others.map((id) => read(id, 'descendants')),
  ]);
  const absent = new Set(ended.filter((_, index) => edgesOfEnded[index] === undefined));
  const adds = pendingAdds.filter((entry) => !absent.has(entry));
  const descendants = new Map<string, ClosureSet>([[memberGroupId, below], ...others.map((id, index): [string, ClosureSet] => [id, otherBelow[index]!])]);
  // The groups reachable from the member: its stored descendants, and through every pending add
  // whose group is reachable, that add's member and its stored descendants (to a fixed point).
  const reachable = new Set([memberGroupId, ...below.ids]);
  for (let grew = true; grew;) {
    grew = false;
    for (const entry of adds) {
      if (!reachable.has(entry.groupId) || reachable.has(entry.memberId)) continue;
      reachable.add(entry.memberId);
      for (const id of descendants.get(entry.memberId)?.ids ?? []) reachable.add(id);
      grew = true;
    }
  }
  if (reachable.has(groupId)) throw cycleError();
  // The closure update's size (closure.ts): the member and everything under it get ancestors, the
  // target and everything above it get descendants.
  const documents = reachable.size + above.ids.length + 1;
  if (documents > closureLimits.maxDocumentsPerChange) throw changeTooLarge(documents);
  const largest = Math.max(aboveMember.ids.length + above.ids.length + 1, belowTarget.ids.length + reachable.size);
  if (largest > closureLimits.maxSetSize) throw setTooLarge(largest);
}

/** A committed change (step 3 done): write its edges, then finish it. */
export interface NestingReservation {
  /** Step 4: throws 503 if the entry may be settled by someone else; call right before writing. */
  assertFresh(): void;
  /**
   * Step 5: the closure update from the edges as they are now (whether the write landed or not),
   * then the entry's removal. Never throws: when the update fails, the entry stays pending (marked
   * `writeEnded` and `edgeComplete`), so the change stands and its lag is visible. After a failed
   * write (`writeFailed`: it may have left one side of the edge behind, which the reconciler
   * mends later) the entry stays too, marked `writeEnded`, for the timer to finish once the sides
   * agree.
   */
  finish(writeFailed?: boolean): Promise<void>;
}

/**
 * Steps 1 to 3 for "`memberGroupId` into or out of `groupId`": resolves once this change is in
 * the guard's pending list and (an add) no cycle can form with it; throws the cycle 400, the
 * closure-size 400, or 429/503 with Retry-After.
 */
export async function reserveNesting(
  memberships: MembershipRepository,
  tenantId: string,
  groupId: string,
  memberGroupId: string,
  guardReadEarly?: Promise<NestingGuardState>,
  change: 'add' | 'remove' = 'add',
): Promise<NestingReservation> {
  const endCheck = await checkSlots.acquire(tenantId);
  try {
    return await checkAndCommit(memberships, tenantId, groupId, memberGroupId, guardReadEarly, change);
  } finally {
    endCheck();
  }
}

async function checkAndCommit(
  memberships: MembershipRepository,
  tenantId: string,
  groupId: string,
  memberGroupId: string,
  guardReadEarly: Promise<NestingGuardState> | undefined,
  change: 'add' | 'remove',
): Promise<NestingReservation> {
  const deadline = performance.now() + nestingLimits.checkDeadlineMs;
  for (let attempt = 1; attempt <= nestingLimits.commitAttempts; attempt += 1) {
    if (performance.now() > deadline) throw graphErrors.storeUnavailable(2);
    const guard = attempt === 1 && guardReadEarly !== undefined ? await guardReadEarly : await memberships.readNestingGuard(tenantId);
    if (change === 'add') await checkNestingAgainstClosure(memberships, tenantId, groupId, memberGroupId, guard.pending);
    else await memberships.closure.assertChangeWithinBounds(tenantId, groupId, memberGroupId, 'remove');
    if (guard.pending.length >= nestingLimits.maxPending) throw contended();
    const own: PendingNesting = { id: randomUUID(), groupId, memberId: memberGroupId, change, atMs: Date.now() };
    const committed = await memberships.replaceNestingGuard(tenantId, { pending: [...guard.pending, own], commits: guard.commits + 1 }, guard.etag);
    if (committed !== undefined) return reservationOf(memberships, tenantId, own, committed, performance.now());
    // Lost the race to another change: a short, random, growing pause spreads the retries.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 10 * 2 ** attempt)));
  }
  throw contended();
}

function reservationOf(memberships: MembershipRepository, tenantId: string, own: PendingNesting, committed: NestingGuardState, committedAt: number): NestingReservation {
  return {
    assertFresh() {
      if (performance.now() - committedAt > nestingLimits.writeDeadlineMs) throw graphErrors.storeUnavailable(2);
    },
    async finish(writeFailed = false) {
      // Entries whose edge is complete and only whose closure update failed: this writer finishes
      // a few of them beside its own (the "next writer" that heals a cut-short update).
      const orphans = committed.pending.filter((entry) => entry.edgeComplete === true).slice(0, nestingLimits.settledPerChange);
      try {
        await memberships.closure.afterNestingChanged(tenantId, own.groupId, own.memberId);
        for (const entry of orphans) await memberships.closure.afterNestingChanged(tenantId, entry.groupId, entry.memberId);
      } catch {
        // The edge change stands (or failed on its own, which the caller reports); the entry
        // stays pending, so the lag is visible: readers finish what it affects before answering,
        // the next writer or the timer finishes it. Checks read its edge from now on (writeEnded).
        await markWriteEnded(memberships, tenantId, own.id, committed, !writeFailed);
        return;
      }
      // A failed write whose two sides agree (it wrote nothing, or its take-back undid it) left the
      // closure just recomputed right: the entry goes. Only a half-written edge waits for the
      // reconciler and the timer (left pending, each later check would read it, and a store fault
      // rate would pile such entries up).
      const settled = !writeFailed || (await memberships.edgeSidesAgree(tenantId, own.groupId, own.memberId).catch(() => false));
      if (!settled) await markWriteEnded(memberships, tenantId, own.id, committed, false);
      else await removePending(memberships, tenantId, new Set([own.id, ...orphans.map((entry) => entry.id)]), committed);
    },
  };
}

/**
 * Removes entries from the pending list (If-Match, re-read on a lost race). Best effort: an entry
 * left behind only makes checks stricter and readers recompute, until the timer settles it.
 */
export async function removePending(memberships: MembershipRepository, tenantId: string, ids: ReadonlySet<string>, known?: NestingGuardState): Promise<void> {
  let guard: NestingGuardState | undefined = known;
  for (let attempt = 0; attempt < nestingLimits.commitAttempts; attempt += 1) {
    try {
      guard ??= await memberships.readNestingGuard(tenantId);
      if (!guard.pending.some((entry) => ids.has(entry.id))) return;
      const replaced = await memberships.replaceNestingGuard(tenantId, { ...guard, pending: guard.pending.filter((entry) => !ids.has(entry.id)) }, guard.etag);
      if (replaced !== undefined) return;
      guard = undefined;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 5 * 2 ** attempt)));
    } catch {
      return;
    }
  }
}

/** Sets `writeEnded` (and `edgeComplete`) on one entry (If-Match, re-read on a lost race). Best effort, never throws. */
async function markWriteEnded(memberships: MembershipRepository, tenantId: string, id: string, known: NestingGuardState, edgeComplete: boolean): Promise<void> {
  let guard: NestingGuardState | undefined = known;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      guard ??= await memberships.readNestingGuard(tenantId);
      if (!guard.pending.some((entry) => entry.id === id)) return;
      const pending = guard.pending.map((entry) => (entry.id === id ? { ...entry, writeEnded: true, ...(edgeComplete ? { edgeComplete } : {}) } : entry));
      if ((await memberships.replaceNestingGuard(tenantId, { ...guard, pending }, guard.etag)) !== undefined) return;
      guard = undefined;
    } catch {
      return;
    }
  }
}

/**
 * Finishes every reservation (step 5), one after the other, each whatever the others did; throws
 * the first failure at the end (its entry, and any other that failed, stay pending).
 */
export async function finishReservations(reservations: readonly NestingReservation[], writeFailed = false): Promise<void> {
  let failure: unknown;
  for (const reservation of reservations) {
    try {
      await reservation.finish(writeFailed);
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
}
