import type { Container } from '@azure/cosmos';
import { isMembershipChange, type ChangeRecord } from '../changes/changeLog';
import { commitLagMs, listChangesSince } from '../changes/changeReads';
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
 * again: at least once, never lost. Two runs racing (two instances) may both enqueue; one cursor
 * write loses the If-Match and the receiver gets those changes twice (each item carries its change
 * id, so a receiver drops repeats).
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
}

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
  const [progress, subscriptions] = await Promise.all([store.readProgress(tenantId), store.listOfTenant(tenantId)]);
  // The clock read before the change query: everything at or before nowMs - commitLagMs is in it.
  const nowMs = Date.now();
  const live = subscriptions.filter((subscription) => subscription.expiresAtMs > nowMs);
  const previousWatermark = progress?.watermarkMs;
  if (live.length === 0) {
    // Nothing to notify: the cursor moves to now (rarely written), so a later subscription's run reads a short window.
    if (progress !== undefined && (progress.subscriptionIds.length > 0 || progress.watermarkMs < nowMs - 3_600_000)) {
      await store.writeProgress(progress, { id: outboxProgressId, pk: subscriptionsPartition(tenantId), kind: 'outboxProgress', tenantId, watermarkMs: nowMs, recent: [], subscriptionIds: [] });
    }
    return { tenantId, read: 0, notified: 0, messages: 0, cursorMoved: true };
  }
  const known = new Set(progress?.subscriptionIds ?? []);
  const base = previousWatermark === undefined ? Number.POSITIVE_INFINITY : previousWatermark - commitLagMs;
  const since = Math.min(base, ...live.filter((subscription) => !known.has(subscription.id)).map((subscription) => startOf(subscription, nowMs) - 1));
  const records = (await listChangesSince(container, since, { tenantId })).sort((a, b) => a.atMs - b.atMs || a.id.localeCompare(b.id));
  const sent = new Set((progress?.recent ?? []).map((entry) => entry.changeId));

  const messages: DeliveryMessage[] = [];
  let notified = 0;
  for (const subscription of live) {
    const fresh = !known.has(subscription.id);
    const start = startOf(subscription, nowMs);
    const changes = records
      .filter((record) => record.atMs >= start && (fresh || (record.atMs > base && !sent.has(record.changeId))) && subscriptionMatches(subscription, record))
      .map((record): NotifiedChange => ({
        changeId: record.changeId,
        atMs: record.atMs,
        groupId: record.groupId,
        changeType: record.changeType,
        ...(record.memberId === undefined ? {} : { memberId: record.memberId }),
      }));
    notified += changes.length;
    for (let index = 0; index < changes.length; index += maxChangesPerMessage) {
      messages.push({ tenantId, subscriptionId: subscription.id, firstEnqueuedAtMs: Date.now(), attempt: 0, changes: changes.slice(index, index + maxChangesPerMessage) });
    }
  }
  // Every message is in the queue before the cursor moves past its changes.
  await Promise.all(messages.map((message) => enqueueDelivery(message)));

  const watermarkMs = Math.max(previousWatermark ?? 0, nowMs);
  const recent = records.filter((record) => record.atMs > watermarkMs - commitLagMs).map((record) => ({ changeId: record.changeId, atMs: record.atMs }));
  const cursorMoved = await store.writeProgress(progress, {
    id: outboxProgressId,
    pk: subscriptionsPartition(tenantId),
    kind: 'outboxProgress',
    tenantId,
    watermarkMs,
    recent,
    subscriptionIds: live.map((subscription) => subscription.id),
  });
  if (!cursorMoved) outboxCounters.racedRuns += 1;
  outboxCounters.notified += notified;
  return { tenantId, read: records.length, notified, messages: messages.length, cursorMoved };
}

/** Totals of this process, for logs and the stress run. */
export const outboxCounters = { runs: 0, failedRuns: 0, notified: 0, racedRuns: 0 };

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
      while (entry.again) {
        entry.again = false;
        outboxCounters.runs += 1;
        try {
          const report = await dispatchTenant(await getContainer(), tenantId);
          if (!report.cursorMoved) log('dispatchNotifications: another run moved the cursor first; these changes may be delivered twice', report);
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
export async function dispatchAllTenants(container: Container, log: Log = () => undefined): Promise<number> {
  const tenants = new Set((await new SubscriptionStore(container).listAll()).map((subscription) => subscription.tenantId));
  await Promise.all([...tenants].map((tenantId) => kickDispatch(() => Promise.resolve(container), tenantId, log)));
  return tenants.size;
}

/** Resolves once no run is under way in this process (the local host awaits it before closing the stores). */
export async function outboxIdle(): Promise<void> {
  while (runs.size > 0) await Promise.all([...runs.values()].map((run) => run.promise));
}

export type { OutboxProgressDocument };
