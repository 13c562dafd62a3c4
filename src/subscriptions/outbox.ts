import { randomUUID } from 'node:crypto';
import type { Container } from '@azure/cosmos';
import { isMembershipChange, type ChangeRecord } from '../changes/changeLog';
import { commitLagMs, listChangesSince } from '../changes/changeReads';
import { getRepositories } from '../store/repositories';
import { HiddenMembershipFilter } from './hiddenMembers';
import { enqueueDelivery, maxChangesPerMessage, type DeliveryMessage, type NotifiedChange } from './notificationQueue';
import { outboxProgressId, subscriptionsPartition, SubscriptionStore, type OutboxProgressDocument, type SubscriptionDocument } from './subscriptionStore';

/**
 * The notification outbox (issue 12, item 3): turns committed change records into queue messages,
 * one per (subscription, batch of changes), and cannot lose a change.
 *
 * The change log is the source of truth (src/changes/changeLog.ts: a record exists exactly when
 * its change committed), so the outbox keeps no copy of a change, only a per-tenant cursor in the
 * tenant's subscriptions partition: a watermark and the ids seen within commitLagMs before it.
 * A run reads the records after `watermark - commitLagMs` (records carry their writer's clock and
 * may commit up to commitLagMs late, so the window is read again and deduplicated by change id),
 * enqueues every record not seen before to each matching live subscription, and only then moves
 * the cursor (If-Match). A run that fails anywhere before moving it (a store fault, a queue fault,
 * the process stopping) leaves the cursor where it was, and the next run sends the same changes
 * again: at least once, never lost.
 *
 * One run per tenant at a time, across instances: a run first takes a lease in the cursor
 * document (If-Match), and a run that finds it held waits for it instead of sending. Without it,
 * every instance ran the outbox on every commit and the losers of the cursor race had enqueued the
 * same changes: the notification stress (two instances) delivered 13,000 repeats for 5,700 changes
 * over 4 receivers. The lease costs one write per run; a run that outlives it, or dies holding it,
 * costs repeats (never a loss: the cursor still moves only If-Match, after the enqueues). Each item
 * carries its change id, so a receiver drops what repeats remain.
 *
 * Why the watermark may be the run's own clock: a record whose writer's clock is at or before
 * `now - commitLagMs` has committed by now (commitLagMs bounds a batch's life and clock skew), so
 * every such record was in this run's window; the records after it are kept in `recent`.
 *
 * A subscription the cursor has not seen yet gets every record since its creation (createdAtMs),
 * so one created while a run was under way still gets the changes that run skipped for it.
 */

export interface DispatchReport {
  readonly tenantId: string;
  /** Records read in the window (including those already sent). */
  readonly read: number;
  /** Notifications enqueued (a change to two subscriptions counts twice). */
  readonly notified: number;
  readonly messages: number;
  /** False when another run moved the cursor first: what this run enqueued may reach receivers twice. */
  readonly cursorMoved: boolean;
  /** Set when another run holds the tenant's lease: nothing was read or sent; try again after this time. */
  readonly busyUntilMs?: number;
}

/**
 * How long a run may hold a tenant's outbox: beyond a run's few requests, and short, because a run
 * that dies holding it (or cannot give it back under store faults) delays every change of its
 * tenant until it expires: with 15 s, the notification stress's p99 commit-to-receipt was 15 s.
 */
export const outboxLeaseMs = 5_000;
/** How long a kicked run waits for another instance's run to end before leaving it to the timer: past a lease. */
const busyWaitMs = 6_000;

/** The changeType a record is notified as (SPEC 9: updated, deleted). */
export const notifiedChangeType = (record: { readonly changeType: NotifiedChange['changeType'] }): 'updated' | 'deleted' => (record.changeType === 'groupDeleted' ? 'deleted' : 'updated');

/**
 * Whether `subscription` (resource groups, groups/{id}, groups/{id}/members; its changeTypes) is
 * notified of `record`. `groups` and `groups/{id}` take every change of the group: its members,
 * its owners (an `updated` of the group, as Graph notifies a change of a group's relationships)
 * and the group itself; `groups/{id}/members` takes member adds and removals only.
 */
export function subscriptionMatches(subscription: Pick<SubscriptionDocument, 'resource' | 'changeType' | 'tenantId'>, record: Pick<ChangeRecord, 'tenantId' | 'groupId' | 'changeType'>): boolean {
  if (record.tenantId !== subscription.tenantId) return false;
  if (!subscription.changeType.split(',').includes(notifiedChangeType(record))) return false;
  if (subscription.resource === 'groups') return true;
  const [, groupId, members] = subscription.resource.split('/');
  if (record.groupId !== groupId) return false;
  return members === undefined || isMembershipChange(record);
}

/** Where a subscription's changes start: its creation, or (a document from before createdAtMs was kept) one lag back. */
const startOf = (subscription: SubscriptionDocument, nowMs: number): number => subscription.createdAtMs ?? nowMs - commitLagMs;

/** One run of the outbox for one tenant. Throws on a store or queue fault, leaving the cursor unmoved. */
export async function dispatchTenant(container: Container, tenantId: string): Promise<DispatchReport> {
  const store = new SubscriptionStore(container);
  const [read, subscriptions] = await Promise.all([store.readProgress(tenantId), store.listOfTenant(tenantId)]);
  const leasedAtMs = Date.now();
  const busy = (untilMs: number): DispatchReport => ({ tenantId, read: 0, notified: 0, messages: 0, cursorMoved: false, busyUntilMs: untilMs });
  if (read?.lease !== undefined && read.lease.untilMs > leasedAtMs) return busy(read.lease.untilMs);
  const live = subscriptions.filter((subscription) => subscription.expiresAtMs > leasedAtMs);
  const idle = { id: outboxProgressId, pk: subscriptionsPartition(tenantId), kind: 'outboxProgress', tenantId, recent: [], subscriptionIds: [] } as const;
  if (live.length === 0) {
    // Nothing to notify: the cursor moves to now (rarely written), so a later subscription's run reads a short window.
    if (read !== undefined && (read.subscriptionIds.length > 0 || read.watermarkMs < leasedAtMs - 3_600_000)) await store.writeProgress(read, { ...idle, watermarkMs: leasedAtMs });
    return { tenantId, read: 0, notified: 0, messages: 0, cursorMoved: true };
  }
  // The lease. A cursor written now for the first time lists no subscription, so every one is new
  // to the run and gets every change since its creation, whatever the watermark says.
  const cursor = read === undefined ? { ...idle, watermarkMs: leasedAtMs } : { ...idle, watermarkMs: read.watermarkMs, recent: read.recent, subscriptionIds: read.subscriptionIds };
  const progress = await store.writeProgress(read, { ...cursor, lease: { runId: randomUUID(), untilMs: leasedAtMs + outboxLeaseMs } });
  if (progress === undefined) return busy(leasedAtMs + busyWaitMs);
  try {
    return await dispatchLeased(container, store, tenantId, live, read, progress);
  } catch (error) {
    // Give the lease back (best effort) so the next run need not wait for it to expire.
    await store.writeProgress(progress, cursor).catch(() => undefined);
    throw error;
  }
}

/** The rest of a run, holding the lease: read the window, enqueue, then move the cursor and give the lease back. */
async function dispatchLeased(
  container: Container,
  store: SubscriptionStore,
  tenantId: string,
  live: readonly SubscriptionDocument[],
  read: OutboxProgressDocument | undefined,
  progress: OutboxProgressDocument,
): Promise<DispatchReport> {
  // The clock read before the change query: everything at or before nowMs - commitLagMs is in it.
  const nowMs = Date.now();
  const previousWatermark = read?.watermarkMs;
  const known = new Set(progress.subscriptionIds);
  const base = previousWatermark === undefined ? Number.POSITIVE_INFINITY : previousWatermark - commitLagMs;
  const since = Math.min(base, ...live.filter((subscription) => !known.has(subscription.id)).map((subscription) => startOf(subscription, nowMs) - 1));
  const records = (await listChangesSince(container, since, { tenantId })).sort((a, b) => a.atMs - b.atMs || a.id.localeCompare(b.id));
  const sent = new Set(progress.recent.map((entry) => entry.changeId));

  const messages: DeliveryMessage[] = [];
  let notified = 0;
  const hiddenMembers = new HiddenMembershipFilter(await getRepositories(), tenantId);
  for (const subscription of live) {
    const fresh = !known.has(subscription.id);
    const start = startOf(subscription, nowMs);
    const matching = records
      .filter((record) => record.atMs >= start && (fresh || (record.atMs > base && !sent.has(record.changeId))) && subscriptionMatches(subscription, record))
      .map((record): NotifiedChange => ({
        changeId: record.changeId,
        atMs: record.atMs,
        groupId: record.groupId,
        changeType: record.changeType,
        ...(record.memberId === undefined ? {} : { memberId: record.memberId }),
      }));
    // SPEC 2: a hidden group's members only to subscribers who may see them.
    const changes = await hiddenMembers.apply(subscription, matching);
    notified += changes.length;
    for (let index = 0; index < changes.length; index += maxChangesPerMessage) {
      messages.push({ tenantId, subscriptionId: subscription.id, firstEnqueuedAtMs: Date.now(), attempt: 0, changes: changes.slice(index, index + maxChangesPerMessage) });
    }
  }
  // Every message is in the queue before the cursor moves past its changes.
  await Promise.all(messages.map((message) => enqueueDelivery(message)));

  const watermarkMs = Math.max(previousWatermark ?? 0, nowMs);
  const recent = records.filter((record) => record.atMs > watermarkMs - commitLagMs).map((record) => ({ changeId: record.changeId, atMs: record.atMs }));
  // Moves the cursor and gives the lease back in one write.
  const cursorMoved =
    (await store.writeProgress(progress, {
      id: outboxProgressId,
      pk: subscriptionsPartition(tenantId),
      kind: 'outboxProgress',
      tenantId,
      watermarkMs,
      recent,
      subscriptionIds: live.map((subscription) => subscription.id),
    })) !== undefined;
  if (!cursorMoved) outboxCounters.racedRuns += 1;
  outboxCounters.notified += notified;
  return { tenantId, read: records.length, notified, messages: messages.length, cursorMoved };
}

/** Totals of this process, for logs and the stress run. */
export const outboxCounters = { runs: 0, failedRuns: 0, notified: 0, racedRuns: 0, busyRuns: 0 };

type Log = (message: string, details?: unknown) => void;
const runs = new Map<string, { again: boolean; promise: Promise<void> }>();

/**
 * Runs the outbox for a tenant, one run at a time per tenant in this process: a kick while a run
 * is under way asks for one more run after it (whatever committed meanwhile may have been missed
 * by the running one's query). Never throws: a failed run is logged and the next kick or the
 * timer sweep (functions/notifications.ts) does the work again.
 */
export function kickDispatch(getContainer: () => Promise<Container>, tenantId: string, log: Log = () => undefined): Promise<void> {
  const running = runs.get(tenantId);
  if (running !== undefined) {
    running.again = true;
    return running.promise;
  }
  const entry = { again: true, promise: Promise.resolve() };
  entry.promise = (async () => {
    try {
      const waitUntilMs = Date.now() + busyWaitMs;
      while (entry.again) {
        entry.again = false;
        outboxCounters.runs += 1;
        try {
          const report = await dispatchTenant(await getContainer(), tenantId);
          if (report.busyUntilMs !== undefined) {
            // Another instance's run: it may have read before this kick's commit, so run once it is done.
            outboxCounters.busyRuns += 1;
            const delayMs = Math.min(report.busyUntilMs, waitUntilMs) - Date.now();
            if (delayMs > 0) {
              await new Promise((resolve) => setTimeout(resolve, Math.min(delayMs, 250)));
              entry.again = true;
            }
          } else if (!report.cursorMoved) log('dispatchNotifications: another run moved the cursor first; these changes may be delivered twice', report);
        } catch (error) {
          outboxCounters.failedRuns += 1;
          log('dispatchNotifications failed; the next run sends these changes', { tenantId, error: error instanceof Error ? error.message : String(error) });
        }
      }
    } finally {
      runs.delete(tenantId);
    }
  })();
  runs.set(tenantId, entry);
  return entry.promise;
}

/** The timer's sweep: every tenant with a subscription (one cross-partition query), each run as above. */
export async function dispatchAllTenants(container: Container, log: Log = () => undefined, subscriptions?: readonly SubscriptionDocument[]): Promise<number> {
  const tenants = new Set((subscriptions ?? (await new SubscriptionStore(container).listAll())).map((subscription) => subscription.tenantId));
  await Promise.all([...tenants].map((tenantId) => kickDispatch(() => Promise.resolve(container), tenantId, log)));
  return tenants.size;
}

/** Resolves once no run is under way in this process (the local host awaits it before closing the stores). */
export async function outboxIdle(): Promise<void> {
  while (runs.size > 0) await Promise.all([...runs.values()].map((run) => run.promise));
}

export type { OutboxProgressDocument };
