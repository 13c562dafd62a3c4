/**
 * The racing-nesting phase (issue 8, item 4), shared by `npm run stress` and stress.test.ts:
 * opposing nestings ("a into b" on one instance, "b into a" on the other, at the same moment)
 * over a small pool of groups, so that the graph grows dense and the walks long; with or without
 * store faults. Afterwards the reconciler and the consistency checker, which must find zero
 * cycles (and both sides agreeing).
 */
import type { DirectoryObjectDocument } from '../../src/directory/directoryObjects';
import { anchorsOf } from '../../src/membership/anchors';
import { randomUUID } from 'node:crypto';
import type { Container } from '@azure/cosmos';
import { closureLimits, closurePartition } from '../../src/membership/closure';
import { finishPendingNestings } from '../../src/membership/closureJournal';
import { reconcileMemberships } from '../../src/membership/reconciler';
import { repositoriesOver } from '../../src/store/repositories';
import { checkMembershipConsistency, type ConsistencyReport } from '../../src/tools/checkConsistency';
import { PhaseStats, type Answer, type Pool, type StressClient } from './driver';
import { FaultInjector, type FaultKind } from './faults';
import type { Random } from './model';
import type { StressEnvironment, Target } from './scenario';

export interface NestingRaceOptions {
  /** Opposing pairs: twice as many nestings. */
  readonly pairs: number;
  /** Pairs at a time. */
  readonly concurrency: number;
  readonly timeBudgetMs: number;
  readonly faults?: { readonly kind: FaultKind; readonly rate: number };
}

export interface NestingRaceRun {
  readonly stats: PhaseStats;
  readonly pairs: number;
  readonly nestings: number;
  /** Pairs where both nestings answered success: each would be a cycle. */
  readonly bothSucceeded: number;
  readonly consistency: ConsistencyReport;
  readonly injector?: FaultInjector;
}

const cycleMessage = 'The nesting would create a cycle: the group is already a direct or indirect member of the member being added.';

function nest(client: StressClient, pool: Pool, groupId: string, memberId: string): Promise<Answer> {
  return client.send('POST', `/v1.0/groups/${groupId}/members/$ref`, {
    token: pool.appToken,
    body: { '@odata.id': `https://graph.microsoft.com/v1.0/groups/${memberId}` },
  });
}

export async function runNestingRacePhase(env: StressEnvironment, clients: readonly [StressClient, StressClient], pool: Pool, random: Random, options: NestingRaceOptions): Promise<NestingRaceRun> {
  const injector = options.faults === undefined ? undefined : new FaultInjector(options.faults.kind, options.faults.rate, random);
  const stats = new PhaseStats(options.faults === undefined ? 'nesting race' : `nesting race, faults: ${options.faults.kind}`);
  const deadline = performance.now() + options.timeBudgetMs;
  let next = 0;
  let bothSucceeded = 0;
  const judge = (describe: string, answer: Answer) => {
    stats.record('nestS2', describe, answer);
    if (answer.status === 204 || answer.status === 429 || answer.status === 503) return;
    if (answer.status === 400 && [cycleMessage, "One or more added object references already exist for the following modified properties: 'members'."].includes(String(answer.json?.error?.message)))
      return;
    stats.violation(`${describe}: ${answer.failure ?? answer.status} ${answer.text.slice(0, 200)}`);
  };
  if (injector !== undefined) env.proxy.rule = injector.rule;
  try {
    const worker = async () => {
      while (next < options.pairs && performance.now() < deadline) {
        next += 1;
        stats.issued += 1;
        const a = random.pick(pool.groups);
        let b = random.pick(pool.groups);
        while (b === a) b = random.pick(pool.groups);
        const first = random.int(2) as 0 | 1;
        const [ab, ba] = await Promise.all([nest(clients[first], pool, b, a), nest(clients[1 - first]!, pool, a, b)]);
        judge(`${a} into ${b}`, ab);
        judge(`${b} into ${a}`, ba);
        if (ab.status === 204 && ba.status === 204) bothSucceeded += 1;
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    env.proxy.rule = () => undefined;
  }
  stats.finish();
  await reconcileMemberships(env.store.memberships, env.store.directory, { graceInMs: 0 });
  // The timer's last step (functions/reconcileMemberships.ts): closure updates a fault left pending, finished and settled.
  await finishPendingNestings(repositoriesOver(env.store).memberships, 0);
  const consistency = await checkMembershipConsistency(env.store.memberships, { tenantId: pool.tenantId });
  return { stats, pairs: options.pairs, nestings: stats.operations, bothSucceeded, consistency, ...(injector === undefined ? {} : { injector }) };
}

export function nestingRaceTargets(run: NestingRaceRun): Target[] {
  const { stats, consistency } = run;
  const label = stats.label;
  return [
    { name: `${label}: all ${run.pairs} pairs ran within the time budget`, pass: stats.issued >= run.pairs, detail: `${run.nestings} nestings in ${(stats.elapsedMs / 1000).toFixed(1)} s` },
    {
      name: `${label}: zero cycles in the store (consistency checker)`,
      pass: consistency.cycles.length === 0 && run.bothSucceeded === 0,
      detail: `${consistency.cycles.length} cycles; ${run.bothSucceeded} pairs where both directions succeeded${
        consistency.cycles.length > 0
          ? `: ${consistency.cycles
              .slice(0, 3)
              .map((cycle) => cycle.groupIds.join('>'))
              .join(' | ')}`
          : ''
      }`,
    },
    {
      name: `${label}: answers are 204, the cycle or duplicate 400, or 429/503 with Retry-After; no other 5xx`,
      pass: stats.violationCount === 0 && stats.serverErrors === 0 && stats.timeouts === 0 && stats.transportErrors === 0,
      detail: `${stats.violationCount} other answers${stats.violations.length > 0 ? `: ${stats.violations.slice(0, 3).join(' | ')}` : ''}`,
    },
    {
      name: `${label}: both sides of every edge agree after the reconciler`,
      pass: consistency.missingMemberSides.length === 0 && consistency.orphanMemberSides.length === 0 && consistency.malformed.length === 0,
      detail: `${consistency.missingMemberSides.length} missing, ${consistency.orphanMemberSides.length} orphans`,
    },
    {
      name: `${label}: some nestings succeeded and some were refused as cycles`,
      pass: stats.count('204') > 0 && stats.count('400') > 0,
      detail: `204: ${stats.count('204')}, 400: ${stats.count('400')}`,
    },
  ];
}

export function describeNestingRace(run: NestingRaceRun): string[] {
  const statuses = [...run.stats.statuses]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, count]) => `${status}: ${count}`)
    .join(', ');
  const sorted = [...run.stats.latencies].sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return [
    `${run.stats.label}: ${run.nestings} nestings (${run.stats.issued} opposing pairs over two instances) in ${(run.stats.elapsedMs / 1000).toFixed(1)} s${run.injector === undefined ? '' : `; ${run.injector.injected} of ${run.injector.seen} store requests faulted`}`,
    `  statuses: ${statuses}; latency p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms`,
    `  cycles afterwards: ${run.consistency.cycles.length}; group sides ${run.consistency.groupSides}`,
  ];
}

/**
 * Groups G0 ⊃ G1 ⊃ … ⊃ G(n-1) of a tenant, written straight to the store (through the API it
 * would take hundreds of requests), with their nested-group closure documents as the service keeps
 * them (src/membership/closure.ts): G(i)'s ancestors are G0…G(i-1), its descendants G(i+1)…, so
 * the store stays as the service would have left it and the closure checks hold.
 */
export async function writeChain(store: { directory: Container; memberships: Container }, tenantId: string, length: number): Promise<string[]> {
  const ids = Array.from({ length }, () => randomUUID());
  const now = new Date().toISOString();
  const entity = (id: string) => ({
    id,
    displayName: `chain ${id.slice(0, 8)}`,
    groupTypes: [],
    isAssignableToRole: false,
    mailEnabled: false,
    securityEnabled: true,
    membershipRule: null,
    visibility: null,
  });
  const groups = ids.map((id): DirectoryObjectDocument => ({ id, pk: `${tenantId}|${id}`, tenantId, objectType: 'group', entity: entity(id) }));
  await Promise.all(groups.map((group) => store.directory.items.create(group)));
  // Each object's anchors, as a creation through the service writes them (src/membership/anchors.ts).
  await Promise.all(groups.flatMap((group) => anchorsOf(group)).map((anchor) => store.memberships.items.create(anchor)));
  const edges = ids.slice(0, -1).flatMap((groupId, index) => {
    const memberId = ids[index + 1]!;
    const shared = { tenantId, groupId, objectId: memberId, createdDateTime: now };
    return [
      { ...shared, id: memberId, pk: `${tenantId}|group|${groupId}`, kind: 'member', farType: 'group', far: entity(memberId) },
      { ...shared, id: groupId, pk: `${tenantId}|member|${memberId}`, kind: 'memberOf', farType: 'group', far: entity(groupId) },
    ];
  });
  const closure = ids.flatMap((groupId, index) =>
    (
      [
        ['ancestors', ids.slice(0, index)],
        ['descendants', ids.slice(index + 1)],
      ] as const
    )
      .filter(([, set]) => set.length > 0)
      .map(([side, set]) => ({ id: side, pk: closurePartition(tenantId, groupId), tenantId, kind: 'closure', groupId, ids: [...set].sort() })),
  );
  const documents = [...edges, ...closure];
  for (let start = 0; start < documents.length; start += 50) await Promise.all(documents.slice(start, start + 50).map((document) => store.memberships.items.create(document)));
  return ids;
}

/**
 * What the deepest nesting allowed costs (a member group with the chain under it whose closure
 * update rewrites `closureLimits.maxDocumentsPerChange` documents: the member, the groups under it
 * and the new target), and one level deeper (the 400): store requests as the fault proxy counts them, and time.
 */
export async function measureDeepestNesting(
  env: StressEnvironment,
  client: StressClient,
  pool: Pool,
): Promise<{ allowed: { status: number; requests: number; ms: number }; refused: { status: number; requests: number; ms: number } }> {
  const chain = await writeChain(env.store, pool.tenantId, closureLimits.maxDocumentsPerChange);
  const measure = async (memberId: string) => {
    const [target] = pool.groups;
    const groupId = await client
      .send('POST', '/v1.0/groups', { token: pool.appToken, body: { displayName: 'deep target', mailNickname: `deep${randomUUID().slice(0, 8)}`, mailEnabled: false, securityEnabled: true } })
      .then((answer) => String(answer.json?.id ?? target));
    env.proxy.seen.length = 0;
    env.proxy.record = true;
    const started = performance.now();
    const answer = await nest(client, pool, groupId, memberId);
    const ms = performance.now() - started;
    env.proxy.record = false;
    return { status: answer.status, requests: env.proxy.seen.length, ms };
  };
  return { allowed: await measure(chain[1]!), refused: await measure(chain[0]!) };
}
