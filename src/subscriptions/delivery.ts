import { isMembershipChange } from '../changes/changeLog';
import { checkNotificationUrl, postToChecked } from './notificationUrl';
import { enqueueDelivery, type DeliveryMessage, type NotifiedChange } from './notificationQueue';
import { notifiedChangeType } from './outbox';
import type { SubscriptionDocument, SubscriptionStore } from './subscriptionStore';

/**
 * One delivery attempt of a queue message (functions/notifications.ts runs it for each message):
 * POST Graph's notification shape to the subscription's notificationUrl, through the same checks
 * as the validation handshake (every resolved address checked again now, the connection pinned to
 * a checked one: a name rebound to an internal address since the subscription was made is refused
 * before any connection), bounded in time.
 *
 * A failed attempt (timeout, reset, refused connection, 408, 429, 5xx, a URL that no longer
 * passes its checks) is not retried by failing the invocation (the host's own retries come
 * immediately, maxDequeueCount times, then the poison queue): a copy of the message is enqueued
 * with a visibility delay that doubles each attempt, and the invocation succeeds. A receiver
 * that is down therefore holds no worker and no other receiver's messages: each message is one
 * receiver's, each attempt is bounded by the timeout, and its retries wait invisible in the queue.
 * Once the next attempt would fall beyond the budget (4 hours, as Graph retries:
 * https://learn.microsoft.com/graph/change-notifications-delivery-webhooks), the subscription's
 * lifecycleNotificationUrl, if any, gets a `missed` lifecycle notification and the changes are
 * dropped (the receiver catches up through /groups/delta).
 */

/** The settings read on every attempt (tests set them small; the defaults are Graph's). */
export function deliverySettings(env: NodeJS.ProcessEnv = process.env): { timeoutMs: number; retryBaseMs: number; retryBudgetMs: number } {
  const number = (name: string, fallback: number) => {
    const value = Number(env[name]);
    return env[name] !== undefined && env[name] !== '' && Number.isFinite(value) && value >= 0 ? value : fallback;
  };
  return {
    // Graph expects a receiver to answer within 3 seconds (the page above, "Processing the change notification").
    timeoutMs: number('NOTIFICATION_TIMEOUT_MS', 3_000),
    retryBaseMs: number('NOTIFICATION_RETRY_BASE_MS', 30_000),
    retryBudgetMs: number('NOTIFICATION_RETRY_BUDGET_MS', 4 * 3600 * 1000),
  };
}

/** The next attempt's delay after `attempt` failures: base, 2×base, 4×base…, at most an hour. */
export const retryDelayMs = (attempt: number, baseMs: number): number => Math.min(baseMs * 2 ** attempt, 3_600_000);

/**
 * Graph's change notification for one change of a group (https://learn.microsoft.com/graph/api/resources/changenotification).
 * A member add or removal carries `members@delta`; any other change (an owner added or removed,
 * the group changed or deleted) names the group alone, and the receiver reads what it needs.
 */
export function notificationItem(subscription: SubscriptionDocument, change: NotifiedChange): Record<string, unknown> {
  const resource = `Groups/${change.groupId}`;
  const memberDelta =
    change.memberId === undefined || !isMembershipChange(change)
      ? {}
      : { 'members@delta': [change.changeType === 'memberRemoved' ? { id: change.memberId, '@removed': 'deleted' } : { id: change.memberId }] };
  return {
    // The change's id: the same change delivered twice carries the same id, so a receiver drops repeats by it.
    id: change.changeId,
    subscriptionId: subscription.id,
    subscriptionExpirationDateTime: subscription.expirationDateTime,
    changeType: notifiedChangeType(change),
    resource,
    resourceData: { '@odata.type': '#Microsoft.Graph.Group', '@odata.id': resource, id: change.groupId, organizationId: subscription.tenantId, ...memberDelta },
    clientState: subscription.clientState,
    tenantId: subscription.tenantId,
  };
}

export type DeliveryOutcome = 'delivered' | 'retrying' | 'missed' | 'refused' | 'dropped';

/** Counts of this process's attempts, by outcome (logs and the stress run). */
export const deliveryCounters: Record<DeliveryOutcome, number> = { delivered: 0, retrying: 0, missed: 0, refused: 0, dropped: 0 };

/** Whether a receiver's answer or error is worth another attempt. */
function retryable(outcome: { status: number } | Error): boolean {
  if (outcome instanceof Error) return true;
  return outcome.status === 408 || outcome.status === 429 || outcome.status >= 500;
}

async function post(url: string, body: unknown, timeoutMs: number): Promise<{ status: number } | Error> {
  try {
    const checked = await checkNotificationUrl(url);
    return await postToChecked(checked, JSON.stringify(body), 'application/json; charset=utf-8', timeoutMs);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

export async function deliver(store: SubscriptionStore, message: DeliveryMessage, log: (message: string, details?: unknown) => void, nowMs = Date.now()): Promise<DeliveryOutcome> {
  const settings = deliverySettings();
  let subscription: SubscriptionDocument | undefined;
  try {
    subscription = await store.get(message.tenantId, message.subscriptionId);
  } catch (error) {
    // A store fault: the message waits in the queue like a receiver's failure, rather than failing
    // the invocation, whose quick retries would end in the poison queue during a longer outage.
    const delayMs = retryDelayMs(message.attempt, settings.retryBaseMs);
    if (nowMs + delayMs - message.firstEnqueuedAtMs > settings.retryBudgetMs) throw error;
    await enqueueDelivery({ ...message, attempt: message.attempt + 1 }, delayMs);
    log('notification delayed: the subscription could not be read', { subscriptionId: message.subscriptionId, delayMs, error: error instanceof Error ? error.message : String(error) });
    deliveryCounters.retrying += 1;
    return 'retrying';
  }
  // Deleted or expired: it gets nothing (SPEC 9), not even a lifecycle notification.
  if (subscription === undefined || subscription.expiresAtMs <= nowMs) {
    deliveryCounters.dropped += 1;
    return 'dropped';
  }
  const outcome = await post(subscription.notificationUrl, { value: message.changes.map((change) => notificationItem(subscription, change)) }, settings.timeoutMs);
  if (!(outcome instanceof Error) && outcome.status >= 200 && outcome.status < 300) {
    deliveryCounters.delivered += 1;
    return 'delivered';
  }
  const detail = outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : `HTTP ${outcome.status}`;
  if (!retryable(outcome)) {
    // A 4xx other than 408/429 is the receiver's refusal, not a failure to reach it.
    log('notification refused by the receiver', { subscriptionId: subscription.id, detail });
    deliveryCounters.refused += 1;
    return 'refused';
  }
  const delayMs = retryDelayMs(message.attempt, settings.retryBaseMs);
  if (nowMs + delayMs - message.firstEnqueuedAtMs <= settings.retryBudgetMs) {
    await enqueueDelivery({ ...message, attempt: message.attempt + 1 }, delayMs);
    log('notification failed; retrying', { subscriptionId: subscription.id, attempt: message.attempt + 1, delayMs, detail });
    deliveryCounters.retrying += 1;
    return 'retrying';
  }
  log('notification missed after the retry budget', { subscriptionId: subscription.id, changes: message.changes.length, detail });
  deliveryCounters.missed += 1;
  if (subscription.lifecycleNotificationUrl !== null && !(await sendLifecycleNotification(subscription, 'missed', settings.timeoutMs))) {
    log('missed lifecycle notification not delivered', { subscriptionId: subscription.id });
  }
  return 'missed';
}

/**
 * POSTs one lifecycle notification to the subscription's lifecycleNotificationUrl, in Graph's
 * shape (https://learn.microsoft.com/graph/change-notifications-lifecycle-events), through the same
 * checked, pinned connection as every notification. True when the receiver took it (2xx); false
 * when it did not, or the subscription has no lifecycle URL.
 */
export async function sendLifecycleNotification(subscription: SubscriptionDocument, lifecycleEvent: 'missed' | 'reauthorizationRequired', timeoutMs: number): Promise<boolean> {
  if (subscription.lifecycleNotificationUrl === null) return false;
  const answer = await post(
    subscription.lifecycleNotificationUrl,
    {
      value: [
        {
          subscriptionId: subscription.id,
          subscriptionExpirationDateTime: subscription.expirationDateTime,
          tenantId: subscription.tenantId,
          clientState: subscription.clientState,
          lifecycleEvent,
        },
      ],
    },
    timeoutMs,
  );
  return !(answer instanceof Error) && answer.status >= 200 && answer.status < 300;
}
