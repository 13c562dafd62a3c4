/**
 * The notification phase of npm run stress at CI size (test/stress/notificationPhase.ts): membership
 * changes through real HTTP on two instances under store faults, receivers that fail a share of
 * their notifications, then every logged change at its receivers, nothing that did not commit,
 * and a delta replay equal to GET members.
 */
import { getCosmosStore } from '../../src/store/cosmosStore';
import { testAudience, TestService } from '../support/testService';
import { StressClient } from './driver';
import { describeNotificationPhase, notificationPhaseTargets, runNotificationPhase } from './notificationPhase';

// Bounds for a hung run only: the phase's own time budgets stop the load and the wait.
jest.setTimeout(240_000);

let service: TestService;
const seed = Number(process.env.STRESS_SEED ?? Date.now() % 1_000_000_007);
const sharedStorage = process.env.AzureWebJobsStorage;

beforeAll(async () => {
  service = await TestService.start();
  // Its own Azurite (the phase starts one when none is set): the suite's queue is shared with the
  // other files' trigger hosts, whose workers would take this phase's messages (and it theirs).
  delete process.env.AzureWebJobsStorage;
});
afterAll(async () => {
  process.env.AzureWebJobsStorage = sharedStorage;
  await service.stop();
});

it(`notifications under store and receiver faults (seed ${seed}): every logged change reaches its receivers, nothing uncommitted, delta replay equals GET members`, async () => {
  const run = await runNotificationPhase(
    {
      client: new StressClient(service.baseUrl),
      sign: (request) => service.issuer.signToken({ audience: testAudience, ...request }),
      proxy: service.proxy,
      store: await getCosmosStore(),
      tenantId: service.tenantId,
    },
    { changes: 250, concurrency: 8, groups: 6, users: 12, storeFaultRate: 0.1, receiverFaultRate: 0.25, secondInstance: true, timeBudgetMs: 120_000, deliveryWaitMs: 60_000, seed },
  );
  process.stdout.write(`notification phase (seed ${seed}):\n${describeNotificationPhase(run).join('\n')}\n`);
  const failed = notificationPhaseTargets(run).filter((target) => !target.pass);
  expect(failed.map((target) => `${target.name}: ${target.detail}`)).toEqual([]);
  // Each subscription kind got changes, and the healthy receiver every one the tenant-wide faulty one did.
  const [healthy, tenant, group, members] = run.receivers;
  expect([healthy!.expected, group!.expected > 0, members!.expected > 0]).toEqual([tenant!.expected, true, true]);
});
