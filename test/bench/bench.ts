/**
 * npm run bench: the figures we quote, each beside a baseline measured in the same run (these
 * machines are noisy, so targets are ratios). Processes: the embedded Cosmos endpoint, the
 * service and a bare node:http baseline each run alone (benchProcesses.ts); load comes from this
 * process with autocannon; CPU per request is each server's own getrusage time.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { CosmosClient, type Container } from '@azure/cosmos';
import { EntraTokenVerifier } from '../../src/auth/verifyEntraToken';
import { readServiceSettings } from '../../src/config/settings';
import { objectPartitionKey } from '../../src/directory/directoryObjects';
import { DevIssuer } from '../../src/local/devIssuer';
import { groupSidePartition, memberSidePartition } from '../../src/membership/edges';
import { containerNames, partitionKeyPath } from '../../src/store/cosmosStore';
import { buildDeployPackage, bundleFile } from '../../scripts/packageDeploy';
import { FaultProxy } from '../support/faultProxy';
import type { WorkerReport } from '../package/functionsWorker';
import { measureTransitive } from './transitiveBench';

const addsPerRun = Number(process.env.BENCH_ADDS ?? 3000);
const connections = 8;
const audience = 'api://graph-membership-bench';
const cosmosKey = 'embedded-cosmos-accepts-any-key';
const outcomes: { pass: boolean; line: string }[] = [];
const target = (pass: boolean, line: string) => outcomes.push({ pass, line });
const fixed = (value: number, digits = 2) => value.toFixed(digits);

interface Stats {
  cpuMs: number;
  rssBytes: number;
  cosmosRequests: number;
}

/** A child process of benchProcesses.js, with its URL and a way to ask for its stats. */
class BenchProcess {
  private pending: ((stats: Stats) => void)[] = [];
  url = '';

  private constructor(readonly child: ChildProcess) {}

  static async start(role: string, env: NodeJS.ProcessEnv = {}): Promise<BenchProcess> {
    const profile = process.env.BENCH_PROFILE === role ? ['--cpu-prof', '--cpu-prof-dir=.local/profiles'] : [];
    const child = spawn(process.execPath, [...profile, path.join(__dirname, 'benchProcesses.js'), role], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
    const started = new BenchProcess(child);
    const lines = createInterface({ input: child.stdout });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
      lines.on('line', (line) => {
        const message = JSON.parse(line) as { url?: string } & Stats;
        if (message.url !== undefined) {
          started.url = message.url;
          resolve();
        } else started.pending.shift()?.(message);
      });
    });
    return started;
  }

  stats(): Promise<Stats> {
    return new Promise((resolve) => {
      this.pending.push(resolve);
      this.child.stdin!.write('stats\n');
    });
  }

  stop(): void {
    this.child.removeAllListeners('exit');
    // SIGINT lets a profiled process write its profile on the way out.
    this.child.kill('SIGINT');
  }
}

async function createDatabase(client: CosmosClient, id: string): Promise<{ directory: Container; memberships: Container }> {
  const { database } = await client.databases.createIfNotExists({ id });
  const directory = (await database.containers.createIfNotExists({ id: containerNames.directory, partitionKey: { paths: [partitionKeyPath] } })).container;
  const memberships = (await database.containers.createIfNotExists({ id: containerNames.memberships, partitionKey: { paths: [partitionKeyPath] } })).container;
  return { directory, memberships };
}

/** Users and groups written straight to the store, identically for both servers. */
async function seedDirectory(directory: Container, tenantId: string, userIds: string[], groupIds: string[]): Promise<void> {
  const writes = [
    ...userIds.map((id) => ({ id, objectType: 'user', entity: { displayName: id.slice(0, 8), userPrincipalName: `${id}@bench.example` } })),
    ...groupIds.map((id) => ({ id, objectType: 'group', entity: { displayName: id.slice(0, 8), mailNickname: id.slice(0, 8), mailEnabled: false, securityEnabled: true, groupTypes: [] } })),
  ];
  for (let index = 0; index < writes.length; index += 32) {
    await Promise.all(writes.slice(index, index + 32).map((write) => directory.items.create({ ...write, pk: objectPartitionKey(tenantId, write.id), tenantId })));
  }
}

interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  cpuMsPerRequest: number;
  cosmosPerRequest: number;
  non2xx: number;
}

/** autocannon against one server: `amount` requests, each built by `next`. */
async function load(server: BenchProcess, amount: number, next: () => { method: 'GET' | 'POST'; path: string; body?: string }, headers: Record<string, string>): Promise<LoadResult> {
  const before = await server.stats();
  const result = await autocannon({
    url: server.url,
    connections,
    amount,
    headers,
    requests: [
      {
        setupRequest: (request: autocannon.Request) => {
          const built = next();
          return { ...request, method: built.method, path: built.path, ...(built.body === undefined ? {} : { body: built.body }) };
        },
      },
    ],
  });
  const after = await server.stats();
  const total = result.requests.total || 1;
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMsPerRequest: (after.cpuMs - before.cpuMs) / total,
    cosmosPerRequest: (after.cosmosRequests - before.cosmosRequests) / total,
    non2xx: result.non2xx + result.errors + result.timeouts,
  };
}

/** Rounds of one server folded together: sums for CPU and requests, medians for latencies. */
function combine(runs: LoadResult[]): LoadResult {
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const mean = (pick: (run: LoadResult) => number) => runs.reduce((sum, run) => sum + pick(run), 0) / runs.length;
  return {
    requestsPerSecond: mean((run) => run.requestsPerSecond),
    p50: median(runs.map((run) => run.p50)),
    p99: median(runs.map((run) => run.p99)),
    cpuMsPerRequest: mean((run) => run.cpuMsPerRequest),
    cosmosPerRequest: mean((run) => run.cosmosPerRequest),
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
  };
}

/** Prints both servers' figures; `targets.cpu` undefined: the CPU ratio is reported, not judged. */
function report(label: string, service: LoadResult, baseline: LoadResult, targets: { cpu?: number; p50: number }): void {
  console.log(`\n${label}`);
  console.log('                     req/s     p50 ms   p99 ms   CPU ms/req   Cosmos req/req   non-2xx');
  for (const [name, run] of [
    ['service', service],
    ['baseline', baseline],
  ] as const) {
    console.log(
      `  ${name.padEnd(12)} ${fixed(run.requestsPerSecond, 0).padStart(9)} ${fixed(run.p50).padStart(9)} ${fixed(run.p99).padStart(8)} ${fixed(run.cpuMsPerRequest, 3).padStart(12)} ${fixed(run.cosmosPerRequest).padStart(16)} ${String(run.non2xx).padStart(9)}`,
    );
  }
  const cpuRatio = service.cpuMsPerRequest / baseline.cpuMsPerRequest;
  const p50Ratio = service.p50 / Math.max(baseline.p50, 0.01);
  console.log(`  ratios service/baseline: CPU ${fixed(cpuRatio)}x, p50 ${fixed(p50Ratio)}x, p99 ${fixed(service.p99 / Math.max(baseline.p99, 0.01))}x`);
  if (targets.cpu !== undefined) target(cpuRatio <= targets.cpu, `${label}: CPU per request ${fixed(cpuRatio)}x the baseline (target <= ${targets.cpu})`);
  target(p50Ratio <= targets.p50, `${label}: p50 ${fixed(p50Ratio)}x the baseline (target <= ${targets.p50})`);
  target(service.non2xx === 0 && baseline.non2xx === 0, `${label}: every request succeeded (service ${service.non2xx}, baseline ${baseline.non2xx} failures)`);
}

async function measureLoad(deployDirectory: string): Promise<void> {
  const cosmos = await BenchProcess.start('cosmos');
  const client = new CosmosClient({ endpoint: cosmos.url, key: cosmosKey, connectionPolicy: { enableEndpointDiscovery: false } });
  const tenantId = randomUUID();
  const groupIds = Array.from({ length: 60 }, () => randomUUID());
  const rounds = 3;
  const userIds = Array.from({ length: Math.ceil((addsPerRun * (rounds + 1)) / groupIds.length) + 12 }, () => randomUUID());
  for (const database of ['bench-service', 'bench-baseline']) await seedDirectory((await createDatabase(client, database)).directory, tenantId, userIds, groupIds);

  const issuer = new DevIssuer();
  await issuer.addKey();
  const authority = await issuer.listen();
  const common = { COSMOS_ENDPOINT: cosmos.url, COSMOS_KEY: cosmosKey, BENCH_TENANT: tenantId };
  const serviceSettings = { COSMOS_DATABASE: 'bench-service', ENTRA_AUTHORITY: authority, ENTRA_TENANT_ID: tenantId, ENTRA_AUDIENCE: audience };
  await measureFirstRequest(deployDirectory, { ...common, ...serviceSettings }, groupIds, () =>
    issuer.signToken({ tenantId, audience, app: { roles: ['GroupMember.ReadWrite.All'] }, claims: { jti: randomUUID() } }),
  );
  if (process.env.BENCH_ONLY === 'startup') {
    cosmos.stop();
    await issuer.close();
    return;
  }
  const service = await BenchProcess.start('service', { ...common, COSMOS_DATABASE: 'bench-service', ENTRA_AUTHORITY: authority, ENTRA_TENANT_ID: tenantId, ENTRA_AUDIENCE: audience });
  const baseline = await BenchProcess.start('baseline', { ...common, COSMOS_DATABASE: 'bench-baseline' });
  const token = await issuer.signToken({ tenantId, audience, app: { roles: ['GroupMember.ReadWrite.All'] } });
  const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };

  // Each server adds the same sequence of (group, user) pairs: users join many groups, as they do.
  const pairs = function* (offset: number) {
    for (let index = offset; ; index += 1) yield { groupId: groupIds[index % groupIds.length]!, userId: userIds[Math.floor(index / groupIds.length)]! };
  };
  const addRequests = (offset: number) => {
    const sequence = pairs(offset);
    return () => {
      const { groupId, userId } = sequence.next().value;
      return { method: 'POST' as const, path: `/v1.0/groups/${groupId}/members/$ref`, body: JSON.stringify({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${userId}` }) };
    };
  };
  // Warm-up (connections, key discovery, JIT) on pairs the measured runs do not use.
  const warmup = Math.floor(addsPerRun / 10);
  await load(service, warmup, addRequests(addsPerRun * rounds), headers);
  await load(baseline, warmup, addRequests(addsPerRun * rounds), headers);

  // Lists first, while the store is small: the embedded store scans its whole container per query.
  let listed = 0;
  const pages = 600;
  const listRequests = () => ({ method: 'GET' as const, path: `/v1.0/groups/${groupIds[listed++ % groupIds.length]!}/members` });
  report(
    `GET members (${pages} pages of about ${Math.round(warmup / groupIds.length)} members)`,
    await load(service, pages, listRequests, headers),
    await load(baseline, pages, listRequests, headers),
    { p50: 1.2 },
  );

  // Adds in alternating rounds, so that a noisy moment hurts both servers alike.
  const serviceRuns: LoadResult[] = [];
  const baselineRuns: LoadResult[] = [];
  for (let round = 0; round < rounds; round += 1) {
    serviceRuns.push(await load(service, addsPerRun, addRequests(round * addsPerRun), headers));
    baselineRuns.push(await load(baseline, addsPerRun, addRequests(round * addsPerRun), headers));
  }
  report(`S1 add member (${rounds} x ${addsPerRun} adds, ${connections} connections)`, combine(serviceRuns), combine(baselineRuns), { cpu: 1.0, p50: 1.2 });
  service.stop();
  baseline.stop();

  if (process.env.BENCH_ONLY !== 'adds') {
    await measureRounds(cosmos.url, authority, tenantId, groupIds, userIds, headers);
    // A fresh service process on a fresh database: its memory from the first request, and scale.
    await createDatabase(client, 'bench-scale');
    const fresh = await BenchProcess.start('service', { ...common, COSMOS_DATABASE: 'bench-scale', ENTRA_AUTHORITY: authority, ENTRA_TENANT_ID: tenantId, ENTRA_AUDIENCE: audience });
    await measureMemory(fresh, client, tenantId, headers);
    await measureScale(client, fresh, tenantId, headers);
    fresh.stop();
  }
  cosmos.stop();
  await issuer.close();
}

/**
 * Sequential store rounds of an add: a proxy delays every Cosmos request by 50 ms, so an add's
 * latency divided by 50 ms counts its rounds. Users not added before, so their read is real.
 */
async function measureRounds(cosmosUrl: string, authority: string, tenantId: string, groupIds: string[], userIds: string[], headers: Record<string, string>): Promise<void> {
  // Large beside the few milliseconds of CPU an add costs, so the rounds stand out clearly.
  const delayMs = 50;
  const proxy = new FaultProxy(cosmosUrl);
  proxy.rule = () => ({ kind: 'delay', ms: delayMs });
  const proxied = await proxy.listen();
  const delayed = await BenchProcess.start('service', {
    COSMOS_ENDPOINT: proxied,
    COSMOS_KEY: cosmosKey,
    COSMOS_DATABASE: 'bench-service',
    ENTRA_AUTHORITY: authority,
    ENTRA_TENANT_ID: tenantId,
    ENTRA_AUDIENCE: audience,
  });
  const add = async (groupId: string, userId: string) => {
    const started = performance.now();
    const response = await fetch(`${delayed.url}/v1.0/groups/${groupId}/members/$ref`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${userId}` }),
    });
    await response.arrayBuffer();
    return performance.now() - started;
  };
  // The last users of the pool were never added; the first add also warms the group and token.
  const fresh = userIds.slice(-11);
  await add(groupIds[0]!, fresh[0]!);
  const times: number[] = [];
  for (const userId of fresh.slice(1)) times.push(await add(groupIds[1]!, userId));
  const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
  const rounds = Math.round(median / delayMs);
  console.log(`\nRounds: an add of a user not seen before takes ${rounds} sequential store rounds (median ${fixed(median, 1)} ms with ${delayMs} ms added per Cosmos request)`);
  target(rounds <= 2, `an add of a user takes at most two sequential store rounds (${rounds})`);
  delayed.stop();
  await proxy.close();
}

/** Resident size of a fresh service process after 5,000 requests and after 50,000. */
async function measureMemory(service: BenchProcess, client: CosmosClient, tenantId: string, headers: Record<string, string>): Promise<void> {
  const { directory } = await createDatabase(client, 'bench-scale');
  const groupIds = Array.from({ length: 20 }, () => randomUUID());
  await seedDirectory(directory, tenantId, [], groupIds);
  let next = 0;
  const getGroup = () => ({ method: 'GET' as const, path: `/v1.0/groups/${groupIds[next++ % groupIds.length]!}` });
  await load(service, 5_000, getGroup, headers);
  const early = (await service.stats()).rssBytes;
  await load(service, 45_000, getGroup, headers);
  const late = (await service.stats()).rssBytes;
  const growth = late / early - 1;
  console.log(`\nMemory: service RSS ${fixed(early / 2 ** 20, 1)} MiB after 5,000 requests (GET group), ${fixed(late / 2 ** 20, 1)} MiB after 50,000 (${fixed(growth * 100, 1)}%)`);
  target(growth <= 0.1, `resident size after 50,000 requests within 10% of after 5,000 (${fixed(growth * 100, 1)}%)`);
}

async function measureScale(client: CosmosClient, service: BenchProcess, tenantId: string, headers: Record<string, string>): Promise<void> {
  const { directory, memberships } = await createDatabase(client, 'bench-scale');
  const bigGroup = randomUUID();
  const busyUser = randomUUID();
  await seedDirectory(directory, tenantId, [busyUser], [bigGroup]);
  const edge = (pk: string, id: string, groupId: string, objectId: string, farType: string) => ({
    id,
    pk,
    tenantId,
    kind: pk.includes('|group|') ? 'member' : 'memberOf',
    groupId,
    objectId,
    farType,
    far: { '@odata.type': `#microsoft.graph.${farType}`, id },
    createdDateTime: new Date().toISOString(),
  });
  const writes = [
    ...Array.from({ length: 5_000 }, () => randomUUID()).map((memberId) => edge(groupSidePartition(tenantId, bigGroup), memberId, bigGroup, memberId, 'user')),
    ...Array.from({ length: 1_000 }, () => randomUUID()).map((groupId) => edge(memberSidePartition(tenantId, busyUser), groupId, groupId, busyUser, 'group')),
  ];
  for (let index = 0; index < writes.length; index += 64) await Promise.all(writes.slice(index, index + 64).map((write) => memberships.items.create(write)));
  const {
    resources: [count],
  } = await memberships.items.query<number>('SELECT VALUE COUNT(1) FROM c').fetchAll();

  console.log(`\nScale (the embedded store holds ${count} membership documents and scans them all on every query):`);
  for (const [label, firstPath, pageSize, pk] of [
    ['members of a 5,000-member group', `/v1.0/groups/${bigGroup}/members?$top=100`, 100, groupSidePartition(tenantId, bigGroup)],
    ['memberOf of a user in 1,000 groups', `/v1.0/users/${busyUser}/memberOf?$top=25`, 25, memberSidePartition(tenantId, busyUser)],
  ] as const) {
    const pages: { page: number; cosmosRequests: number; documents: number; ms: number }[] = [];
    // One request first, so that the group or user is in the service's object cache for page 1 as for page 40.
    await (await fetch(`${service.url}${firstPath}`, { headers })).arrayBuffer();
    let next: string | undefined = firstPath;
    for (let page = 1; page <= 40 && next !== undefined; page += 1) {
      const before = await service.stats();
      const started = performance.now();
      const response = await fetch(`${service.url}${next}`, { headers });
      const body = (await response.json()) as { value: unknown[]; '@odata.nextLink'?: string };
      const ms = performance.now() - started;
      const after = await service.stats();
      if (page === 1 || page === 40) pages.push({ page, cosmosRequests: after.cosmosRequests - before.cosmosRequests, documents: body.value.length, ms });
      next = body['@odata.nextLink']?.slice(new URL(body['@odata.nextLink']).origin.length);
    }
    // The store's own cost for the same page: one bare query of the partition.
    const started = performance.now();
    await memberships.items.query({ query: 'SELECT * FROM c WHERE c.pk = @pk', parameters: [{ name: '@pk', value: pk }] }, { partitionKey: pk, maxItemCount: pageSize }).fetchNext();
    const scanMs = performance.now() - started;
    for (const page of pages)
      console.log(
        `  ${label}, page ${page.page}: ${page.cosmosRequests} Cosmos requests, ${page.documents} documents, ${fixed(page.ms, 1)} ms (a bare query of that partition: ${fixed(scanMs, 1)} ms)`,
      );
    const [first, last] = [pages[0], pages[1]];
    target(
      first !== undefined && last !== undefined && first.cosmosRequests === last.cosmosRequests && first.documents === last.documents,
      `${label}: page 1 and page 40 cost the same requests and return the same number of documents`,
    );
  }
}

/** Token validation in this process: first verification (RS256 and claims) against a cached one. */
async function measureTokens(tenantId: string): Promise<void> {
  const standalone = new DevIssuer();
  await standalone.addKey();
  const authority = await standalone.listen();
  const verifier = new EntraTokenVerifier(readServiceSettings({ ENTRA_AUTHORITY: authority, ENTRA_TENANT_ID: tenantId, ENTRA_AUDIENCE: audience, COSMOS_ENDPOINT: 'http://127.0.0.1:1' }));
  // Distinct tokens: RS256 signatures are deterministic, so identical claims would hit the cache.
  const tokens = await Promise.all(Array.from({ length: 300 }, () => standalone.signToken({ tenantId, audience, app: { roles: ['GroupMember.ReadWrite.All'] }, claims: { jti: randomUUID() } })));
  await verifier.verifyToken(tokens[0]!);
  await standalone.close();
  let started = performance.now();
  for (const token of tokens.slice(1)) await verifier.verifyToken(token);
  const firstUs = ((performance.now() - started) / (tokens.length - 1)) * 1000;
  started = performance.now();
  for (let index = 0; index < 20_000; index += 1) await verifier.verifyToken(tokens[0]!);
  const cachedUs = ((performance.now() - started) / 20_000) * 1000;
  console.log(`\nToken validation: first ${fixed(firstUs, 1)} µs, cached ${fixed(cachedUs)} µs per token (${fixed(firstUs / cachedUs, 0)}x)`);
  target(cachedUs < firstUs / 10, `a cached token costs under a tenth of a first verification (${fixed(cachedUs)} vs ${fixed(firstUs, 1)} µs)`);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const startupRuns = Number(process.env.BENCH_STARTUP_RUNS ?? 11);

/** One line of test/package/functionsWorker.js: the app loaded as the Functions worker loads it. */
async function startWorker(appDirectory: string, serve: boolean, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; workerReport: WorkerReport }> {
  const profile = process.env.BENCH_PROFILE === 'worker' ? ['--cpu-prof', '--cpu-prof-dir=.local/profiles'] : [];
  const child = spawn(process.execPath, [...profile, path.resolve(__dirname, '../package/functionsWorker.js'), appDirectory, ...(serve ? ['--serve'] : [])], {
    env: { ...process.env, ...env },
    // Import-only runs have no settings: the app's warm-up (its appStart hook) says it skips.
    stdio: ['ignore', 'pipe', serve ? 'inherit' : 'ignore'],
  });
  const workerReport = await new Promise<WorkerReport>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`functionsWorker exited with ${code}`)));
    createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line) as WorkerReport));
  });
  child.removeAllListeners('exit');
  return { child, workerReport };
}

/**
 * What a cold Functions worker pays to load the app. The deployed bundle (npm run package) is
 * loaded as the worker loads it (test/package/functionsWorker.js: package.json's main, required
 * once, @azure/functions-core supplied), in fresh processes interleaved with the naive baseline:
 * require() of each production dependency from node_modules, as a deployment of the tsc output
 * with its node_modules would load them.
 */
async function measureStartup(deployDirectory: string): Promise<void> {
  const probe = (modules: string[]) => {
    const script = `const t=performance.now();${modules.map((name) => `require(${JSON.stringify(name)});`).join('')}const m=performance.now()-t;console.log(JSON.stringify({ms:m,heap:process.memoryUsage().heapUsed}))`;
    // stderr is dropped: outside the Functions host, @azure/functions warns for every registration.
    return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: path.resolve(__dirname, '../../..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as {
      ms: number;
      heap: number;
    };
  };
  const naiveModules = ['@azure/cosmos', '@azure/identity', '@azure/functions', 'zod', 'jose'];
  const bundle: number[] = [];
  const tscOutput: number[] = [];
  const naive: number[] = [];
  for (let run = 0; run < startupRuns; run += 1) {
    for (const [directory, times] of [
      [deployDirectory, bundle],
      [path.resolve(__dirname, '../../..'), tscOutput],
    ] as const) {
      const { child, workerReport } = await startWorker(directory, false);
      times.push(workerReport.importMs);
      child.kill();
    }
    naive.push(probe(naiveModules).ms);
  }
  const [bundleMedian, tscMedian, naiveMedian] = [median(bundle), median(tscOutput), median(naive)];
  console.log(`\nStart-up (${startupRuns} fresh processes each, interleaved; the worker's way: package.json main required once, @azure/functions-core supplied):`);
  console.log(`  the bundle (.deploy/${bundleFile}): median ${fixed(bundleMedian, 1)} ms, max ${fixed(Math.max(...bundle), 1)} ms`);
  console.log(`  the tsc output with node_modules (dist/functions/index.js): median ${fixed(tscMedian, 1)} ms`);
  console.log(`  naive require() of ${naiveModules.join(' + ')}: median ${fixed(naiveMedian, 1)} ms`);
  const heaviest = naiveModules.map((name) => ({ name, ms: median(Array.from({ length: 5 }, () => probe([name]).ms)) })).sort((a, b) => b.ms - a.ms);
  console.log(`  heaviest naive imports alone: ${heaviest.map((entryTime) => `${entryTime.name} ${fixed(entryTime.ms, 0)} ms`).join(', ')} (@azure/identity is loaded only without COSMOS_KEY)`);
  const ratio = bundleMedian / naiveMedian;
  target(ratio <= 0.5, `import of the bundle ${fixed(ratio)}x the naive imports of its dependencies (${fixed(bundleMedian, 1)} vs ${fixed(naiveMedian, 1)} ms; target <= 0.5)`);
}

/**
 * The first request a freshly started worker serves, against warm ones doing the same work. Each
 * of 11 fresh processes loads the bundle and listens (functionsWorker.js --serve: the host's HTTP
 * request forwarded to the programming model's stream proxy, as the worker runs it); this process
 * then opens its connection with a request the stand-in host answers itself (no function runs),
 * and times, from send to last byte, request 1, then requests 12-21 after 10 warm-ups. Every
 * request is GET members of a group the worker has not served yet, with an application token it
 * has not seen yet (freshly signed, so its signature is verified again): measured as Azure runs
 * it, the warm figure holds no per-instance cache of the object or the token, so the ratio is the
 * price of a cold worker alone. Each worker runs the app's appStart hook (src/startup/warmUp.ts:
 * discovery, keys, Cosmos client, schemas) before it serves, as the Functions worker does before
 * the host sends a request; its time is printed, not judged. First = median over processes of
 * request 1; warm = median over processes of each one's median of 12-21.
 */
async function measureFirstRequest(deployDirectory: string, env: NodeJS.ProcessEnv, groupIds: readonly string[], signToken: () => Promise<string>): Promise<void> {
  const requestsPerWorker = 21;
  if (groupIds.length < requestsPerWorker) throw new Error(`measureFirstRequest needs ${requestsPerWorker} groups`);
  const timed = async (url: string, { requestPath, headers }: { requestPath: string; headers: Record<string, string> }) => {
    const started = performance.now();
    const response = await fetch(`${url}${requestPath}`, { headers });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`GET ${requestPath}: ${response.status}`);
    return performance.now() - started;
  };
  const first: number[] = [];
  const warm: number[] = [];
  const appStart: number[] = [];
  for (let run = 0; run < startupRuns; run += 1) {
    // Signed before the worker starts, so that signing is not timed.
    const requests = await Promise.all(
      Array.from({ length: requestsPerWorker }, async (_, index) => ({
        requestPath: `/v1.0/groups/${groupIds[(run + index) % groupIds.length]!}/members`,
        headers: { Authorization: `Bearer ${await signToken()}` },
      })),
    );
    const { child, workerReport } = await startWorker(deployDirectory, true, env);
    appStart.push(workerReport.appStartMs);
    // The client's connection to the host, opened with a request the host answers itself (no
    // function serves `/`): in Azure the client talks to the front end and the host, which a cold
    // worker does not make cold; only what the worker does for its first invocation is timed.
    await (await fetch(`${workerReport.url!}/`)).arrayBuffer();
    first.push(await timed(workerReport.url!, requests[0]!));
    for (let index = 1; index <= 10; index += 1) await timed(workerReport.url!, requests[index]!);
    const measured: number[] = [];
    for (let index = 11; index < requestsPerWorker; index += 1) measured.push(await timed(workerReport.url!, requests[index]!));
    warm.push(median(measured));
    child.kill();
  }
  const [firstMedian, warmMedian] = [median(first), median(warm)];
  console.log(
    `\nFirst request (${startupRuns} fresh worker processes on the bundle; GET /v1.0/groups/{id}/members of a group and with a token the worker has not seen, send to last byte): first median ${fixed(firstMedian, 1)} ms (max ${fixed(Math.max(...first), 1)}), warm median ${fixed(warmMedian, 2)} ms; before serving, the appStart hook took median ${fixed(median(appStart), 1)} ms`,
  );
  target(firstMedian <= 2 * warmMedian, `first request after import ${fixed(firstMedian / warmMedian)}x a warm one (${fixed(firstMedian, 1)} vs ${fixed(warmMedian, 2)} ms; target <= 2)`);
}

async function main(): Promise<void> {
  const deployDirectory = (await buildDeployPackage(mkdtempSync(path.join(os.tmpdir(), 'graph-membership-bench-')))).outDir;
  await measureStartup(deployDirectory);
  await measureLoad(deployDirectory);
  rmSync(deployDirectory, { recursive: true, force: true });
  if (process.env.BENCH_ONLY !== 'startup') await measureTokens(randomUUID());
  if (process.env.BENCH_ONLY !== 'startup') outcomes.push(...(await measureTransitive()));
  console.log('');
  for (const outcome of outcomes) console.log(`${outcome.pass ? 'PASS' : 'FAIL'}  ${outcome.line}`);
  const passed = outcomes.every((outcome) => outcome.pass);
  console.log(passed ? 'bench: PASS' : 'bench: FAIL');
  process.exit(passed ? 0 : 1);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
