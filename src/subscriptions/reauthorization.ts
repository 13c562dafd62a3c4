import type { Container } from '@azure/cosmos';
import { deliverySettings, sendLifecycleNotification } from './delivery';
import { SubscriptionStore, type SubscriptionDocument } from './subscriptionStore';

/**
 * `reauthorizationRequired` (SPEC 9; https://learn.microsoft.com/graph/change-notifications-lifecycle-events:
 * sent "when a subscription is about to expire", among other cases, and for every resource type):
 * a subscription with a lifecycleNotificationUrl gets one challenge per expiry once that expiry is
 * within `reauthorizationLeadMs`. The app answers by renewing it (PATCH, a new expiry, so a new
 * challenge later) or by POST /subscriptions/{id}/reauthorize. Run by the dispatch timer
 * (functions/notifications.ts), on every instance: a pass first claims the challenge on the
 * subscription (If-Match), so one instance sends it, and gives the claim back if the receiver did
 * not take it (the next pass, 10 s on, tries again until the subscription expires).
 *
 * Not sent here: `subscriptionRemoved`, which Graph sends only for Outlook and Teams resources (the
 * page above, "Supported resources"), and which this service never has cause to send (it removes
 * no subscription itself: an expired one simply ends).
 */
export const reauthorizationLeadMs = 60 * 60_000;

export function needsReauthorization(subscription: SubscriptionDocument, nowMs: number): boolean {
  return (
    subscription.lifecycleNotificationUrl !== null &&
    subscription.expiresAtMs > nowMs &&
    subscription.expiresAtMs - nowMs <= reauthorizationLeadMs &&
    subscription.reauthorizationRequestedForMs !== subscription.expiresAtMs
  );
}

/** One pass over every subscription: the challenges due now. Returns how many were sent (2xx). */
export async function challengeExpiringSubscriptions(
  container: Container,
  log: (message: string, details?: unknown) => void = () => undefined,
  nowMs = Date.now(),
  subscriptions?: readonly SubscriptionDocument[],
): Promise<number> {
  const store = new SubscriptionStore(container);
  const due = (subscriptions ?? (await store.listAll())).filter((subscription) => needsReauthorization(subscription, nowMs));
  let sent = 0;
  for (const subscription of due) {
    const claimed = await store.setReauthorizationRequested(subscription, subscription.expiresAtMs);
    if (claimed === undefined) continue;
    if (await sendLifecycleNotification(claimed, 'reauthorizationRequired', deliverySettings().timeoutMs)) {
      sent += 1;
      continue;
    }
    log('reauthorizationRequired not delivered', { subscriptionId: subscription.id });
    await store
      .setReauthorizationRequested(claimed, undefined)
      .catch((error: unknown) => log('reauthorizationRequired claim not given back', { subscriptionId: subscription.id, error: String(error) }));
  }
  return sent;
}
