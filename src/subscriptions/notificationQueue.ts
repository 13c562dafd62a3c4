import type { ChangeType } from '../changes/changeLog';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';

/**
 * The Storage queue between the outbox (src/subscriptions/outbox.ts) and the queue-triggered
 * delivery function (functions/notifications.ts): one message per (subscription, batch of changes).
 *
 * The queue lives in the host's own storage account (the AzureWebJobsStorage connection), so the
 * trigger's `connection: 'AzureWebJobsStorage'` and this client reach the same account: in Azure
 * through the identity-based settings AzureWebJobsStorage__queueServiceUri (or __accountName) and
 * __clientId, as the Functions host reads them
 * (https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity);
 * locally from Azurite's connection string.
 */
export const deliveryQueueName = 'graph-notifications';
/** Where the Functions host moves a message that failed maxDequeueCount times: `{queue}-poison`. */
export const poisonQueueName = `${deliveryQueueName}-poison`;

/** One delivery: what the queue message holds. The function reads the subscription again when it runs. */
export interface DeliveryMessage {
  readonly tenantId: string;
  readonly subscriptionId: string;
  /** When the first attempt was enqueued: the retry budget counts from here. */
  readonly firstEnqueuedAtMs: number;
  /** 0 for the first attempt. */
  readonly attempt: number;
  readonly changes: readonly NotifiedChange[];
}

export interface NotifiedChange {
  readonly changeId: string;
  readonly atMs: number;
  readonly groupId: string;
  readonly changeType: ChangeType;
  readonly memberId?: string;
}

/**
 * The Functions host decodes queue messages as base64 by default (host.json
 * extensions.queues.messageEncoding, https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue#host-json),
 * and the Node.js worker hands a JSON message to the handler parsed.
 */
export const encodeMessage = (message: DeliveryMessage): string => Buffer.from(JSON.stringify(message), 'utf8').toString('base64');

/** What the handler gets (a parsed object, or the text when the worker did not parse it) as a DeliveryMessage, or undefined. */
export function decodeMessage(entry: unknown): DeliveryMessage | undefined {
  let value = entry;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  const message = value as Partial<DeliveryMessage> | null;
  if (message === null || typeof message !== 'object' || typeof message.tenantId !== 'string' || typeof message.subscriptionId !== 'string' || !Array.isArray(message.changes)) return undefined;
  if (typeof message.firstEnqueuedAtMs !== 'number' || typeof message.attempt !== 'number') return undefined;
  return message as DeliveryMessage;
}

/** The queue service of AzureWebJobsStorage: a connection string locally, the app's identity in Azure. */
export function queueServiceFromSettings(env: NodeJS.ProcessEnv = process.env): QueueServiceClient {
  const connection = env.AzureWebJobsStorage;
  if (connection !== undefined && connection !== '') {
    if (connection === 'UseDevelopmentStorage=true') throw new Error('AzureWebJobsStorage is UseDevelopmentStorage=true but no Azurite was started (npm start starts one).');
    return QueueServiceClient.fromConnectionString(connection);
  }
  const accountName = env.AzureWebJobsStorage__accountName;
  const uri = env.AzureWebJobsStorage__queueServiceUri ?? (accountName === undefined ? undefined : `https://${accountName}.queue.core.windows.net`);
  if (uri === undefined) throw new Error('AzureWebJobsStorage (or AzureWebJobsStorage__queueServiceUri / __accountName) is not set.');
  // Loaded only here: @azure/identity is heavy and local runs never need it.
  const { ManagedIdentityCredential, DefaultAzureCredential } = require('@azure/identity') as typeof import('@azure/identity');
  const clientId = env.AzureWebJobsStorage__clientId;
  const credential = env.AzureWebJobsStorage__credential === 'managedidentity' ? new ManagedIdentityCredential(clientId === undefined ? {} : { clientId }) : new DefaultAzureCredential();
  return new QueueServiceClient(uri, credential);
}

let cached: { readonly key: string; readonly queue: Promise<QueueClient> } | undefined;

/** The delivery queue, created on first use (idempotent: createIfNotExists). Re-made when the setting changes (tests). */
export function getDeliveryQueue(): Promise<QueueClient> {
  const key = `${process.env.AzureWebJobsStorage ?? ''}|${process.env.AzureWebJobsStorage__queueServiceUri ?? ''}|${process.env.AzureWebJobsStorage__accountName ?? ''}`;
  if (cached?.key !== key) {
    const queue = (async () => {
      const client = queueServiceFromSettings().getQueueClient(deliveryQueueName);
      await client.createIfNotExists();
      return client;
    })();
    cached = { key, queue };
    // A failed creation is not remembered: the next call tries again.
    queue.catch(() => {
      if (cached?.queue === queue) cached = undefined;
    });
  }
  return cached.queue;
}

/** A Storage queue message holds at most 64 KiB; a batch of changes stays well below it once base64-encoded. */
export const maxChangesPerMessage = 50;

/** Enqueues `message`, visible after `delayMs` (rounded up to the queue's whole seconds). */
export async function enqueueDelivery(message: DeliveryMessage, delayMs = 0): Promise<void> {
  const queue = await getDeliveryQueue();
  await queue.sendMessage(encodeMessage(message), delayMs > 0 ? { visibilityTimeout: Math.ceil(delayMs / 1000) } : {});
}
