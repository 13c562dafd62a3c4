import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { httpFunctions } from '../../functions/catalog';
import { queueFunctions, timerFunctions } from '../../functions/triggers';
import { buildDeployPackage, bundleFile, devOnlyPackages, lockfileKey, workerProvided, type DeployPackage } from '../../scripts/packageDeploy';
import { TestService } from '../support/testService';
import type { WorkerReport } from './functionsWorker';

const root = path.resolve(__dirname, '../../..');
let service: TestService;
let deployPackage: DeployPackage;
let worker: ChildProcess;
let report: WorkerReport;
let workerErrors = '';
let keySetsServedBeforeStart = 0;
/** What the worker did before it served a request: its appStart hook's work. */
let startUp: { keySetsServed: number; storeRequests: { method: string; path: string; partition: string; isQuery: boolean }[] };

beforeAll(async () => {
  service = await TestService.start();
  // Outside the repository, so that no node_modules above it can stand in for what the package lacks.
  deployPackage = await buildDeployPackage(mkdtempSync(path.join(os.tmpdir(), 'graph-membership-package-')));
  // From here every Cosmos request is recorded and every key set served is counted: the worker's
  // start-up (its appStart hook) is the only client of either until the first test sends a request.
  service.proxy.record = true;
  keySetsServedBeforeStart = service.issuer.jwksRequests;
  // A fresh Node process loads the package as the Functions worker would, with this test's
  // settings (the embedded Cosmos endpoint behind the fault proxy, the loopback issuer).
  worker = spawn(process.execPath, [path.join(__dirname, 'functionsWorker.js'), deployPackage.outDir, '--serve'], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  worker.stderr!.on('data', (chunk: Buffer) => (workerErrors += chunk.toString()));
  report = await new Promise<WorkerReport>((resolve, reject) => {
    worker.once('exit', (code) => reject(new Error(`the worker exited with ${code}: ${workerErrors}`)));
    createInterface({ input: worker.stdout! }).once('line', (line) => resolve(JSON.parse(line) as WorkerReport));
  });
  startUp = {
    keySetsServed: service.issuer.jwksRequests - keySetsServedBeforeStart,
    storeRequests: service.proxy.seen.map((request) => ({
      method: request.method,
      path: request.path,
      partition: String(request.headers['x-ms-documentdb-partitionkey']),
      // A query and its query plan (which names no partition) are POSTs too, but read only.
      isQuery: [request.headers['x-ms-documentdb-isquery'], request.headers['x-ms-cosmos-is-query-plan-request']].some((value) => String(value).toLowerCase() === 'true'),
    })),
  };
  service.proxy.record = false;
  service.proxy.seen.length = 0;
});

afterAll(async () => {
  worker?.removeAllListeners('exit');
  worker?.kill();
  await service.stop();
  rmSync(deployPackage.outDir, { recursive: true, force: true });
});

async function packaged(method: string, requestPath: string, body?: unknown): Promise<{ status: number; json: { [key: string]: unknown } | undefined }> {
  const response = await fetch(`${report.url!}${requestPath}`, {
    method,
    headers: { Authorization: `Bearer ${await service.adminToken()}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? undefined : (JSON.parse(text) as { [key: string]: unknown }) };
}

describe('the deployable package (npm run package)', () => {
  it('holds the bundle, host.json and a production package.json whose main is the bundle, and nothing else', () => {
    expect(deployPackage.files.map((file) => file.path).sort()).toEqual(['host.json', bundleFile, `${bundleFile}.map`, 'package.json'].sort());
    const manifest = JSON.parse(readFileSync(path.join(deployPackage.outDir, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.main).toBe(bundleFile);
    expect(manifest.dependencies).toEqual({});
    expect(manifest).not.toHaveProperty('devDependencies');
    expect(readFileSync(path.join(deployPackage.outDir, 'host.json'), 'utf8')).toBe(readFileSync(path.join(root, 'host.json'), 'utf8'));
  });

  it('bundles no package that only dev dependencies need, and leaves to run time only the worker API and such packages', () => {
    const devOnly = devOnlyPackages();
    const devDependencies = Object.keys((JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies);
    const bundledPackages = new Set(deployPackage.inputs.map((input) => lockfileKey(path.join(root, input))).filter((key) => key !== undefined));
    expect(bundledPackages.size).toBeGreaterThan(10);
    expect([...bundledPackages].filter((key) => devOnly.has(key) || devDependencies.some((name) => key === `node_modules/${name}`))).toEqual([]);
    // What a production install would lack, the bundle must lack too (debug's optional supports-color).
    expect(deployPackage.externals.filter((name) => !workerProvided.includes(name) && !devOnly.has(`node_modules/${name}`))).toEqual([]);
  });

  it('is a few MiB where the full node_modules is hundreds', () => {
    expect(deployPackage.totalBytes).toBeLessThan(8 * 2 ** 20);
  });

  it('registers, through the @azure/functions inside the bundle, every function of functions/catalog.ts, the timers and the queue trigger', () => {
    const installed = JSON.parse(readFileSync(path.join(root, 'node_modules/@azure/functions/package.json'), 'utf8')) as { version: string };
    expect(report.programmingModel).toEqual({ name: '@azure/functions', version: installed.version });
    const names = report.functions.map((entry) => entry.name);
    expect([...names].sort()).toEqual(
      [...httpFunctions.map((definition) => definition.name), ...timerFunctions.map((definition) => definition.name), ...queueFunctions.map((definition) => definition.name)].sort(),
    );
    for (const definition of httpFunctions) {
      const bindings = Object.values(report.functions.find((entry) => entry.name === definition.name)!.bindings);
      expect(bindings.find((binding) => binding.type === 'httpTrigger')).toMatchObject({ route: definition.route, methods: [...definition.methods], authLevel: 'anonymous' });
      expect(bindings.find((binding) => binding.direction === 'out')).toMatchObject({ type: 'http' });
    }
    for (const definition of timerFunctions) {
      const timer = Object.values(report.functions.find((entry) => entry.name === definition.name)!.bindings);
      expect(timer.find((binding) => binding.type === 'timerTrigger')).toMatchObject({ schedule: definition.schedule });
    }
    for (const definition of queueFunctions) {
      const queue = Object.values(report.functions.find((entry) => entry.name === definition.name)!.bindings);
      expect(queue.find((binding) => binding.type === 'queueTrigger')).toMatchObject({ queueName: definition.queueName, connection: 'AzureWebJobsStorage' });
    }
  });

  it("does the first request's one-time work at start-up (appStart): the first authenticated request downloads no keys", async () => {
    // Before any request: both accepted tenants' key sets, and the Cosmos client's reads under a
    // tenant that does not exist (point reads and queries: nothing found, nothing written) and
    // the readiness answer's database read, each repeated by the warm-up's rounds.
    expect(startUp.keySetsServed).toBe(2);
    const nobody = '00000000-0000-0000-0000-000000000000';
    const reads = startUp.storeRequests.filter((request) => request.method === 'GET');
    const queries = startUp.storeRequests.filter((request) => request.method === 'POST' && request.isQuery);
    const documentReads = reads.filter((request) => request.path.includes('/docs/'));
    const databaseReads = reads.filter((request) => /\/dbs\/[^/]+$/.test(request.path));
    // The object's point read, and the tenant's pending deletions that every relation page reads.
    expect(new Set(documentReads.map((request) => request.partition))).toEqual(new Set([`["${nobody}|${nobody}"]`, `["${nobody}|deletions"]`]));
    expect(databaseReads.length).toBeGreaterThan(0);
    expect(documentReads.length + databaseReads.length).toBe(reads.length);
    expect(new Set(queries.filter((request) => request.partition !== 'undefined').map((request) => request.partition))).toEqual(new Set([`["${nobody}|group|${nobody}"]`]));
    expect(reads.length + queries.length).toBe(startUp.storeRequests.length);
    // The in-process service arranges the data (its own verifier downloads keys for itself).
    const group = await service.createGroup();
    const keySetsServed = service.issuer.jwksRequests;
    service.proxy.record = true;
    const listed = await packaged('GET', `/v1.0/groups/${group.id}/members`);
    service.proxy.record = false;
    expect(listed.status).toBe(200);
    expect(service.issuer.jwksRequests).toBe(keySetsServed);
    // Only the request's own document reads: no account, database or container metadata.
    expect(service.proxy.seen.length).toBeGreaterThan(0);
    expect(service.proxy.seen.filter((request) => !/^\/dbs\/[^/]+\/colls\/[^/]+\/docs(\/|$)/.test(request.path))).toEqual([]);
  });

  it('serves requests from the package alone: health, a read, an add stored in both directions, a Graph error', async () => {
    expect((await packaged('GET', '/health')).json).toEqual({ status: 'Healthy' });
    const [group, user] = [await service.createGroup(), await service.createUser()];
    const read = await packaged('GET', `/v1.0/groups/${group.id}`);
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({ id: group.id });
    const added = await packaged('POST', `/v1.0/groups/${group.id}/members/$ref`, { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${user.id}` });
    expect(added.status).toBe(204);
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: true });
    const invalid = await packaged('POST', `/v1.0/groups/${group.id}/members/$ref`, { '@odata.id': 42 });
    expect(invalid.status).toBe(400);
    expect(invalid.json).toMatchObject({ error: { code: 'Request_BadRequest' } });
    expect(workerErrors).toBe('');
  });
});
