/**
 * The two stress scenarios and their targets, shared by `npm run stress` (full size) and
 * test/stress/stress.test.ts (CI size):
 *  - a fault phase: one kind of store fault on a share of store requests while clients run the
 *    mix; then faults off, the reconciler, the consistency checker, and the store against what
 *    the answers promised;
 *  - a model phase: no faults, every answer and finally the whole store checked exactly.
 */
import type { Container } from '@azure/cosmos';
import { finishPendingNestings } from '../../src/membership/closureJournal';
import { reconcileMemberships } from '../../src/membership/reconciler';
import { repositoriesOver } from '../../src/store/repositories';
import { checkMembershipConsistency, type ConsistencyReport } from '../../src/tools/checkConsistency';
import type { FaultProxy } from '../support/faultProxy';
import { answerLabel, clientTimeoutMs, PhaseStats, runWorkload, type OperationMix, type Pool, type StressClient } from './driver';
import { FaultInjector, type FaultKind } from './faults';
import type { EdgeModel, Random } from './model';
import { verifyStore, type PhaseVerification } from './verify';

export interface StressEnvironment {
  readonly client: StressClient;
  readonly proxy: FaultProxy;
  readonly store: { readonly memberships: Container; readonly directory: Container };
}

export interface Target {
  readonly name: string;
  readonly pass: boolean;
  readonly detail: string;
}

export interface PhaseRun {
  readonly stats: PhaseStats;
  readonly verification: PhaseVerification;
  readonly operations: number;
  readonly injector?: FaultInjector;
}

export interface PhaseOptions {
  readonly operations: number;
  readonly concurrency: number;
  /** No new operation starts after this many milliseconds. */
  readonly timeBudgetMs: number;
  readonly mix?: OperationMix;
}

export async function runFaultPhase(
  env: StressEnvironment,
  pool: Pool,
  model: EdgeModel,
  random: Random,
  options: PhaseOptions & { readonly kind: FaultKind; readonly rate: number },
): Promise<PhaseRun> {
  const injector = new FaultInjector(options.kind, options.rate, random);
  env.proxy.rule = injector.rule;
  let stats: PhaseStats;
  try {
    stats = await runWorkload(
      { client: env.client, pool, model, random },
      {
        label: `faults: ${options.kind}`,
        operations: options.operations,
        concurrency: options.concurrency,
        deadline: performance.now() + options.timeBudgetMs,
        retryAfterFault: true,
        ...(options.mix === undefined ? {} : { mix: options.mix }),
      },
    );
  } finally {
    env.proxy.rule = () => undefined;
  }
  const verification = await verifyStore(env.store, pool.tenantId, model, { reconcile: true });
  return { stats, verification, operations: options.operations, injector };
}

export async function runModelPhase(env: StressEnvironment, pool: Pool, model: EdgeModel, random: Random, options: PhaseOptions): Promise<PhaseRun> {
  env.proxy.rule = () => undefined;
  const stats = await runWorkload(
    { client: env.client, pool, model, random },
    {
      label: 'model',
      operations: options.operations,
      concurrency: options.concurrency,
      deadline: performance.now() + options.timeBudgetMs,
      ...(options.mix === undefined ? {} : { mix: options.mix }),
    },
  );
  // No reconciler here: without faults the store must be right on its own.
  const verification = await verifyStore(env.store, pool.tenantId, model, { reconcile: false });
  return { stats, verification, operations: options.operations };
}

export interface RaceRun {
  readonly stats: PhaseStats;
  readonly pairs: number;
  /** The two sides before the reconciler ran, and after. */
  readonly before: ConsistencyReport;
  readonly after: ConsistencyReport;
  /** What the last pair on each edge answered (`add status/remove status`) -> how many edges the race left one-sided. */
  readonly oneSidedByAnswers: ReadonlyMap<string, { missing: number; orphan: number; edges: number }>;
}

/**
 * Unserialized on purpose: an add (S1) and a removal of the same edge sent together (either one
 * first, the other 0-3 ms later), `pairs` times, `concurrency` pairs at a time. Either order is a
 * right outcome, but both sides of the edge should agree afterwards; the checker shows what the
 * race leaves before the reconciler, and that the reconciler closes it.
 */
export async function runRacePhase(env: StressEnvironment, pool: Pool, random: Random, options: { pairs: number; concurrency: number; timeBudgetMs: number }): Promise<RaceRun> {
  env.proxy.rule = () => undefined;
  const stats = new PhaseStats('race');
  const deadline = performance.now() + options.timeBudgetMs;
  const edges: { groupId: string; memberId: string }[] = [];
  for (const groupId of pool.groups) for (const memberId of pool.users) edges.push({ groupId, memberId });
  const lastAnswers = new Map<string, string>();
  const busy = new Set<string>();
  let next = 0;
  const worker = async () => {
    while (next < options.pairs && performance.now() < deadline) {
      next += 1;
      const free = edges.filter((edge) => !busy.has(`${edge.groupId}|${edge.memberId}`));
      const { groupId, memberId } = random.pick(free.length > 0 ? free : edges);
      const key = `${groupId}|${memberId}`;
      busy.add(key);
      const addFirst = random.chance(0.5);
      const stagger = random.int(4);
      const later = <T>(send: () => Promise<T>) => new Promise<T>((resolve) => setTimeout(() => resolve(send()), stagger));
      const sendAdd = () =>
        env.client.send('POST', `/v1.0/groups/${groupId}/members/$ref`, { token: pool.appToken, body: { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${memberId}` } });
      const sendRemove = () => env.client.send('DELETE', `/v1.0/groups/${groupId}/members/${memberId}/$ref`, { token: pool.appToken });
      const [added, removed] = addFirst ? await Promise.all([sendAdd(), later(sendRemove)]) : await Promise.all([later(sendAdd), sendRemove()]).then(([a, r]) => [a, r] as const);
      busy.delete(key);
      stats.issued += 1;
      stats.record('addS1', `race add ${key}`, added);
      stats.record('remove', `race remove ${key}`, removed);
      lastAnswers.set(key, `add ${answerLabel(added)} / remove ${answerLabel(removed)}`);
      if (![204, 400].includes(added.status)) stats.violation(`race add ${key}: ${added.status} ${added.text.slice(0, 200)}`);
      if (![204, 404].includes(removed.status)) stats.violation(`race remove ${key}: ${removed.status} ${removed.text.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  stats.finish();
  const before = await checkMembershipConsistency(env.store.memberships, { tenantId: pool.tenantId });
  const oneSidedByAnswers = new Map<string, { missing: number; orphan: number; edges: number }>();
  const entry = (answers: string) => {
    let found = oneSidedByAnswers.get(answers);
    if (found === undefined) oneSidedByAnswers.set(answers, (found = { missing: 0, orphan: 0, edges: 0 }));
    return found;
  };
  for (const answers of lastAnswers.values()) entry(answers).edges += 1;
  for (const side of before.missingMemberSides) {
    const answers = lastAnswers.get(`${side.groupId}|${side.memberId}`);
    if (answers !== undefined) entry(answers).missing += 1;
  }
  for (const side of before.orphanMemberSides) {
    const answers = lastAnswers.get(`${side.groupId}|${side.memberId}`);
    if (answers !== undefined) entry(answers).orphan += 1;
  }
  await reconcileMemberships(env.store.memberships, env.store.directory, { graceInMs: 0 });
  // The timer's last step (functions/reconcileMemberships.ts): closure updates a fault left pending, finished and settled.
  await finishPendingNestings(repositoriesOver(env.store).memberships, 0);
  const after = await checkMembershipConsistency(env.store.memberships, { tenantId: pool.tenantId });
  return { stats, pairs: options.pairs, before, after, oneSidedByAnswers };
}

export function racePhaseTargets(run: RaceRun): Target[] {
  const { stats, before, after } = run;
  const edges = [...run.oneSidedByAnswers.values()].reduce((sum, entry) => sum + entry.edges, 0);
  return [
    { name: 'race: all pairs ran within the time budget', pass: stats.issued >= run.pairs, detail: `${stats.issued} of ${run.pairs} pairs` },
    {
      name: 'race: only 204/400 for the adds, 204/404 for the removals, no 5xx',
      pass: stats.violationCount === 0 && stats.serverErrors === 0 && stats.timeouts === 0 && stats.transportErrors === 0,
      detail: `${plural(stats.violationCount, 'other answer')}${samples(stats.violations)}`,
    },
    {
      name: 'race: after the reconciler, zero missing member sides and zero orphans',
      pass: after.consistent,
      detail: `${after.missingMemberSides.length} missing, ${after.orphanMemberSides.length} orphans`,
    },
    {
      name: 'race: both sides agree without the reconciler',
      pass: before.consistent,
      detail: `${before.missingMemberSides.length} missing and ${before.orphanMemberSides.length} orphan member sides over ${edges} raced edges`,
    },
  ];
}

/** How the one-sided edges the race left split by what the pair answered. */
export function describeRace(run: RaceRun): string[] {
  const lines = [`  left one-sided before the reconciler, by the last pair's answers on the edge:`];
  for (const [answers, entry] of [...run.oneSidedByAnswers].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`    ${answers}: ${entry.edges} edges, ${entry.missing} group side without member side, ${entry.orphan} member side without group side`);
  }
  return lines;
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

function samples(items: readonly string[]): string {
  return items.length === 0 ? '' : `: ${items.slice(0, 3).join(' | ')}`;
}

function completedTarget(run: PhaseRun): Target {
  return {
    name: `${run.stats.label}: all ${run.operations} operations ran within the time budget`,
    pass: run.stats.issued >= run.operations,
    detail: `${run.stats.issued} issued in ${(run.stats.elapsedMs / 1000).toFixed(1)} s`,
  };
}

function modelTarget(run: PhaseRun): Target {
  return {
    name: `${run.stats.label}: every answer agrees with the model`,
    pass: run.stats.violationCount === 0,
    detail: `${plural(run.stats.violationCount, 'contradiction')}${samples(run.stats.violations)}`,
  };
}

export function faultPhaseTargets(run: PhaseRun): Target[] {
  const { stats, verification, injector } = run;
  const label = stats.label;
  const maxMs = Math.max(0, ...stats.latencies);
  return [
    completedTarget(run),
    { name: `${label}: faults were injected`, pass: (injector?.injected ?? 0) > 0, detail: `${injector?.injected ?? 0} of ${injector?.seen ?? 0} store requests` },
    {
      name: `${label}: no 500 and no 5xx other than 503`,
      pass: stats.serverErrors === 0,
      detail: `${plural(stats.serverErrors, 'answer')}${samples(stats.serverErrorSamples)}`,
    },
    {
      name: `${label}: every 429/503 carries Retry-After`,
      pass: stats.missingRetryAfter === 0,
      detail: `${stats.throttledOrUnavailable} answers 429/503, ${stats.missingRetryAfter} without`,
    },
    {
      name: `${label}: no request hangs past the ${clientTimeoutMs / 1000} s client timeout`,
      pass: stats.timeouts === 0 && stats.transportErrors === 0,
      detail: `${plural(stats.timeouts, 'timeout')}, ${plural(stats.transportErrors, 'transport error')}, slowest ${(maxMs / 1000).toFixed(2)} s`,
    },
    modelTarget(run),
    {
      name: `${label}: after the reconciler, zero missing member sides and zero orphans`,
      pass: verification.consistency.missingMemberSides.length === 0 && verification.consistency.orphanMemberSides.length === 0 && verification.consistency.malformed.length === 0,
      detail: `${verification.consistency.groupSides} group sides, ${verification.consistency.memberSides} member sides, ${verification.consistency.missingMemberSides.length} missing, ${verification.consistency.orphanMemberSides.length} orphans (reconciler repaired ${verification.reconcile?.repaired ?? 0}, removed ${verification.reconcile?.removed ?? 0})`,
    },
    {
      name: `${label}: the store holds exactly the edges the answers allow`,
      pass: verification.problems.length === 0,
      detail:
        verification.problems.length === 0
          ? `${verification.comparison.present} edges, ${verification.comparison.unknown} of the model's edges had an unsettled outcome`
          : verification.problems.join('; '),
    },
  ];
}

export function modelPhaseTargets(run: PhaseRun): Target[] {
  const { stats, verification } = run;
  const label = stats.label;
  const fiveHundreds = [...stats.statuses].filter(([status]) => Number(status) >= 500).reduce((sum, [, count]) => sum + count, 0);
  return [
    completedTarget(run),
    {
      name: `${label}: zero 5xx, no timeouts`,
      pass: fiveHundreds === 0 && stats.timeouts === 0 && stats.transportErrors === 0,
      detail: `${plural(fiveHundreds, '5xx answer')}, ${plural(stats.timeouts, 'timeout')}, ${plural(stats.transportErrors, 'transport error')}${samples(stats.serverErrorSamples)}`,
    },
    modelTarget(run),
    {
      name: `${label}: the store equals the model exactly (both directions)`,
      pass: verification.problems.length === 0 && verification.comparison.unknown === 0,
      detail:
        verification.problems.length === 0
          ? `${verification.comparison.present} edges in the store and in the model; ${verification.consistency.groupSides} group sides, ${verification.consistency.memberSides} member sides; ${verification.comparison.unknown} unsettled`
          : verification.problems.join('; '),
    },
  ];
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const formatCounts = (counts: ReadonlyMap<string, number>) =>
  [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, count]) => `${status}: ${count}`)
    .join(', ');

/** The figures of one phase, as printed lines. */
export function describePhase(run: { readonly stats: PhaseStats; readonly injector?: FaultInjector }): string[] {
  const { stats, injector } = run;
  const seconds = stats.elapsedMs / 1000;
  const lines = [
    `${stats.label}: ${stats.operations} requests in ${seconds.toFixed(1)} s = ${(stats.operations / seconds).toFixed(0)} requests/s` +
      (injector === undefined ? '' : `; ${injector.injected} faults injected into ${injector.seen} store requests (${((100 * injector.injected) / Math.max(1, injector.seen)).toFixed(1)}%)`),
    `  statuses: ${formatCounts(stats.statuses)}`,
  ];
  for (const [kind, counts] of [...stats.byKind].sort(([a], [b]) => a.localeCompare(b))) lines.push(`    ${kind}: ${formatCounts(counts)}`);
  lines.push(
    `  latency: p50 ${percentile(stats.latencies, 50).toFixed(1)} ms, p99 ${percentile(stats.latencies, 99).toFixed(1)} ms, max ${Math.max(0, ...stats.latencies).toFixed(1)} ms` +
      (stats.retries > 0 ? `; ${stats.retries} adds retried with the same client-request-id` : ''),
  );
  return lines;
}
