import { GraphError, graphErrors } from '../http/errors';
import { retryStoreFaults } from '../store/storeFaults';
import { changeTooLarge, closureLimits, setTooLarge, type ClosureSet } from './closure';
import type { MembershipRepository } from './membershipRepository';
import { commitOnce, contendedNesting, NestingCommitTurns } from './nestingCommits';

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
 * journal, partition `{tid}|nesting` of the memberships container: the guard document, which lists
 * the nesting changes committed so far whose closure update may not have finished (`pending`), and
 * one mark document per entry that says how far that change got (NestingMark). The journal is read
 * with one single-partition query (the guard and the marks together); an entry whose mark says
 * `settled` is not pending any more. Only commits replace the guard; everything after a commit is
 * a mark, which contends with nobody:
 *
 *  1. read the journal (beside the existence reads when the reference already says "group"; a
 *     nesting whose edge is already complete, or a removal that finds no edge, is answered before
 *     the journal, writing nothing: membershipService.ts);
 *  2. an add only: read the closure (one round, all at once): the member's descendants, the
 *     target's ancestors, and the descendants of the member of every pending add; in memory,
 *     the groups reachable from the member through the stored descendants and the pending adds
 *     (as edges); reaching the target means a cycle: 400. The same documents give the closure
 *     update's size: beyond `closureLimits`, a 400. The first attempt writes nothing before these
 *     answers;
 *  3. replace the guard, If-Match the etag read in 1, with this change appended to `pending` and
 *     the settled entries left out (their marks are deleted beside the next step); a 412 means
 *     another change committed in between: 3a. A replace answered with a store fault is looked
 *     for in the journal: listed, it landed and the change goes on; not listed, it is a lost race;
 *  3a. the change waits for this instance's next turn (nestingCommits.ts): one re-read and one
 *     replace that commits every change of the tenant waiting here, retried a few times against
 *     other instances' turns, then 429. Each is then checked (2) against the entries pending
 *     before it in the version its turn replaced; a refusal marks its own entry settled (nothing
 *     was or will be written);
 *  4. write the edge documents, unless so much time passed since 3 that this entry could be
 *     settled by someone else (then 503: nothing written);
 *  5. update the closure from the edges (closure.ts, idempotent), then mark the entry settled.
 *     A fault anywhere from 4 on leaves it pending: the change stays visible. A writer whose update
 *     failed marks its entry `writeEnded`: a check then reads that edge's group side (the truth) in
 *     its second round, rather than counting it as an edge. When only the update failed (the edge
 *     is complete) the change is answered as done. Its entry is marked `edgeComplete` too whenever
 *     the edge's two sides agree (the write landed, or a failed one left nothing): the next writer
 *     finishes up to `settledPerChange` such entries beside its own, a reader finishes those it
 *     affects, the timer the rest (and a half-written edge, after the reconciler).
 *
 * Why no cycle can form: the successful guard replaces of a tenant are totally ordered, and so
 * are the changes they commit (by replace, then by place in one replace: 3a). Take two adds N1
 * before N2 in that order. If one replace committed both, N2 counted N1 as pending. Otherwise N2
 * checked against the journal version its replace replaced, which came after N1's replace, so
 * either that version lists N1 pending (N2 counted N1's edge), or N1 was
 * settled in it: marked after its closure update ended or after its refusal (5, 3a), or removed by
 * the timer, which recomputes the closure from the edges once N1 can no longer write (see
 * settleAfterMs). N2 read the closure after that journal read (2 after 1; or 3a), so it saw N1's
 * edge in the closure whenever N1 was not pending. A path through edges whose entries are settled
 * is in the stored descendants of its first group (each recompute reads the edges after they were
 * written, closure.ts rules 1-3), and the check adds every pending add as an edge: a cycle needs
 * some add to close it last, and that one would have found the path. Pending removals, and
 * refused adds not yet marked, only make the stored closure and the pending list larger than the
 * edges': a check may then refuse an add that the edges alone would allow (never the reverse).
 * Marks read stale (another session's write not yet seen) only do the same.
 *
 * Why the closure cannot lag silently: every edge change is pending from before its edge write
 * (3) until the closure is updated after it (5). Readers of the closure (transitive.ts) read the
 * journal in their first round, and recompute whatever a pending entry affects before answering;
 * the timer (functions/reconcileMemberships.ts) recomputes every pending entry and removes those
 * older than `settleAfterMs`, after the member sides are reconciled.
 *
 * The cost of one check: the journal query (first round, beside the existence reads), then 4 + p
 * point reads at once (p: distinct members of pending adds, at most `maxPending`); each tenant
 * has, per instance, at most `tenantChecksAtOnce` checks at once (a few more wait up to 2 s for a
 * slot), answered with 429 and Retry-After beyond.
 */
export const nestingLimits = {
  /** Guard replaces one turn of commits tries (nestingCommits.ts) before its changes answer 429. */
  commitAttempts: 16,
  /** Longest a turn of commits may keep retrying before its changes answer 503 (the function's limit is 30 s, host.json). */
  checkDeadlineMs: 10_000,
  /** A change that finds this much time passed since its commit writes no edge (step 4)... */
  writeDeadlineMs: 60_000,
  /** ...so a pending entry this old has no writer left: a finisher may settle it (remove it after a recompute). */
  settleAfterMs: 5 * 60_000,
  /** Pending entries with a complete edge that one change finishes beside its own. */
  settledPerChange: 4,
  /** Marks of settled entries one commit deletes (the timer deletes any left over). */
  marksSweptPerCommit: 4,
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
   * Set with `writeEnded` when the edge's two sides agree (the write landed, or a failed one left
   * nothing) and only the closure update failed: anyone may finish the entry (recompute, then
   * settle it) at once: the next writer of the tenant's nestings and the next reader it affects do.
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

/**
 * What a change's writer, or whoever finishes its entry, records of it beside the guard: one
 * document per entry, partition `{tid}|nesting`, id `mark-{entry id}`. Writing it contends with
 * nobody, where a replace of the guard contends with every nesting of the tenant; the next commit
 * leaves the settled entries out of the guard and deletes their marks.
 */
export interface NestingMark {
  readonly writeEnded?: boolean;
  readonly edgeComplete?: boolean;
  /**
   * The entry affects nothing any more: its closure update ran after its edge write (or its
   * failed write), or it was refused before writing anything.
   */
  readonly settled?: boolean;
}

export interface NestingMarkDocument extends NestingMark {
  readonly id: string;
  readonly pk: string;
  readonly tenantId: string;
  readonly kind: 'nestingMark';
  readonly entryId: string;
  /** When the mark was written (epoch ms). */
  readonly atMs: number;
}

export const nestingMarkId = (entryId: string): string => `mark-${entryId}`;

/** The journal as read: the guard's entries with their marks applied. */
export interface NestingGuardState extends NestingGuardContent {
  /** The guard document's version; absent when there is no guard document yet. */
  readonly etag?: string;
  /** Entries the guard document still lists that are settled (not in `pending`): the next commit leaves them out. */
  readonly settledIds: readonly string[];
  /** Marks of entries the guard no longer lists (garbage a commit failed to delete), with when each was written. */
  readonly strayMarks: readonly { readonly entryId: string; readonly atMs: number }[];
}

/** The journal from the documents of the tenant's `{tid}|nesting` partition (one query). */
export function nestingJournalOf(documents: readonly (NestingGuardDocument | NestingMarkDocument)[]): NestingGuardState {
  const guard = documents.find((document): document is NestingGuardDocument => document.kind === 'nestingGuard');
  const marks = new Map(documents.filter((document): document is NestingMarkDocument => document.kind === 'nestingMark').map((mark) => [mark.entryId, mark]));
  const listed = guard?.pending ?? [];
  const pending: PendingNesting[] = [];
  const settledIds: string[] = [];
  for (const entry of listed) {
    const mark = marks.get(entry.id);
    if (mark?.settled === true) settledIds.push(entry.id);
    else if (mark === undefined) pending.push(entry);
    else pending.push({ ...entry, ...(mark.writeEnded === true ? { writeEnded: true } : {}), ...(mark.edgeComplete === true ? { edgeComplete: true } : {}) });
  }
  const listedIds = new Set(listed.map((entry) => entry.id));
  const strayMarks = [...marks.values()].filter((mark) => !listedIds.has(mark.entryId)).map((mark) => ({ entryId: mark.entryId, atMs: mark.atMs }));
  return { pending, commits: guard?.commits ?? 0, settledIds, strayMarks, ...(guard?._etag === undefined ? {} : { etag: guard._etag }) };
}

const cycleError = () => new GraphError('Request_BadRequest', 'The nesting would create a cycle: the group is already a direct or indirect member of the member being added.');

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
const commitTurns = new NestingCommitTurns(nestingLimits);

/**
 * Step 2 for "`memberGroupId` into `groupId`": one round of closure reads; throws the cycle 400
 * or the closure-size 400 (closure.ts). `pending` is the guard's list as read in step 1.
 *
 * Each read is tried a second time after a store fault (a point read changes nothing). The reads
 * for pending entries may still fail without failing the check when the answer does not need
 * them: an ended add whose edge cannot be read counts as an edge (stricter, as if still pending),
 * and a pending add's member whose descendants cannot be read matters only if the member is
 * reached. Otherwise, under store faults, the reads grow with the pending entries that the faults
 * leave, and nearly every check failed (976 of 1,000 nestings at 10% faults, `npm run stress`).
 */
export async function checkNestingAgainstClosure(memberships: MembershipRepository, tenantId: string, groupId: string, memberGroupId: string, pending: readonly PendingNesting[]): Promise<void> {
  if (groupId === memberGroupId) throw cycleError();
  const pendingAdds = pending.filter((entry) => entry.change === 'add');
  const others = [...new Set(pendingAdds.map((entry) => entry.memberId))].filter((id) => id !== memberGroupId);
  const ended = pendingAdds.filter((entry) => entry.writeEnded === true);
  const read = (id: string, side: 'ancestors' | 'descendants') => retryStoreFaults(() => memberships.closure.read(tenantId, id, side));
  // One round: the closure documents, and the group-side edge (the truth) of each add whose write has ended.
  const [edgesOfEnded, below, above, belowTarget, aboveMember, ...otherBelow] = await Promise.all([
    Promise.all(ended.map((entry) => orUnknown(retryStoreFaults(() => memberships.getMembership(tenantId, entry.groupId, entry.memberId))))),
    read(memberGroupId, 'descendants'),
    read(groupId, 'ancestors'),
    read(groupId, 'descendants'),
    read(memberGroupId, 'ancestors'),
    ...others.map((id) => orUnknown(read(id, 'descendants'))),
  ]);
  const absent = new Set(ended.filter((_, index) => edgesOfEnded[index] !== unknown && edgesOfEnded[index] === undefined));
  const adds = pendingAdds.filter((entry) => !absent.has(entry));
  const descendants = new Map<string, ClosureSet | typeof unknown>([[memberGroupId, below], ...others.map((id, index): [string, ClosureSet | typeof unknown] => [id, otherBelow[index]!])]);
  // The groups reachable from the member: its stored descendants, and through every pending add
  // whose group is reachable, that add's member and its stored descendants (to a fixed point).
  const reachable = new Set([memberGroupId, ...below.ids]);
  let unread = false;
  for (let grew = true; grew;) {
    grew = false;
    for (const entry of adds) {
      if (!reachable.has(entry.groupId) || reachable.has(entry.memberId)) continue;
      reachable.add(entry.memberId);
      const under = descendants.get(entry.memberId);
      if (under === unknown) unread = true;
      else for (const id of under?.ids ?? []) reachable.add(id);
      grew = true;
    }
  }
  if (reachable.has(groupId)) throw cycleError();
  // A reached member whose descendants could not be read: no answer either way.
  if (unread) throw graphErrors.storeUnavailable(2);
  // The closure update's size (closure.ts): the member and everything under it get ancestors, the
  // target and everything above it get descendants.
  const documents = reachable.size + above.ids.length + 1;
  if (documents > closureLimits.maxDocumentsPerChange) throw changeTooLarge(documents);
  const largest = Math.max(aboveMember.ids.length + above.ids.length + 1, belowTarget.ids.length + reachable.size);
  if (largest > closureLimits.maxSetSize) throw setTooLarge(largest);
}

/** A read that failed twice, for the reads a check can do without. */
const unknown = Symbol('unknown');

async function orUnknown<T>(read: Promise<T>): Promise<T | typeof unknown> {
  return read.catch(() => unknown);
}

/** A committed change (step 3 done): write its edges, then finish it. */
export interface NestingReservation {
  /** Step 4: throws 503 if the entry may be settled by someone else; call right before writing. */
  assertFresh(): void;
  /**
   * Step 5: the closure update from the edges as they are now (whether the write landed or not),
   * then the entry's settled mark. Never throws: when the update fails, the entry stays pending
   * (marked `writeEnded` and `edgeComplete`), so the change stands and its lag is visible. After a
   * failed write (`writeFailed`: it may have left one side of the edge behind, which the
   * reconciler mends later) the entry stays too, marked `writeEnded`, for the timer to finish once
   * the sides agree.
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
  const check = (pending: readonly PendingNesting[]) =>
    change === 'add' ? checkNestingAgainstClosure(memberships, tenantId, groupId, memberGroupId, pending) : memberships.closure.assertChangeWithinBounds(tenantId, groupId, memberGroupId, 'remove');
  const wanted = { groupId, memberId: memberGroupId, change };
  const guard = await (guardReadEarly ?? memberships.readNestingGuard(tenantId));
  // The first try checks before it commits, so that a refusal writes nothing (step 2).
  await check(guard.pending);
  // Joins this instance's changes already waiting for their turn rather than racing them.
  if (!commitTurns.busy(memberships, tenantId)) {
    const replaced = await commitOnce(memberships, tenantId, guard, [wanted], nestingLimits);
    if (replaced !== undefined) {
      await replaced.swept;
      const first = replaced.commits[0];
      if (first === undefined) throw contendedNesting();
      return reservationOf(memberships, tenantId, first.own, first.before, performance.now());
    }
  }
  // Lost the race: committed in this instance's next turn, then checked against the entries
  // pending before it (step 3a).
  const { own, before } = await commitTurns.commit(memberships, tenantId, wanted);
  try {
    await check(before);
  } catch (error) {
    // Refused after the commit (or its reads failed): nothing of the change was written, and
    // none will be, so its entry is settled at once (best effort: left, it only makes checks
    // stricter until the timer settles it).
    await markEntry(memberships, tenantId, own, { settled: true });
    throw error;
  }
  return reservationOf(memberships, tenantId, own, before, performance.now());
}

/**
 * Writes an entry's mark, a second time after a short pause if the first fails: an entry left
 * unmarked is settled only by the timer, and until then every check reads one more document for
 * it. Best effort, never throws.
 */
export async function markEntry(memberships: MembershipRepository, tenantId: string, entry: PendingNesting, state: NestingMark): Promise<void> {
  await retryStoreFaults(() => memberships.markNesting(tenantId, entry, state)).catch(() => undefined);
}

function reservationOf(memberships: MembershipRepository, tenantId: string, own: PendingNesting, before: readonly PendingNesting[], committedAt: number): NestingReservation {
  const mark = (entry: PendingNesting, state: NestingMark) => markEntry(memberships, tenantId, entry, state);
  return {
    assertFresh() {
      if (performance.now() - committedAt > nestingLimits.writeDeadlineMs) throw graphErrors.storeUnavailable(2);
    },
    async finish(writeFailed = false) {
      try {
        await memberships.closure.afterNestingChanged(tenantId, own.groupId, own.memberId);
      } catch {
        // The edge change stands (or failed on its own, which the caller reports); the entry
        // stays pending, so the lag is visible: readers finish what it affects before answering,
        // the next writer or the timer finishes it. Checks read its edge from now on (writeEnded).
        // Once its two sides agree, anyone may finish it; a half-written edge waits for the
        // reconciler and the timer.
        const complete = !writeFailed || (await memberships.edgeSidesAgree(tenantId, own.groupId, own.memberId).catch(() => false));
        await mark(own, { writeEnded: true, ...(complete ? { edgeComplete: true } : {}) });
        return;
      }
      // A failed write whose two sides agree (it wrote nothing, or its take-back undid it) left the
      // closure just recomputed right: the entry is settled. Only a half-written edge waits for the
      // reconciler and the timer (settled, each later check would count an edge that may not be).
      const settled = !writeFailed || (await memberships.edgeSidesAgree(tenantId, own.groupId, own.memberId).catch(() => false));
      await mark(own, settled ? { settled: true } : { writeEnded: true });
      // Entries whose edge is complete and only whose closure update failed: this writer finishes
      // a few of them after its own (the "next writer" that heals a cut-short update), each on its
      // own: one that fails again stays for the next.
      const orphans = before.filter((entry) => entry.edgeComplete === true).slice(0, nestingLimits.settledPerChange);
      await Promise.all(
        orphans.map(async (entry) => {
          try {
            await memberships.closure.afterNestingChanged(tenantId, entry.groupId, entry.memberId);
          } catch {
            return;
          }
          await mark(entry, { settled: true });
        }),
      );
    },
  };
}

/**
 * Removes entries from the guard document (If-Match, re-read on a lost race): the timer's
 * compaction. Returns whether they are gone. Best effort: an entry left behind only makes checks
 * stricter and readers recompute, until a later run removes it.
 */
export async function removePending(memberships: MembershipRepository, tenantId: string, ids: ReadonlySet<string>): Promise<boolean> {
  for (let attempt = 0; attempt < nestingLimits.commitAttempts; attempt += 1) {
    try {
      const guard = await memberships.readNestingGuard(tenantId);
      const kept = guard.pending.filter((entry) => !ids.has(entry.id));
      // Settled entries (guard.settledIds) are not in `pending`: they go too.
      if (kept.length === guard.pending.length && !guard.settledIds.some((id) => ids.has(id))) return true;
      if (await memberships.replaceNestingGuard(tenantId, { pending: kept, commits: guard.commits }, guard.etag)) return true;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 5 * 2 ** attempt)));
    } catch {
      return false;
    }
  }
  return false;
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
