import { randomUUID } from 'node:crypto';
import { GraphError, graphErrors } from '../http/errors';
import type { MembershipRepository } from './membershipRepository';
import { retryStoreFaults, toStoreFault } from '../store/storeFaults';
import type { NestingGuardContent, NestingGuardState, PendingNesting, nestingLimits } from './nestingGuard';

/**
 * Step 3 of nestingGuard.ts: appending changes to the tenant's guard document with one replace,
 * If-Match the version read.
 *
 * Why changes that lost a race commit in turns: every nesting of a tenant replaces the same
 * document, so under load most replaces lose (412) to another. When each loser re-read and
 * replaced on its own, they all raced again, and a few lost 16 times in a row and answered 429
 * although the store was healthy (8 of 10,000 operations from 64 clients, `npm run stress`). Now
 * the losers of one instance wait in one queue per tenant and its first waiter commits all of
 * them with one replace: an instance's changes no longer race each other, only other instances'
 * turns, and a turn costs one read and one replace however many changes it carries.
 *
 * A turn keeps the guard's total order: entries committed by one replace are ordered as they are
 * listed, and each is checked against the pending entries of the version replaced plus those
 * before it in the turn (`NestingCommit.before`), as if each had its own replace.
 */

/** What a change asks the guard to list. */
export type NestingChange = Pick<PendingNesting, 'groupId' | 'memberId' | 'change'>;

type CommitLimits = Pick<typeof nestingLimits, 'commitAttempts' | 'maxPending' | 'marksSweptPerCommit' | 'checkDeadlineMs'>;

/** A change the guard now lists. */
export interface NestingCommit {
  readonly own: PendingNesting;
  /** Entries pending before it: those of the version its replace replaced, then those ahead of it in the same replace. */
  readonly before: readonly PendingNesting[];
}

export const contendedNesting = (): GraphError =>
  new GraphError('TooManyRequests', 'Too many group nestings are being made in this tenant at once. Retry after the time given in Retry-After.', { 'Retry-After': '1' });

interface Replaced {
  /** One per change that fitted under `maxPending`, in order; the changes after them are refused. */
  readonly commits: readonly NestingCommit[];
  /** Deleting the marks of the settled entries the replace left out (best effort, never rejects). */
  readonly swept: Promise<void>;
}

/**
 * One replace of `guard` (the version read) listing `changes` after its pending entries, as many
 * as `maxPending` leaves room for, with the settled entries left out. Undefined when another
 * replace came first (412), or when one cut short by a store fault did not land.
 */
export async function commitOnce(
  memberships: MembershipRepository,
  tenantId: string,
  guard: NestingGuardState,
  changes: readonly NestingChange[],
  limits: CommitLimits,
): Promise<Replaced | undefined> {
  const room = Math.max(0, limits.maxPending - guard.pending.length);
  const atMs = Date.now();
  const entries: PendingNesting[] = changes.slice(0, room).map((change) => ({ id: randomUUID(), ...change, atMs }));
  if (entries.length === 0) return { commits: [], swept: Promise.resolve() };
  const replaced = await replaceOrFindLanded(memberships, tenantId, { pending: [...guard.pending, ...entries], commits: guard.commits + entries.length }, guard.etag, entries[0]!.id);
  if (!replaced) return undefined;
  // The marks of the settled entries this replace left out are garbage now.
  const swept = memberships.deleteNestingMarks(tenantId, guard.settledIds.slice(0, limits.marksSweptPerCommit)).catch(() => undefined);
  return { commits: entries.map((own, index) => ({ own, before: [...guard.pending, ...entries.slice(0, index)] })), swept };
}

/**
 * The guard replace; after a store fault, whether it landed anyway (a 503 or a reset can come
 * after the store committed the write). The journal says: entries are never left out of the guard
 * before they are settled, so this replace landed if and only if its first entry is listed. Without
 * this, such a change answered 503 and its entry stayed pending, for nobody to write or settle,
 * until the timer (minutes). A replace that did not land is a lost race: the caller tries again.
 */
async function replaceOrFindLanded(memberships: MembershipRepository, tenantId: string, content: NestingGuardContent, etag: string | undefined, firstEntryId: string): Promise<boolean> {
  try {
    return await memberships.replaceNestingGuard(tenantId, content, etag);
  } catch (error) {
    if (toStoreFault(error) === undefined) throw error;
    let journal: NestingGuardState;
    try {
      journal = await retryStoreFaults(() => memberships.readNestingGuard(tenantId));
    } catch {
      throw error;
    }
    return journal.pending.some((entry) => entry.id === firstEntryId) || journal.settledIds.includes(firstEntryId);
  }
}

interface Waiting {
  readonly change: NestingChange;
  resolve(commit: NestingCommit): void;
  reject(error: unknown): void;
}

/**
 * The queues of one process, per repository (an instance's store client; a test's second
 * instance has its own) and tenant. A queue exists while its first waiter is committing.
 */
export class NestingCommitTurns {
  private readonly queues = new WeakMap<MembershipRepository, Map<string, Waiting[]>>();

  constructor(private readonly limits: CommitLimits) {}

  /** Whether changes of this tenant are waiting for, or in, a turn here (a change should join them, not race them). */
  busy(memberships: MembershipRepository, tenantId: string): boolean {
    return this.queues.get(memberships)?.has(tenantId) === true;
  }

  /** Commits `change` in this instance's next turn; rejects with 429 when the turns keep losing or the guard is full, 503 on a store fault. */
  commit(memberships: MembershipRepository, tenantId: string, change: NestingChange): Promise<NestingCommit> {
    let tenants = this.queues.get(memberships);
    if (tenants === undefined) {
      tenants = new Map();
      this.queues.set(memberships, tenants);
    }
    const queue = tenants.get(tenantId);
    return new Promise((resolve, reject) => {
      const waiting: Waiting = { change, resolve, reject };
      if (queue !== undefined) {
        queue.push(waiting);
        return;
      }
      const fresh = [waiting];
      tenants.set(tenantId, fresh);
      void this.takeTurns(memberships, tenantId, tenants, fresh);
    });
  }

  private async takeTurns(memberships: MembershipRepository, tenantId: string, tenants: Map<string, Waiting[]>, queue: Waiting[]): Promise<void> {
    try {
      while (queue.length > 0) {
        const turn = queue.splice(0, queue.length);
        try {
          const { commits, swept } = await this.commitTurn(
            memberships,
            tenantId,
            turn.map((waiting) => waiting.change),
          );
          turn.forEach((waiting, index) => {
            const commit = commits[index];
            if (commit === undefined) waiting.reject(contendedNesting());
            else waiting.resolve(commit);
          });
          await swept;
        } catch (error) {
          for (const waiting of turn) waiting.reject(error);
        }
      }
    } finally {
      // Synchronous after the last check: a change arriving from now on starts a queue of its own.
      tenants.delete(tenantId);
    }
  }

  private async commitTurn(memberships: MembershipRepository, tenantId: string, changes: readonly NestingChange[]): Promise<Replaced> {
    const deadline = performance.now() + this.limits.checkDeadlineMs;
    for (let attempt = 1; attempt <= this.limits.commitAttempts; attempt += 1) {
      if (performance.now() > deadline) throw graphErrors.storeUnavailable(2);
      // A turn carries every change waiting here: one failed read should not fail them all.
      const guard = await retryStoreFaults(() => memberships.readNestingGuard(tenantId));
      const replaced = await commitOnce(memberships, tenantId, guard, changes, this.limits);
      if (replaced !== undefined) return replaced;
      // Lost to another instance's turn (or the timer's compaction): a short, random, growing pause.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 10 * 2 ** attempt)));
    }
    throw contendedNesting();
  }
}
