/**
 * The stress suite at CI size (npm run stress is the full run): store faults through the test
 * proxy with every answer judged against the model, then the reconciler and the consistency
 * checker; a model-checked load without faults; and the checker itself, as a function and as
 * the check-consistency CLI.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { getCosmosStore } from '../../src/store/cosmosStore';
import { checkMembershipConsistency } from '../../src/tools/checkConsistency';
import { SecondInstance } from '../support/secondInstance';
import { testAudience, TestService } from '../support/testService';
import { seedPool, StressClient, type Pool, type Signer } from './driver';
import type { FaultKind } from './faults';
import { EdgeModel, Random } from './model';
import { describeNestingRace, nestingRaceTargets, runNestingRacePhase } from './nestingRace';
import { describePhase, faultPhaseTargets, modelPhaseTargets, runFaultPhase, runModelPhase, type StressEnvironment, type Target } from './scenario';

// The time budgets below only stop a run that hangs: correctness is judged on what ran, and a
// machine busy with the rest of the suite must not turn a slow phase into a failure (no timed
// assertions in npm test; speed is npm run bench's job).
jest.setTimeout(300_000);

let service: TestService;
let env: StressEnvironment;
let sign: Signer;
const seed = Number(process.env.STRESS_SEED ?? Date.now() % 1_000_000_007);

beforeAll(async () => {
  service = await TestService.start();
  const store = await getCosmosStore();
  env = { client: new StressClient(service.baseUrl), proxy: service.proxy, store };
  sign = (request) => service.issuer.signToken({ audience: testAudience, ...request });
});
afterAll(() => service.stop());
afterEach(() => {
  service.proxy.rule = () => undefined;
});

const failures = (targets: readonly Target[]) => targets.filter((target) => !target.pass).map((target) => `${target.name}: ${target.detail}`);

describe(`stress (seed ${seed})`, () => {
  it('store faults (429, hot-partition 429, 503, resets) at 20%: no 5xx but 503, Retry-After on every 429/503, answers and store agree after the reconciler', async () => {
    const pool: Pool = await seedPool(env.client, sign, { tenantId: service.tenantId, users: 12, groups: 5 });
    const model = new EdgeModel();
    const random = new Random(seed);
    const phases: [FaultKind, number][] = [
      ['429', 30],
      ['429-hot', 40],
      ['503', 40],
      ['reset', 40],
    ];
    const problems: string[] = [];
    let answered = 0;
    let throttledOrUnavailable = 0;
    for (const [kind, operations] of phases) {
      const run = await runFaultPhase(env, pool, model, random, { kind, rate: 0.2, operations, concurrency: 8, timeBudgetMs: 60_000 });
      problems.push(...failures(faultPhaseTargets(run)));
      answered += run.stats.operations;
      throttledOrUnavailable += run.stats.throttledOrUnavailable;
      if (problems.length > 0) console.log(describePhase(run).join('\n'));
    }
    expect(problems).toEqual([]);
    expect(answered).toBeGreaterThanOrEqual(150);
    // The phases must have reached the clients, or Retry-After was never checked.
    expect(throttledOrUnavailable).toBeGreaterThan(0);

    const store = await getCosmosStore();
    const report = await checkMembershipConsistency(store.memberships, { tenantId: service.tenantId });
    expect({ missing: report.missingMemberSides, orphans: report.orphanMemberSides }).toEqual({ missing: [], orphans: [] });
  });

  it('1,000 operations from 16 clients without faults: every answer as the model says, and the store equals the model', async () => {
    const pool = await seedPool(env.client, sign, { tenantId: service.otherTenantId, users: 16, groups: 8 });
    const run = await runModelPhase(env, pool, new EdgeModel(), new Random(seed + 1), { operations: 1_000, concurrency: 16, timeBudgetMs: 120_000 });
    const problems = failures(modelPhaseTargets(run));
    if (problems.length > 0) console.log(describePhase(run).join('\n'));
    expect(problems).toEqual([]);
    expect(run.stats.count('500')).toBe(0);
    expect(run.verification.comparison.present).toBe(run.verification.consistency.groupSides);
  });
});

describe('racing nestings over two instances (npm run stress runs 1,000 of each kind)', () => {
  it.each([
    ['without faults', undefined],
    ['with 503 on 10% of store requests', { kind: '503' as const, rate: 0.1 }],
  ])('opposing nestings %s: zero cycles afterwards, by the consistency checker', async (_label, faults) => {
    const second = await SecondInstance.start();
    try {
      const tenantId = faults === undefined ? service.tenantId : service.otherTenantId;
      const pool = await seedPool(env.client, sign, { tenantId, users: 0, groups: 8 });
      const run = await runNestingRacePhase(env, [env.client, new StressClient(second.baseUrl)], pool, new Random(seed + 2), {
        pairs: 60,
        concurrency: 3,
        timeBudgetMs: 120_000,
        ...(faults === undefined ? {} : { faults }),
      });
      const problems = failures(nestingRaceTargets(run));
      if (problems.length > 0) console.log(describeNestingRace(run).join('\n'));
      expect(problems).toEqual([]);
    } finally {
      await second.stop();
    }
  });
});

describe('checkMembershipConsistency and the check-consistency CLI', () => {
  it('finds a cycle of nested groups written straight to the store, and exits 1 for it', async () => {
    const store = await getCosmosStore();
    const tenantId = randomUUID();
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const createdDateTime = new Date().toISOString();
    for (const [groupId, memberId] of [
      [a, b],
      [b, c],
      [c, a],
    ] as const) {
      const edge = { tenantId, groupId, objectId: memberId, farType: 'group', far: { id: memberId }, createdDateTime };
      await store.memberships.items.create({ ...edge, id: memberId, pk: `${tenantId}|group|${groupId}`, kind: 'member' });
      await store.memberships.items.create({ ...edge, id: groupId, pk: `${tenantId}|member|${memberId}`, kind: 'memberOf', far: { id: groupId } });
    }
    const report = await checkMembershipConsistency(store.memberships, { tenantId });
    expect(report.missingMemberSides).toEqual([]);
    expect(report.orphanMemberSides).toEqual([]);
    expect(report.cycles).toHaveLength(1);
    expect(report.cycles[0]!.tenantId).toBe(tenantId);
    expect(new Set(report.cycles[0]!.groupIds)).toEqual(new Set([a, b, c]));
    expect(report.consistent).toBe(false);

    const cli = path.resolve(__dirname, '../../src/tools/checkConsistency.js');
    const run = await promisify(execFile)(process.execPath, [cli, '--tenant', tenantId], {
      env: { ...process.env, COSMOS_ENDPOINT: process.env.TEST_COSMOS_ENDPOINT, COSMOS_KEY: 'embedded-cosmos-accepts-any-key', COSMOS_DATABASE: service.database },
      timeout: 30_000,
    }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code, stdout: error.stdout ?? '' }),
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('cycles of nested groups: 1');
    expect(run.stdout).toContain('consistency: FAIL');
  });

  it('finds a missing member side and an orphan, exits 1 for them, and --repair heals both', async () => {
    const store = await getCosmosStore();
    const tenantId = randomUUID();
    const [groupId, memberId, orphanGroupId] = [randomUUID(), randomUUID(), randomUUID()];
    // A group to back the repaired member side's snapshot, in the directory.
    await store.directory.items.create({ id: groupId, pk: `${tenantId}|${groupId}`, tenantId, objectType: 'group', entity: { displayName: 'g' } });
    const edge = { tenantId, groupId, objectId: memberId, farType: 'user', far: { id: memberId }, createdDateTime: new Date(Date.now() - 3_600_000).toISOString() };
    await store.memberships.items.create({ ...edge, id: memberId, pk: `${tenantId}|group|${groupId}`, kind: 'member' });
    await store.memberships.items.create({ ...edge, groupId: orphanGroupId, id: orphanGroupId, pk: `${tenantId}|member|${memberId}`, kind: 'memberOf', farType: 'group' });

    const report = await checkMembershipConsistency(store.memberships, { tenantId });
    expect(report.groupSides).toBe(1);
    expect(report.memberSides).toBe(1);
    expect(report.missingMemberSides).toEqual([{ tenantId, groupId, memberId, pk: `${tenantId}|member|${memberId}`, id: groupId }]);
    expect(report.orphanMemberSides).toEqual([{ tenantId, groupId: orphanGroupId, memberId, pk: `${tenantId}|member|${memberId}`, id: orphanGroupId }]);
    expect(report.consistent).toBe(false);

    const cli = path.resolve(__dirname, '../../src/tools/checkConsistency.js');
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, [cli, ...args], {
        env: { ...process.env, COSMOS_ENDPOINT: process.env.TEST_COSMOS_ENDPOINT, COSMOS_KEY: 'embedded-cosmos-accepts-any-key', COSMOS_DATABASE: service.database },
        timeout: 30_000,
      }).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: { code?: number; stdout?: string }) => ({ code: error.code, stdout: error.stdout ?? '' }),
      );
    const before = await run(['--tenant', tenantId]);
    expect(before.code).toBe(1);
    expect(before.stdout).toContain('missing member sides: 1');
    expect(before.stdout).toContain('orphan member sides: 1');
    // The orphan was written just now: only a zero grace lets the reconciler remove it.
    const repaired = await run(['--repair', '--grace-ms', '0', '--tenant', tenantId]);
    expect(repaired.stdout).toContain('consistency: PASS');
    expect(repaired.code).toBe(0);
    expect((await checkMembershipConsistency(store.memberships, { tenantId })).consistent).toBe(true);
  });
});
