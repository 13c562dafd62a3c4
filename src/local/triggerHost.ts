import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InvocationContext, type LogHandler, type Timer } from '@azure/functions';
import { QueueServiceClient, type DequeuedMessageItem, type QueueClient } from '@azure/storage-queue';
import { CronExpressionParser } from 'cron-parser';
import type { QueueFunctionDefinition, TimerFunctionDefinition } from '../../functions/triggers';

/**
 * Runs the app's timer and queue functions as the Azure Functions host does (the same
 * definitions functions/index.ts registers with app.timer() and app.storageQueue()).
 *
 * Queues, as the host's Storage queue trigger
 * (https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#polling-algorithm,
 * #concurrency, #poison-messages; settings: host.json `extensions.queues`,
 * https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue#host-json):
 * - messages are fetched in batches of `batchSize` and run concurrently; another batch is fetched
 *   once fewer than `newBatchThreshold` are running;
 * - a poll that finds messages polls again after 100 ms; an empty poll waits, starting near
 *   200 ms and growing (randomized, exponential) up to `maxPollingInterval`;
 * - a message is invisible to other readers while its function runs (a 10-minute lease here,
 *   well beyond host.json's functionTimeout);
 * - a function that throws leaves the message to reappear after `visibilityTimeout`; once it
 *   failed `maxDequeueCount` times it is moved to `{queue}-poison`;
 * - messages are base64 (messageEncoding), and a JSON message reaches the handler parsed.
 * Timers: each schedule is an NCRONTAB expression (six fields, seconds first,
 * https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-expressions),
 * evaluated in UTC (WEBSITE_TIME_ZONE unset); a run never overlaps the previous one of its function.
 */

export interface QueueHostSettings {
  readonly batchSize: number;
  readonly newBatchThreshold: number;
  readonly maxPollingIntervalMs: number;
  readonly visibilityTimeoutMs: number;
  readonly maxDequeueCount: number;
  readonly messageEncoding: 'base64' | 'none';
}

/** hh:mm:ss(.fff) or d.hh:mm:ss, as host.json writes TimeSpans. */
function timeSpanMs(value: string): number {
  const match = /^(?:(\d+)\.)?(\d+):(\d+):(\d+)(?:\.(\d+))?$/.exec(value);
  if (match === null) throw new Error(`host.json: '${value}' is not a TimeSpan (hh:mm:ss).`);
  const [, days, hours, minutes, seconds, fraction] = match;
  return ((Number(days ?? 0) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 + Number(seconds) * 1000 + Math.round(Number(`0.${fraction ?? '0'}`) * 1000);
}

/** host.json's `extensions.queues`, with the host's defaults for what it leaves out. */
export function readQueueHostSettings(hostJsonPath = path.resolve(__dirname, '../../../host.json')): QueueHostSettings {
  const queues = ((JSON.parse(readFileSync(hostJsonPath, 'utf8')) as { extensions?: { queues?: Record<string, unknown> } }).extensions?.queues ?? {}) as Record<string, string | number | undefined>;
  const batchSize = Number(queues.batchSize ?? 16);
  return {
    batchSize,
    newBatchThreshold: Number(queues.newBatchThreshold ?? Math.floor(batchSize / 2)),
    maxPollingIntervalMs: timeSpanMs(String(queues.maxPollingInterval ?? '00:01:00')),
    visibilityTimeoutMs: timeSpanMs(String(queues.visibilityTimeout ?? '00:00:00')),
    maxDequeueCount: Number(queues.maxDequeueCount ?? 5),
    messageEncoding: queues.messageEncoding === 'none' ? 'none' : 'base64',
  };
}

export interface TriggerHostOptions {
  readonly timers: readonly TimerFunctionDefinition[];
  readonly queues: readonly QueueFunctionDefinition[];
  readonly logHandler?: LogHandler;
  /** Overrides of host.json's queue settings (tests poll faster). */
  readonly queueSettings?: Partial<QueueHostSettings>;
  /** Schedules in place of the functions' own, by function name (tests run a sweep every second). */
  readonly schedules?: Readonly<Record<string, string>>;
  readonly env?: NodeJS.ProcessEnv;
}

export interface RunningTriggerHost {
  /** One row per function (trigger, name, what triggers it), for npm start's listing. */
  readonly description: readonly (readonly [string, string, string])[];
  /** Stops polling and scheduling, and waits for the invocations under way. */
  close(): Promise<void>;
}

const leaseMs = 10 * 60_000;

export async function startTriggerHost(options: TriggerHostOptions): Promise<RunningTriggerHost> {
  const settings = { ...readQueueHostSettings(), ...options.queueSettings };
  const env = options.env ?? process.env;
  const logHandler: LogHandler = options.logHandler ?? (() => undefined);
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise)).catch(() => undefined);
    return promise;
  };
  const state = { stopped: false };
  const wakers = new Set<() => void>();
  /** A wait that close() cuts short. */
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakers.add(done);
    });

  const description: [string, string, string][] = [];
  const loops: Promise<void>[] = [];

  for (const definition of options.queues) {
    const connection = env[definition.connection];
    if (connection === undefined || connection === '') throw new Error(`${definition.name}: the connection setting ${definition.connection} is not set.`);
    const service = QueueServiceClient.fromConnectionString(connection);
    const queue = service.getQueueClient(definition.queueName);
    const poison = service.getQueueClient(`${definition.queueName}-poison`);
    await queue.createIfNotExists();
    description.push([
      'QUEUE',
      definition.name,
      `${definition.queueName} (batch ${settings.batchSize}, poll up to every ${settings.maxPollingIntervalMs} ms, poison after ${settings.maxDequeueCount} tries)`,
    ]);
    loops.push(pollQueue(definition, queue, poison));
  }

  async function runMessage(definition: QueueFunctionDefinition, queue: QueueClient, poison: QueueClient, item: DequeuedMessageItem): Promise<void> {
    const text = settings.messageEncoding === 'base64' ? Buffer.from(item.messageText, 'base64').toString('utf8') : item.messageText;
    let entry: unknown = text;
    try {
      entry = JSON.parse(text);
    } catch {
      // Not JSON: the handler gets the text, as the worker passes it.
    }
    const context = new InvocationContext({
      invocationId: randomUUID(),
      functionName: definition.name,
      logHandler,
      triggerMetadata: { id: item.messageId, dequeueCount: item.dequeueCount, insertionTime: item.insertedOn, expirationTime: item.expiresOn, popReceipt: item.popReceipt },
    });
    try {
      await definition.handler(entry, context);
      await queue.deleteMessage(item.messageId, item.popReceipt);
    } catch (error) {
      logHandler('error', `${definition.name} failed (dequeueCount ${item.dequeueCount}): ${error instanceof Error ? error.message : String(error)}`);
      if (item.dequeueCount >= settings.maxDequeueCount) {
        await poison.createIfNotExists();
        await poison.sendMessage(item.messageText);
        await queue.deleteMessage(item.messageId, item.popReceipt);
      } else {
        await queue.updateMessage(item.messageId, item.popReceipt, undefined, Math.ceil(settings.visibilityTimeoutMs / 1000));
      }
    }
  }

  async function pollQueue(definition: QueueFunctionDefinition, queue: QueueClient, poison: QueueClient): Promise<void> {
    const running = new Set<Promise<void>>();
    let emptyPolls = 0;
    while (!state.stopped) {
      if (running.size > settings.newBatchThreshold) {
        await Promise.race(running);
        continue;
      }
      let items: DequeuedMessageItem[] = [];
      try {
        items = (await queue.receiveMessages({ numberOfMessages: Math.min(32, settings.batchSize), visibilityTimeout: leaseMs / 1000 })).receivedMessageItems;
      } catch (error) {
        logHandler('warning', `${definition.name}: polling ${definition.queueName} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      for (const item of items) {
        const run: Promise<void> = track(runMessage(definition, queue, poison, item).catch((error: unknown) => logHandler('error', `${definition.name}: ${String(error)}`))).finally(() =>
          running.delete(run),
        );
        running.add(run);
      }
      if (items.length > 0) {
        emptyPolls = 0;
        await sleep(100);
      } else {
        // About 200 ms, then growing exponentially, randomized, up to maxPollingInterval.
        const ceiling = Math.min(settings.maxPollingIntervalMs, 200 * 2 ** emptyPolls);
        emptyPolls = Math.min(emptyPolls + 1, 20);
        await sleep(Math.max(Math.min(100, settings.maxPollingIntervalMs), ceiling * (0.8 + Math.random() * 0.2)));
      }
    }
  }

  for (const definition of options.timers) {
    const schedule = options.schedules?.[definition.name] ?? definition.schedule;
    const expression = CronExpressionParser.parse(schedule, { tz: 'UTC' });
    description.push(['TIMER', definition.name, `${schedule} (NCRONTAB, UTC)`]);
    let last: Date | undefined;
    loops.push(
      (async () => {
        while (!state.stopped) {
          const next = expression.next().toDate();
          const wait = next.getTime() - Date.now();
          if (wait > 0) await sleep(wait);
          if (state.stopped) return;
          const timer: Timer = {
            isPastDue: Date.now() - next.getTime() > 1000,
            schedule: { adjustForDST: false },
            scheduleStatus: { last: (last ?? next).toISOString(), next: expression.next().toDate().toISOString(), lastUpdated: new Date().toISOString() },
          };
          expression.reset(new Date());
          last = next;
          const context = new InvocationContext({ invocationId: randomUUID(), functionName: definition.name, logHandler });
          // Awaited: a run never overlaps the previous one.
          await track(definition.handler(timer, context)).catch((error: unknown) => logHandler('error', `${definition.name} failed: ${error instanceof Error ? error.message : String(error)}`));
        }
      })(),
    );
  }

  return {
    description,
    close: async () => {
      state.stopped = true;
      for (const wake of Array.from(wakers)) wake();
      while (inFlight.size > 0) await Promise.allSettled(inFlight);
      // The loops end once their current poll returns.
      await Promise.allSettled(loops);
    },
  };
}
