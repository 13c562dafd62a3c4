import { startEmbeddedCosmos } from '../../src/local/embeddedStores';
import { checkClosure } from '../../src/membership/closureCheck';
import { getCosmosStore } from '../../src/store/cosmosStore';
import { compareWithModel, createWorld, runRound } from '../membership/closureModel';
import { TestService } from '../support/testService';

/**
 * npm run stress, transitive part (issue 11): a random DAG of groups and users (STRESS_CLOSURE_GROUPS,
 * 80; STRESS_CLOSURE_USERS, 220), STRESS_CLOSURE_OPS (5,000) random adds and removals from
 * STRESS_CLOSURE_CLIENTS (16) concurrent clients, then every transitive list and 200 checks
 * compared with the model of the edges (each round's answers checked against any order of its
 * racing operations, test/membership/closureModel.ts runRound), and every closure document
 * compared with the closure recomputed from the stored edges (the consistency checker's
 * check). Returns the figures and whether they matched.
 */
export async function stressTransitive(): Promise<{ pass: boolean; line: string }> {
  const groups = Number(process.env.STRESS_CLOSURE_GROUPS ?? 80);
  const users = Number(process.env.STRESS_CLOSURE_USERS ?? 220);
  const operations = Number(process.env.STRESS_CLOSURE_OPS ?? 5000);
  const clients = Number(process.env.STRESS_CLOSURE_CLIENTS ?? 16);
  const cosmos = await startEmbeddedCosmos();
  process.env.TEST_COSMOS_ENDPOINT = cosmos.connection;
  const service = await TestService.start();
  try {
    const model = await createWorld(service, groups, users);
    const counts = new Map<string, number>();
    const started = Date.now();
    for (let done = 0; done < operations; done += clients) {
      for (const outcome of await runRound(service, model, Math.min(clients, operations - done))) counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
      // Progress on stderr: on a loaded machine a run takes many minutes.
      if (Math.floor((done + clients) / 500) > Math.floor(done / 500)) console.error(`${Math.min(done + clients, operations)} operations, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    const seconds = (Date.now() - started) / 1000;
    const problems = await compareWithModel(service, model, 200);
    const closure = await checkClosure((await getCosmosStore()).memberships, { tenantId: service.tenantId });
    problems.push(...closure.mismatches.map((mismatch) => `closure ${mismatch.side} of ${mismatch.groupId}: ${mismatch.stored} stored, ${mismatch.expected} from the edges`));
    const figures = [...counts].map(([outcome, count]) => `${outcome} ${count}`).join(', ');
    return {
      pass: problems.length === 0,
      line: `closure model check: ${operations} operations (${figures}) from ${clients} clients in ${seconds.toFixed(0)} s over ${groups + users} objects; ${closure.documents} closure documents; ${problems.length} differences${problems.length > 0 ? `: ${problems.slice(0, 3).join('; ')}` : ''}`,
    };
  } finally {
    await service.stop();
    await cosmos.close();
  }
}

if (require.main === module) {
  stressTransitive().then(
    (outcome) => {
      console.log(`${outcome.pass ? 'PASS' : 'FAIL'}  ${outcome.line}`);
      process.exit(outcome.pass ? 0 : 1);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
