/**
 * npm run stress: issue 5, items 5 and 6. Starts everything itself (embedded Cosmos DB, a
 * fault-injecting proxy in front of it, a development issuer, the local host), seeds two tenants,
 * then:
 *  a. one fault phase per kind of store fault (429 with x-ms-retry-after-ms, 503, connection
 *     reset, stall, added latency) on a share of store requests, while concurrent clients run a
 *     mix of adds (S1, S2, S4, S5), duplicate adds, removals and reads; after each, faults off,
 *     the reconciler, the consistency checker, and the store against what the answers allowed;
 *  b. a model-checked load without faults: every answer, and at the end the whole store,
 *     compared with an in-memory model kept exact by a per-edge lock in the clients;
 *  c. racing pairs: an add and a removal of the same edge sent together (no client lock): any
 *     order is right, but after the reconciler both sides must agree (what the race leaves
 *     before it is printed);
 *  d. racing nestings: "a into b" on this host and "b into a" on a second instance (another
 *     process on the same store) at the same moment, without and then with 503s on 10% of store
 *     requests; zero cycles afterwards by the consistency checker; and what the deepest nesting
 *     allowed costs (store requests, time), and one level deeper (the 400);
 *  e. the check-consistency CLI against the database the run leaves behind;
 *  f. (before e) change notifications under store and receiver faults: test/stress/notificationPhase.ts.
 * Prints the figures and a PASS/FAIL line per target, then `stress: PASS` or `stress: FAIL`.
 *
 * Sizes (environment): STRESS_SEED, STRESS_FAULT_RATE (0.2), STRESS_FAULT_OPS (200 per phase),
 * STRESS_STALL_OPS (100), STRESS_FAULT_CLIENTS (16), STRESS_MODEL_OPS (10000),
 * STRESS_MODEL_CLIENTS (64), STRESS_RACE_PAIRS (400), STRESS_NESTING_PAIRS (500 pairs = 1,000
 * nestings, per fault setting).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { httpFunctions } from '../../functions/catalog';
import { DevIssuer } from '../../src/local/devIssuer';
import { startEmbeddedCosmos } from '../../src/local/embeddedStores';
import { startFunctionsHost } from '../../src/local/functionsHost';
import { closureLimits } from '../../src/membership/closure';
import { ensureCosmosResources, getCosmosStore } from '../../src/store/cosmosStore';
import { FaultProxy } from '../support/faultProxy';
import { SecondInstance } from '../support/secondInstance';
import { seedPool, StressClient, type Signer } from './driver';
import { faultDescriptions, faultKinds } from './faults';
import { EdgeModel, Random } from './model';
import { describeNestingRace, measureDeepestNesting, nestingRaceTargets, runNestingRacePhase } from './nestingRace';
import { describeNotificationPhase, notificationPhaseSettings, notificationPhaseTargets, runNotificationPhase } from './notificationPhase';
import { describePhase, describeRace, faultPhaseTargets, modelPhaseTargets, racePhaseTargets, runFaultPhase, runModelPhase, runRacePhase, type StressEnvironment, type Target } from './scenario';

const audience = 'api://graph-membership-stress';
const numberSetting = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number.`);
  return value;
};

const seed = numberSetting('STRESS_SEED', Date.now() % 1_000_000_007);
const faultRate = numberSetting('STRESS_FAULT_RATE', 0.2);
const faultOperations = numberSetting('STRESS_FAULT_OPS', 200);
const stallOperations = numberSetting('STRESS_STALL_OPS', 100);
const faultClients = numberSetting('STRESS_FAULT_CLIENTS', 16);
const modelOperations = numberSetting('STRESS_MODEL_OPS', 10_000);
const modelClients = numberSetting('STRESS_MODEL_CLIENTS', 64);
const racePairs = numberSetting('STRESS_RACE_PAIRS', 400);
const nestingPairs = numberSetting('STRESS_NESTING_PAIRS', 500);
const database = 'stress';

async function main(): Promise<boolean> {
  const startedAt = performance.now();
  const targets: Target[] = [];
  const report = (lines: readonly string[]) => {
    for (const line of lines) console.log(line);
  };

  const cosmos = await startEmbeddedCosmos();
  const proxy = new FaultProxy(cosmos.connection);
  const proxied = await proxy.listen();
  const issuer = new DevIssuer();
  await issuer.addKey();
  const authority = await issuer.listen();
  const [faultTenant, modelTenant] = [randomUUID(), randomUUID()];
  Object.assign(process.env, {
    ENTRA_AUTHORITY: authority,
    ENTRA_TENANT_ID: `${faultTenant},${modelTenant}`,
    ENTRA_AUDIENCE: audience,
    COSMOS_ENDPOINT: proxied,
    COSMOS_KEY: 'embedded-cosmos-accepts-any-key',
    COSMOS_DATABASE: database,
  });
  const store = await getCosmosStore();
  await ensureCosmosResources(store);
  const serviceErrors: string[] = [];
  const host = await startFunctionsHost({
    functions: httpFunctions,
    port: 0,
    logHandler: (level, message) => {
      if (level === 'error' && serviceErrors.length < 20) serviceErrors.push(String(message).split('\n').slice(0, 3).join(' / '));
    },
  });
  try {
    const client = new StressClient(host.baseUrl);
    const sign: Signer = (request) => issuer.signToken({ audience, ...request });
    const env: StressEnvironment = { client, proxy, store };
    const random = new Random(seed);
    console.log(
      `stress: seed ${seed}; ${faultKinds.length} fault phases at ${(faultRate * 100).toFixed(0)}% of store requests from ${faultClients} clients; model phase ${modelOperations} operations from ${modelClients} clients`,
    );

    // a. Fault phases, one pool and one model across them (unsettled edges settle after each check).
    const faultPool = await seedPool(client, sign, { tenantId: faultTenant, users: 24, groups: 8 });
    const faultModel = new EdgeModel();
    for (const kind of faultKinds) {
      console.log('');
      console.log(`fault phase: ${faultDescriptions[kind]}`);
      const run = await runFaultPhase(env, faultPool, faultModel, random, {
        kind,
        rate: faultRate,
        operations: kind === 'stall' ? stallOperations : faultOperations,
        concurrency: faultClients,
        timeBudgetMs: 60_000,
      });
      report(describePhase(run));
      const phaseTargets = faultPhaseTargets(run);
      targets.push(...phaseTargets);
      for (const target of phaseTargets) if (!target.pass) console.log(`  FAIL ${target.name}: ${target.detail}`);
    }

    // b. Model-checked load, no faults, on a fresh pool in the other tenant.
    console.log('');
    console.log('model phase: no faults');
    const modelPool = await seedPool(client, sign, { tenantId: modelTenant, users: 40, groups: 20 });
    const modelRun = await runModelPhase(env, modelPool, new EdgeModel(), random, { operations: modelOperations, concurrency: modelClients, timeBudgetMs: 180_000 });
    report(describePhase(modelRun));
    targets.push(...modelPhaseTargets(modelRun));

    // Racing add and removal of one edge (no client-side lock), on the model pool, checked after.
    console.log('');
    console.log('race phase: an add and a removal of the same edge at the same moment');
    const raceRun = await runRacePhase(env, modelPool, random, { pairs: racePairs, concurrency: 16, timeBudgetMs: 60_000 });
    report(describePhase(raceRun));
    report(describeRace(raceRun));
    targets.push(...racePhaseTargets(raceRun));

    // d. Racing nestings over two instances, then the cost of the deepest nesting allowed.
    const second = await SecondInstance.start();
    try {
      const secondClient = new StressClient(second.baseUrl);
      for (const faults of [undefined, { kind: '503' as const, rate: 0.1 }]) {
        console.log('');
        const nestingPool = await seedPool(client, sign, { tenantId: modelTenant, users: 0, groups: 24 });
        const nestingRun = await runNestingRacePhase(env, [client, secondClient], nestingPool, random, {
          pairs: nestingPairs,
          concurrency: 4,
          timeBudgetMs: 240_000,
          ...(faults === undefined ? {} : { faults }),
        });
        report(describeNestingRace(nestingRun));
        targets.push(...nestingRaceTargets(nestingRun));
      }
      const deepPool = await seedPool(client, sign, { tenantId: faultTenant, users: 0, groups: 1 });
      const deepest = await measureDeepestNesting(env, client, deepPool);
      console.log('');
      // The per-nesting bound (src/membership/closure.ts closureLimits): the check in 2 rounds and
      // the writes around the update, plus the update's requests per closure document it rewrites
      // (a chain: one direct neighbour each); the refusal comes before any write, from the check alone.
      const documents = closureLimits.maxDocumentsPerChange;
      const allowedBound = closureLimits.requestsAroundUpdate + closureLimits.requestsPerDocument * documents;
      const refusedBound = closureLimits.requestsAroundUpdate;
      console.log(
        `deepest nesting allowed (a member with a chain of ${documents - 2} groups under it, into a new group: ${documents} closure documents rewritten): ${deepest.allowed.status}, ${deepest.allowed.requests} store requests (bound ${allowedBound}), ${deepest.allowed.ms.toFixed(0)} ms`,
      );
      console.log(`one level deeper: ${deepest.refused.status}, ${deepest.refused.requests} store requests (bound ${refusedBound}), ${deepest.refused.ms.toFixed(0)} ms`);
      targets.push({
        name: `deepest nesting: ${documents} closure documents is allowed within ${allowedBound} store requests, one more is the 400 within ${refusedBound}`,
        pass: deepest.allowed.status === 204 && deepest.refused.status === 400 && deepest.allowed.requests <= allowedBound && deepest.refused.requests <= refusedBound,
        detail: `${deepest.allowed.requests} and ${deepest.refused.requests} requests, ${deepest.allowed.ms.toFixed(0)} and ${deepest.refused.ms.toFixed(0)} ms`,
      });
    } finally {
      await second.stop();
    }

    // f. Change notifications: 5,000 changes under store and receiver faults, then every change at its receivers.
    console.log('');
    console.log('notification phase: membership changes under store faults (503, resets, 429) and receiver faults (stalls, 5xx, resets)');
    const notificationRun = await runNotificationPhase({ client, sign, proxy, store, tenantId: faultTenant }, notificationPhaseSettings(seed + 7));
    report(describeNotificationPhase(notificationRun));
    targets.push(...notificationPhaseTargets(notificationRun));

    // e. The CLI, from outside, straight at the embedded endpoint.
    const cli = path.resolve(__dirname, '../../src/tools/checkConsistency.js');
    const cliRun = await promisify(execFile)(process.execPath, [cli], {
      env: { ...process.env, COSMOS_ENDPOINT: cosmos.connection, COSMOS_DATABASE: database },
      timeout: 60_000,
    }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code ?? -1, stdout: `${error.stdout ?? ''}${error.stderr ?? ''}` }),
    );
    console.log('');
    console.log('check-consistency on the whole database:');
    report(
      cliRun.stdout
        .trim()
        .split('\n')
        .map((line) => `  ${line}`),
    );
    targets.push({ name: 'check-consistency CLI: the database the run leaves is consistent (exit 0)', pass: cliRun.code === 0, detail: `exit ${cliRun.code}` });
  } finally {
    await host.close();
    await proxy.close();
    await issuer.close();
    store.client.dispose();
    await cosmos.close();
  }

  if (serviceErrors.length > 0) {
    console.log('');
    console.log('the service logged unexpected failures:');
    for (const line of serviceErrors) console.log(`  ${line}`);
  }
  console.log('');
  console.log(`total ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
  for (const target of targets) console.log(`${target.pass ? 'PASS' : 'FAIL'}  ${target.name}: ${target.detail}`);
  return targets.every((target) => target.pass);
}

main().then(
  (passed) => {
    console.log(passed ? 'stress: PASS' : 'stress: FAIL');
    process.exitCode = passed ? 0 : 1;
    // Keep-alive sockets and SDK timers must not hold the process open.
    setTimeout(() => process.exit(process.exitCode), 2_000).unref();
  },
  (error: unknown) => {
    console.error(error);
    console.log('stress: FAIL');
    process.exit(1);
  },
);
