/**
 * The notification phase of `npm run stress` (issue 12, "Reliability"), and its small version in
 * `npm test` (test/stress/notificationPhase.test.ts).
 *
 * Membership adds and removals through real HTTP, from concurrent clients on this host and on a
 * second instance (another process on the same store and queue, with its own outbox runs and
 * queue worker, as two Functions instances), while the fault proxy fails a share of every Cosmos
 * request (503, connection reset, 429 with x-ms-retry-after-ms: the changes, the outbox's runs,
 * the delivery function's subscription reads and the delta reads alike) and receivers on loopback
 * fail a share of the notifications they get (no answer until the sender's timeout, 5xx, reset).
 * One receiver never fails. The trigger host runs the queue function and the outbox timer as in
 * test/changes/notifications.test.ts (short polls, retries after about a second).
 *
 * Then faults off, the reconciler (grace 0: nothing is in flight), a bounded wait for every
 * receiver to hold every change it should, and the checks: every change of the log (by change
 * id, listChangesSince) that matches a subscription was acknowledged by its receiver at least
 * once; every item any receiver got is a change of the log, for its subscription, in Graph's
 * shape; a delta client that synced before the first change and followed its deltaLinks during
 * the run (retrying 429/503 as a client does) holds exactly what GET members shows.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Container } from '@azure/cosmos';
import type { ChangeRecord } from '../../src/changes/changeLog';
import { listChangesSince } from '../../src/changes/changeReads';
import { closeServer } from '../../src/local/closeServer';
import { startAzurite, type RunningStore } from '../../src/local/embeddedStores';
import { startTriggerHost, type RunningTriggerHost } from '../../src/local/triggerHost';
import { reconcileMemberships, type ReconcileReport } from '../../src/membership/reconciler';
import { deliveryCounters } from '../../src/subscriptions/delivery';
import { outboxCounters, outboxIdle, subscriptionMatches } from '../../src/subscriptions/outbox';
import { SubscriptionStore, type SubscriptionDocument } from '../../src/subscriptions/subscriptionStore';
import type { Fault, FaultProxy, ProxiedRequest } from '../support/faultProxy';
import { SecondInstance } from '../support/secondInstance';
import { seedPool, StressClient, type Answer, type Pool, type Signer } from './driver';
import { Random } from './model';
import type { Target } from './scenario';

export interface NotificationPhaseEnvironment {
  readonly client: StressClient;
  readonly sign: Signer;
  readonly proxy: FaultProxy;
  readonly store: { readonly memberships: Container; readonly directory: Container };
  readonly tenantId: string;
}

export interface NotificationPhaseOptions {
  /** Membership changes answered 204 (adds and removals) before the load stops. */
  readonly changes: number;
  /** Concurrent clients; every fourth sends to the second instance (when there is one). */
  readonly concurrency: number;
  readonly groups: number;
  readonly users: number;
  /** Share of Cosmos requests failed (503, reset, 429 in equal parts) while the changes run. */
  readonly storeFaultRate: number;
  /** Share of notifications a faulty receiver fails (no answer, 5xx, reset in equal parts). */
  readonly receiverFaultRate: number;
  readonly secondInstance: boolean;
  /** No change starts after this. */
  readonly timeBudgetMs: number;
  /** How long, after the faults stop, every receiver may take to hold every change. */
  readonly deliveryWaitMs: number;
  readonly seed: number;
}

/**
 * npm run stress's sizes (environment): STRESS_NOTIFY_CHANGES (5000), STRESS_NOTIFY_CLIENTS (16),
 * STRESS_NOTIFY_FAULT_RATE (0.1 of Cosmos requests, the nesting race's rate: at the fault phases'
 * 0.2 a change fails more often than it commits), STRESS_NOTIFY_RECEIVER_FAULT_RATE (0.2),
 * STRESS_NOTIFY_SECOND_INSTANCE (1; 0 runs every client on this host).
 */
export function notificationPhaseSettings(seed: number, env: NodeJS.ProcessEnv = process.env): NotificationPhaseOptions {
  const number = (name: string, fallback: number) => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number of at least 0.`);
    return value;
  };
  return {
    changes: number('STRESS_NOTIFY_CHANGES', 5_000),
    concurrency: number('STRESS_NOTIFY_CLIENTS', 16),
    groups: 12,
    users: 40,
    storeFaultRate: number('STRESS_NOTIFY_FAULT_RATE', 0.1),
    receiverFaultRate: number('STRESS_NOTIFY_RECEIVER_FAULT_RATE', 0.2),
    secondInstance: number('STRESS_NOTIFY_SECOND_INSTANCE', 1) !== 0,
    timeBudgetMs: 480_000,
    deliveryWaitMs: 120_000,
    seed,
  };
}

/** The sender's timeout in this phase: a stalled receiver costs a second, not Graph's 3. */
const notificationTimeoutMs = 1_000;

type StoreFaultKind = '503' | 'reset' | '429';
type ReceiverFaultKind = 'stall' | '5xx' | 'reset';

/** A share of Cosmos requests failed, the kinds drawn in equal parts, and counted. */
class MixedStoreFaults {
  seen = 0;
  readonly injected: Record<StoreFaultKind, number> = { '503': 0, reset: 0, '429': 0 };
  constructor(
    private readonly rate: number,
    private readonly random: Random,
  ) {}

  readonly rule = (_request: ProxiedRequest): Fault | undefined => {
    this.seen += 1;
    if (!this.random.chance(this.rate)) return undefined;
    const kind = this.random.pick(['503', 'reset', '429'] as const);
    this.injected[kind] += 1;
    if (kind === 'reset') return { kind: 'reset' };
    return kind === '503' ? { kind: 'status', status: 503 } : { kind: 'status', status: 429, retryAfterMs: 20 + this.random.int(480) };
  };
}

interface NotificationItem {
  readonly id: string;
  readonly subscriptionId: string;
  readonly changeType: string;
  readonly resource: string;
  readonly clientState: string | null;
  readonly tenantId: string;
  readonly resourceData: { readonly id: string; readonly 'members@delta'?: { readonly id: string; readonly '@removed'?: string }[] };
}

/**
 * A webhook receiver on loopback that answers the validation handshake, then fails a share of
 * the notifications it gets while `faulty` is on. It keeps, per change id, when it acknowledged
 * the change (a 202), and every item it saw, acknowledged or not.
 */
class FaultyReceiver {
  readonly acknowledged = new Map<string, number[]>();
  readonly seenItems = new Map<string, NotificationItem>();
  readonly faults: Record<ReceiverFaultKind, number> = { stall: 0, '5xx': 0, reset: 0 };
  posts = 0;
  faulty = false;
  subscription!: SubscriptionDocument;
  private server!: http.Server;

  private constructor(
    readonly name: string,
    readonly resource: string,
    readonly clientState: string,
    private readonly faultRate: number,
    private readonly random: Random,
  ) {}

  static async start(name: string, resource: string, faultRate: number, random: Random): Promise<FaultyReceiver> {
    const receiver = new FaultyReceiver(name, resource, `state-${name}`, faultRate, random);
    receiver.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => receiver.answer(request, response, Buffer.concat(chunks).toString('utf8')));
    });
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', () => resolve()));
    return receiver;
  }

  private answer(request: http.IncomingMessage, response: http.ServerResponse, body: string): void {
    const token = new URL(request.url ?? '/', 'http://receiver').searchParams.get('validationToken');
    if (token !== null) {
      response.writeHead(200, { 'Content-Type': 'text/plain' }).end(token);
      return;
    }
    this.posts += 1;
    const items = (JSON.parse(body) as { value: NotificationItem[] }).value;
    for (const item of items) this.seenItems.set(`${item.id}|${item.subscriptionId}`, item);
    if (this.faulty && this.random.chance(this.faultRate)) {
      const kind = this.random.pick(['stall', '5xx', 'reset'] as const);
      this.faults[kind] += 1;
      // A stall: no answer; the sender gives up after NOTIFICATION_TIMEOUT_MS and closes the connection.
      if (kind === 'reset') request.socket.destroy();
      else if (kind === '5xx') response.writeHead(this.random.pick([500, 502, 503])).end();
      return;
    }
    const now = Date.now();
    for (const item of items) this.acknowledged.set(item.id, [...(this.acknowledged.get(item.id) ?? []), now]);
    response.writeHead(202).end();
  }

  url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/notify/${this.name}`;
  }

  get faulted(): number {
    return this.faults.stall + this.faults['5xx'] + this.faults.reset;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return closeServer(this.server);
  }
}

type Replica = Map<string, Set<string>>;
interface DeltaEntry {
  readonly id: string;
  readonly '@removed'?: unknown;
  readonly 'members@delta'?: { readonly id: string; readonly '@removed'?: unknown }[];
}

const pathOf = (link: string): string => {
  const url = new URL(link);
  return `${url.pathname}${url.search}`;
};
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A delta client as a subscriber runs one: follows nextLinks to the deltaLink, applying each page, and retries 429/503 after Retry-After. */
class DeltaClient {
  readonly replica: Replica = new Map();
  rounds = 0;
  retried = 0;
  /** Rounds given up under the faults (started again later from the same deltaLink). */
  abandoned = 0;
  private link: string;

  constructor(
    private readonly client: StressClient,
    private readonly token: string,
    groupIds: readonly string[],
  ) {
    this.link = `/v1.0/groups/delta?$select=displayName,members&$filter=${encodeURIComponent(groupIds.map((id) => `id eq '${id}'`).join(' or '))}`;
  }

  async round(deadline: number): Promise<void> {
    let next = this.link;
    for (;;) {
      const answer = await this.client.send('GET', next, { token: this.token });
      if (answer.status === 429 || answer.status === 503 || answer.status === 0) {
        this.retried += 1;
        if (performance.now() > deadline) throw new Error(`delta: still ${answer.failure ?? answer.status} at the deadline`);
        await sleep(Math.min(2_000, 1000 * Number(answer.retryAfter ?? 1)));
        continue;
      }
      if (answer.status !== 200 || answer.json === undefined) throw new Error(`delta: ${answer.status} ${answer.text.slice(0, 300)}`);
      for (const entry of answer.json.value as unknown as DeltaEntry[]) {
        if (entry['@removed'] !== undefined) {
          this.replica.delete(entry.id);
          continue;
        }
        const members = this.replica.get(entry.id) ?? new Set<string>();
        for (const member of entry['members@delta'] ?? []) {
          if (member['@removed'] === undefined) members.add(member.id);
          else members.delete(member.id);
        }
        this.replica.set(entry.id, members);
      }
      const nextLink = answer.json['@odata.nextLink'];
      const deltaLink = answer.json['@odata.deltaLink'] as string | undefined;
      if (nextLink !== undefined) next = pathOf(nextLink);
      else if (deltaLink !== undefined) {
        this.link = pathOf(deltaLink);
        this.rounds += 1;
        return;
      } else throw new Error('delta: a page with neither nextLink nor deltaLink');
    }
  }
}

/** What the changing clients saw. */
interface LoadStats {
  /** Adds and removals answered 204. */
  committed: number;
  /** Answers by `{add|remove} {status}`. */
  readonly answers: Map<string, number>;
  /** 5xx other than 503, and 429/503 without Retry-After. */
  serverErrors: number;
  missingRetryAfter: number;
  bySecondInstance: number;
  ms: number;
}

async function runChanges(clients: readonly StressClient[], pool: Pool, random: Random, options: NotificationPhaseOptions): Promise<LoadStats> {
  const stats: LoadStats = { committed: 0, answers: new Map(), serverErrors: 0, missingRetryAfter: 0, bySecondInstance: 0, ms: 0 };
  // What each edge is, as far as the answers tell: an add where absent or unknown, a removal where present.
  const states = new Map<string, 'present' | 'absent' | 'unknown'>();
  const busy = new Set<string>();
  const started = performance.now();
  const deadline = started + options.timeBudgetMs;
  let reserved = 0;
  const count = (label: string) => stats.answers.set(label, (stats.answers.get(label) ?? 0) + 1);
  const worker = async (index: number) => {
    const client = clients[index % 4 === 3 && clients.length > 1 ? 1 : 0]!;
    while (reserved < options.changes && performance.now() < deadline) {
      let key: string | undefined;
      for (let tries = 0; tries < 20 && key === undefined; tries += 1) {
        const candidate = `${random.pick(pool.groups)}|${random.pick(pool.users)}`;
        if (!busy.has(candidate)) key = candidate;
      }
      if (key === undefined) {
        await sleep(5);
        continue;
      }
      busy.add(key);
      reserved += 1;
      try {
        const [groupId, userId] = key.split('|') as [string, string];
        const remove = states.get(key) === 'present';
        const answer: Answer = remove
          ? await client.send('DELETE', `/v1.0/groups/${groupId}/members/${userId}/$ref`, { token: pool.appToken })
          : await client.send('POST', `/v1.0/groups/${groupId}/members/$ref`, { token: pool.appToken, body: { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${userId}` } });
        count(`${remove ? 'remove' : 'add'} ${answer.failure ?? answer.status}`);
        if (answer.status === 204) {
          stats.committed += 1;
          if (client !== clients[0]) stats.bySecondInstance += 1;
          states.set(key, remove ? 'absent' : 'present');
          continue;
        }
        reserved -= 1;
        if (answer.status === 400 && !remove) states.set(key, 'present');
        else if (answer.status === 404 && remove) states.set(key, 'absent');
        else {
          states.set(key, 'unknown');
          if (answer.status === 429 || answer.status === 503) {
            if (answer.retryAfter === null) stats.missingRetryAfter += 1;
          } else if (answer.status >= 500 || answer.status === 0) stats.serverErrors += 1;
        }
      } finally {
        busy.delete(key);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, index) => worker(index)));
  stats.ms = performance.now() - started;
  return stats;
}

export interface ReceiverResult {
  readonly name: string;
  readonly resource: string;
  readonly faulty: boolean;
  readonly expected: number;
  readonly missing: readonly string[];
  readonly duplicates: number;
  readonly posts: number;
  readonly faults: Readonly<Record<ReceiverFaultKind, number>>;
  /** Commit (the record's atMs) to first acknowledgement, per expected change received. */
  readonly latencies: readonly number[];
}

export interface NotificationRun {
  readonly options: NotificationPhaseOptions;
  readonly load: LoadStats;
  readonly storeFaults: { readonly seen: number; readonly injected: Readonly<Record<StoreFaultKind, number>> };
  readonly loggedChanges: number;
  readonly receivers: readonly ReceiverResult[];
  /** Items whose change id is not in the log. */
  readonly notInLog: readonly string[];
  /** Items not in Graph's shape for their subscription and change (wrong subscription, clientState, resource, members@delta). */
  readonly misshapen: readonly string[];
  readonly deliveredAllMs: number | undefined;
  readonly delivery: {
    readonly retrying: number;
    readonly missed: number;
    readonly delivered: number;
    readonly outboxRuns: number;
    readonly failedOutboxRuns: number;
    readonly racedOutboxRuns: number;
  };
  readonly reconcile: ReconcileReport;
  readonly delta: { readonly rounds: number; readonly abandoned: number; readonly retried: number; readonly differences: readonly string[]; readonly groups: number; readonly edges: number };
}

const percentile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

function checkItem(item: NotificationItem, record: ChangeRecord, receiver: FaultyReceiver): string | undefined {
  const removed = record.changeType === 'memberRemoved';
  const delta = item.resourceData['members@delta'];
  const problems = [
    item.subscriptionId !== receiver.subscription.id && 'subscriptionId',
    item.clientState !== receiver.clientState && 'clientState',
    item.resource !== `Groups/${record.groupId}` && 'resource',
    item.resourceData.id !== record.groupId && 'resourceData.id',
    item.changeType !== (record.changeType === 'groupDeleted' ? 'deleted' : 'updated') && 'changeType',
    record.memberId !== undefined && (delta?.length !== 1 || delta[0]!.id !== record.memberId || (delta[0]!['@removed'] === 'deleted') !== removed) && 'members@delta',
  ].filter((problem): problem is string => problem !== false);
  return problems.length === 0 ? undefined : `${receiver.name} ${item.id}: ${problems.join(', ')}`;
}

export async function runNotificationPhase(env: NotificationPhaseEnvironment, options: NotificationPhaseOptions): Promise<NotificationRun> {
  const savedEnv = { ...process.env };
  const random = new Random(options.seed);
  const stopping: (() => Promise<unknown>)[] = [];
  // The queue in Azurite: the suite's (npm test's global setup) or one started here.
  let azurite: RunningStore | undefined;
  if ((process.env.AzureWebJobsStorage ?? '') === '') {
    azurite = await startAzurite();
    process.env.AzureWebJobsStorage = azurite.connection;
    stopping.push(() => azurite!.close());
  }
  Object.assign(process.env, {
    // Plain http to loopback receivers (what the local host sets), retries after about a second
    // (the queue's visibility delay is in whole seconds), the budget left at Graph's 4 hours.
    FUNCTIONS_LOCAL_HOST: 'true',
    NOTIFICATION_RETRY_BASE_MS: '100',
    NOTIFICATION_TIMEOUT_MS: String(notificationTimeoutMs),
  });
  const { memberships, directory } = env.store;
  // The outbox's fast path warns on the console for every run a store fault cuts short (hundreds
  // here, by design): counted by outboxCounters.failedRuns and printed as a figure instead.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] !== 'string' || !args[0].startsWith('dispatchNotifications')) warn(...args);
  };
  stopping.push(async () => (console.warn = warn));
  try {
    // Loaded here, not at the top: importing functions/notifications.ts registers the outbox's
    // fast path on every commit of this process, which the stress's other phases must not pay.
    const { queueFunctions, timerFunctions } = require('../../functions/triggers') as typeof import('../../functions/triggers');
    const triggers: RunningTriggerHost = await startTriggerHost({
      timers: timerFunctions.filter((definition) => definition.name === 'dispatchNotifications'),
      queues: queueFunctions,
      queueSettings: { maxPollingIntervalMs: 100, visibilityTimeoutMs: 0 },
      schedules: { dispatchNotifications: '* * * * * *' },
    });
    stopping.unshift(async () => {
      await triggers.close();
      await outboxIdle();
    });

    const pool = await seedPool(env.client, env.sign, { tenantId: env.tenantId, users: options.users, groups: options.groups });
    const [first, second] = pool.groups as [string, string];
    const receivers = [
      await FaultyReceiver.start('healthy', 'groups', 0, random),
      await FaultyReceiver.start('tenant', 'groups', options.receiverFaultRate, new Random(options.seed + 11)),
      await FaultyReceiver.start('group', `groups/${first}`, options.receiverFaultRate, new Random(options.seed + 12)),
      await FaultyReceiver.start('members', `groups/${second}/members`, options.receiverFaultRate, new Random(options.seed + 13)),
    ];
    stopping.push(...receivers.map((receiver) => () => receiver.close()));
    const subscriptions = new SubscriptionStore(memberships);
    for (const receiver of receivers) {
      const answer = await env.client.send('POST', '/v1.0/subscriptions', {
        token: pool.appToken,
        body: {
          resource: receiver.resource,
          changeType: 'updated,deleted',
          notificationUrl: receiver.url(),
          clientState: receiver.clientState,
          expirationDateTime: new Date(Date.now() + 3 * 3600_000).toISOString(),
        },
      });
      if (answer.status !== 201) throw new Error(`subscribing ${receiver.name}: ${answer.status} ${answer.text}`);
      receiver.subscription = (await subscriptions.get(env.tenantId, String(answer.json?.id)))!;
      stopping.unshift(() => env.client.send('DELETE', `/v1.0/subscriptions/${receiver.subscription.id}`, { token: pool.appToken }));
    }

    const deltaClient = new DeltaClient(env.client, pool.appToken, pool.groups);
    await deltaClient.round(performance.now() + 30_000);

    const clients = [env.client];
    if (options.secondInstance) {
      const instance = await SecondInstance.start();
      stopping.unshift(() => instance.stop());
      clients.push(new StressClient(instance.baseUrl));
    }

    const before = { ...deliveryCounters, ...outboxCounters };
    const storeFaults = new MixedStoreFaults(options.storeFaultRate, new Random(options.seed + 1));
    env.proxy.rule = storeFaults.rule;
    for (const receiver of receivers) receiver.faulty = true;
    let load: LoadStats;
    const loadDone = { value: false };
    const deltaErrors: string[] = [];
    try {
      // The delta client follows its deltaLink every 2 s while the changes run, under the same faults.
      // A round under the faults may not finish: each of its pages reads every member the records
      // name (hundreds of reads), and one 503 among them fails the page. The client then gives the
      // round up and starts it again from the same deltaLink later, re-applying what it had applied
      // (each entry is a state, not a step, so applying it twice changes nothing).
      const deltaDuringLoad = (async () => {
        while (!loadDone.value) {
          await sleep(2_000);
          try {
            await deltaClient.round(performance.now() + 15_000);
          } catch (error) {
            if (!String(error).includes('at the deadline')) throw error;
            deltaClient.abandoned += 1;
          }
        }
      })().catch((error: unknown) => deltaErrors.push(`during the changes: ${String(error)}`));
      load = await runChanges(clients, pool, new Random(options.seed + 2), options).finally(() => (loadDone.value = true));
      await deltaDuringLoad;
    } finally {
      env.proxy.rule = () => undefined;
      for (const receiver of receivers) receiver.faulty = false;
    }

    // Whatever a faulted request left half done (a group side without its member side) is repaired now,
    // and any change the repair records is notified like the others.
    const reconcile = await reconcileMemberships(memberships, directory, { graceInMs: 0 });

    const waitStarted = performance.now();
    let log: ChangeRecord[] = [];
    const missingOf = (receiver: FaultyReceiver) =>
      log.filter((record) => record.atMs >= (receiver.subscription.createdAtMs ?? 0) && subscriptionMatches(receiver.subscription, record) && !receiver.acknowledged.has(record.changeId));
    let deliveredAllMs: number | undefined;
    while (performance.now() - waitStarted < options.deliveryWaitMs) {
      log = await listChangesSince(memberships, 0, { tenantId: env.tenantId });
      if (receivers.every((receiver) => missingOf(receiver).length === 0)) {
        deliveredAllMs = performance.now() - waitStarted;
        break;
      }
      await sleep(500);
    }
    // Nothing in flight now (a second of quiet): duplicates still on their way are counted too.
    await sleep(1_000);
    log = await listChangesSince(memberships, 0, { tenantId: env.tenantId });
    const byId = new Map(log.map((record) => [record.changeId, record]));

    const notInLog: string[] = [];
    const misshapen: string[] = [];
    const results: ReceiverResult[] = receivers.map((receiver) => {
      for (const item of receiver.seenItems.values()) {
        const record = byId.get(item.id);
        if (record === undefined) notInLog.push(`${receiver.name} ${item.id}`);
        else {
          const problem = checkItem(item, record, receiver);
          if (problem !== undefined) misshapen.push(problem);
        }
      }
      const expected = log.filter((record) => record.atMs >= (receiver.subscription.createdAtMs ?? 0) && subscriptionMatches(receiver.subscription, record));
      const latencies = expected.flatMap((record) => {
        const times = receiver.acknowledged.get(record.changeId);
        return times === undefined ? [] : [Math.min(...times) - record.atMs];
      });
      return {
        name: receiver.name,
        resource: receiver.resource,
        faulty: receiver.name !== 'healthy',
        expected: expected.length,
        missing: missingOf(receiver).map((record) => record.changeId),
        duplicates: [...receiver.acknowledged.values()].reduce((sum, times) => sum + times.length - 1, 0),
        posts: receiver.posts,
        faults: { ...receiver.faults },
        latencies,
      };
    });

    // The delta client's last round, then what GET members shows for every group of the pool.
    await deltaClient.round(performance.now() + 60_000);
    const differences: string[] = [...deltaErrors];
    let edges = 0;
    for (const groupId of pool.groups) {
      const answer = await env.client.send('GET', `/v1.0/groups/${groupId}/members?$select=id&$top=999`, { token: pool.appToken });
      if (answer.status !== 200 || answer.json === undefined) {
        differences.push(`${groupId}: GET members ${answer.status}`);
        continue;
      }
      const direct = new Set(answer.json.value.map((member) => member.id));
      edges += direct.size;
      const replayed = deltaClient.replica.get(groupId) ?? new Set<string>();
      for (const id of direct) if (!replayed.has(id)) differences.push(`${groupId}: ${id} listed by GET members, not by delta`);
      for (const id of replayed) if (!direct.has(id)) differences.push(`${groupId}: ${id} listed by delta, not by GET members`);
    }

    return {
      options,
      load: load!,
      storeFaults: { seen: storeFaults.seen, injected: { ...storeFaults.injected } },
      loggedChanges: log.filter((record) => record.changeType === 'memberAdded' || record.changeType === 'memberRemoved').length,
      receivers: results,
      notInLog,
      misshapen,
      deliveredAllMs,
      delivery: {
        retrying: deliveryCounters.retrying - before.retrying,
        missed: deliveryCounters.missed - before.missed,
        delivered: deliveryCounters.delivered - before.delivered,
        outboxRuns: outboxCounters.runs - before.runs,
        failedOutboxRuns: outboxCounters.failedRuns - before.failedRuns,
        racedOutboxRuns: outboxCounters.racedRuns - before.racedRuns,
      },
      reconcile,
      delta: { rounds: deltaClient.rounds, abandoned: deltaClient.abandoned, retried: deltaClient.retried, differences, groups: pool.groups.length, edges },
    };
  } finally {
    env.proxy.rule = () => undefined;
    for (const stop of stopping) await stop().catch(() => undefined);
    for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
    Object.assign(process.env, savedEnv);
  }
}

const list = (items: readonly string[]) => `${items.slice(0, 5).join('; ')}${items.length > 5 ? '; …' : ''}`;

export function notificationPhaseTargets(run: NotificationRun): Target[] {
  const missing = run.receivers.filter((receiver) => receiver.missing.length > 0);
  const receiverFaults = run.receivers.reduce((sum, receiver) => sum + receiver.faults.stall + receiver.faults['5xx'] + receiver.faults.reset, 0);
  const storeFaults = run.storeFaults.injected['503'] + run.storeFaults.injected.reset + run.storeFaults.injected['429'];
  return [
    {
      name: `notifications: ${run.options.changes} membership changes answered 204 under store faults, no 5xx but 503, Retry-After on every 429/503`,
      pass: run.load.committed >= run.options.changes && run.load.serverErrors === 0 && run.load.missingRetryAfter === 0,
      detail: `${run.load.committed} in ${(run.load.ms / 1000).toFixed(1)} s, ${run.load.serverErrors} other 5xx or no answer, ${run.load.missingRetryAfter} without Retry-After`,
    },
    {
      name: 'notifications: the faults reached the service and the receivers (store faults injected, receiver answers faulted, deliveries retried)',
      pass: storeFaults > 0 && receiverFaults > 0 && run.delivery.retrying > 0,
      detail: `${storeFaults} store faults, ${receiverFaults} faulted answers, ${run.delivery.retrying} retries`,
    },
    {
      name: `notifications: every logged change matching a subscription reached its receiver at least once, within ${run.options.deliveryWaitMs / 1000} s of the faults stopping, none missed`,
      pass: missing.length === 0 && run.delivery.missed === 0 && run.receivers.every((receiver) => receiver.expected > 0),
      detail:
        missing.length === 0
          ? `${run.receivers.map((receiver) => `${receiver.name} ${receiver.expected}`).join(', ')}; all within ${((run.deliveredAllMs ?? 0) / 1000).toFixed(1)} s; ${run.delivery.missed} missed`
          : missing.map((receiver) => `${receiver.name}: ${receiver.missing.length} of ${receiver.expected} missing (${list(receiver.missing)})`).join('; '),
    },
    {
      name: 'notifications: no change reported that did not commit, every item in Graph’s shape for its subscription',
      pass: run.notInLog.length === 0 && run.misshapen.length === 0,
      detail:
        run.notInLog.length + run.misshapen.length === 0
          ? 'every item a change of the log'
          : `${run.notInLog.length} not in the log (${list(run.notInLog)}); ${run.misshapen.length} misshapen (${list(run.misshapen)})`,
    },
    {
      name: 'notifications: a delta client that synced first and followed its deltaLinks through the faults holds what GET members shows',
      pass: run.delta.differences.length === 0,
      detail:
        run.delta.differences.length === 0
          ? `${run.delta.groups} groups, ${run.delta.edges} memberships, ${run.delta.rounds} rounds`
          : `${run.delta.differences.length} differences: ${list(run.delta.differences)}`,
    },
  ];
}

export function describeNotificationPhase(run: NotificationRun): string[] {
  const all = run.receivers.flatMap((receiver) => receiver.latencies).sort((a, b) => a - b);
  const healthy = [...(run.receivers.find((receiver) => !receiver.faulty)?.latencies ?? [])].sort((a, b) => a - b);
  const injected = run.storeFaults.injected;
  const answers = [...run.load.answers].sort(([a], [b]) => a.localeCompare(b)).map(([label, count]) => `${label}: ${count}`);
  return [
    `  changes: ${run.load.committed} answered 204 in ${(run.load.ms / 1000).toFixed(1)} s (${(run.load.committed / (run.load.ms / 1000)).toFixed(0)}/s), ${run.load.bySecondInstance} through the second instance; ${run.loggedChanges} membership changes in the log`,
    `  answers: ${answers.join(', ')}`,
    `  store faults: ${injected['503']} 503, ${injected.reset} resets, ${injected['429']} 429 of ${run.storeFaults.seen} Cosmos requests (${((100 * (injected['503'] + injected.reset + injected['429'])) / Math.max(1, run.storeFaults.seen)).toFixed(1)}%)`,
    ...run.receivers.map(
      (receiver) =>
        `  receiver ${receiver.name} (${receiver.resource}${receiver.faulty ? `, fails ${(run.options.receiverFaultRate * 100).toFixed(0)}%` : ', never fails'}): ${receiver.expected} changes expected, ${receiver.expected - receiver.missing.length} received; ${receiver.posts} POSTs, faulted ${receiver.faults.stall} stalled, ${receiver.faults['5xx']} 5xx, ${receiver.faults.reset} resets; ${receiver.duplicates} duplicate deliveries`,
    ),
    `  delivery (this process's queue worker): ${run.delivery.delivered} delivered, ${run.delivery.retrying} retried, ${run.delivery.missed} missed; outbox runs ${run.delivery.outboxRuns}, ${run.delivery.failedOutboxRuns} failed (store faults), ${run.delivery.racedOutboxRuns} lost the cursor race`,
    `  commit to first receipt, every receiver: p50 ${percentile(all, 0.5).toFixed(0)} ms, p99 ${percentile(all, 0.99).toFixed(0)} ms, max ${(all.at(-1) ?? Number.NaN).toFixed(0)} ms; healthy receiver: p50 ${percentile(healthy, 0.5).toFixed(0)} ms, p99 ${percentile(healthy, 0.99).toFixed(0)} ms`,
    `  all delivered ${run.deliveredAllMs === undefined ? 'NOT within the wait' : `${(run.deliveredAllMs / 1000).toFixed(1)} s after the faults stopped`}; duplicate deliveries ${run.receivers.reduce((sum, receiver) => sum + receiver.duplicates, 0)}`,
    `  reconciler after the faults: ${JSON.stringify(run.reconcile)}`,
    `  delta: ${run.delta.rounds} rounds completed (the sync, those during the changes, the last), ${run.delta.abandoned} given up under the faults, ${run.delta.retried} requests retried after 429/503/reset`,
  ];
}
