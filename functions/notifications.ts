import type { InvocationContext, Timer } from '@azure/functions';
import { onChangeCommitted } from '../src/changes/changeLog';
import { getCosmosStore } from '../src/store/cosmosStore';
import { deliver } from '../src/subscriptions/delivery';
import { decodeMessage, deliveryQueueName } from '../src/subscriptions/notificationQueue';
import { dispatchAllTenants, kickDispatch } from '../src/subscriptions/outbox';
import { challengeExpiringSubscriptions } from '../src/subscriptions/reauthorization';
import { SubscriptionStore } from '../src/subscriptions/subscriptionStore';

/**
 * Change notifications (SPEC 9, issue 12 item 3): the outbox turns committed change records into
 * Storage-queue messages (src/subscriptions/outbox.ts), and a queue-triggered function delivers
 * each message to its receiver (src/subscriptions/delivery.ts).
 *
 * Two ways into the outbox: right after a commit in this process (the fast path, below), and a
 * timer sweep every 10 seconds over every tenant with a subscription (the safety net: another
 * instance's commit whose fast path was lost, a store or queue fault during a run).
 */

const memberships = async () => (await getCosmosStore()).memberships;

// The fast path: a commit in this process asks for a run of its tenant's outbox. Not awaited by
// the request: its answer never waits for notifications.
onChangeCommitted((tenantId) => void kickDispatch(memberships, tenantId, (message, details) => console.warn(message, JSON.stringify(details))));

export const dispatchNotificationsTimer = {
  name: 'dispatchNotifications',
  schedule: '*/10 * * * * *',
  handler: async (_timer: Timer, context: InvocationContext): Promise<void> => {
    const container = await memberships();
    const warn = (message: string, details?: unknown) => context.warn(message, details);
    // One cross-partition read of the subscriptions serves both passes.
    const subscriptions = await new SubscriptionStore(container).listAll();
    const tenants = await dispatchAllTenants(container, warn, subscriptions);
    // Subscriptions about to expire get their reauthorizationRequired (src/subscriptions/reauthorization.ts).
    const challenged = await challengeExpiringSubscriptions(container, warn, Date.now(), subscriptions);
    context.debug('dispatchNotifications', { tenants, challenged });
  },
};

/**
 * The queue trigger: one message is one receiver's batch of changes. `connection` names the host's
 * AzureWebJobsStorage: Azurite's connection string locally; in Azure its identity-based settings
 * (AzureWebJobsStorage__accountName or __queueServiceUri, __credential, __clientId), the identity
 * holding Storage Queue Data Contributor (infra/app/rbac.bicep)
 * (https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#identity-based-connections).
 * Throwing makes the host try the message again, maxDequeueCount times (host.json), then move it
 * to `graph-notifications-poison`: only a store or queue fault here throws, never a receiver's failure.
 */
export const deliverNotificationsQueue = {
  name: 'deliverNotifications',
  queueName: deliveryQueueName,
  connection: 'AzureWebJobsStorage',
  handler: async (queueEntry: unknown, context: InvocationContext): Promise<void> => {
    const message = decodeMessage(queueEntry);
    if (message === undefined) {
      context.warn('deliverNotifications: a message that is not a delivery was dropped');
      return;
    }
    const outcome = await deliver(new SubscriptionStore(await memberships()), message, (text, details) => context.warn(text, details));
    context.debug('deliverNotifications', { subscriptionId: message.subscriptionId, changes: message.changes.length, attempt: message.attempt, outcome });
  },
};
