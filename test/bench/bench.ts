/**
 * npm run bench: the figures issue 3 asks for, each beside a baseline measured in the same run
 * (these machines are noisy, so only ratios are compared with targets).
 *  - Cosmos requests per add, and sequential rounds (20 ms injected per store request by a proxy).
 *  - S1 latency through HTTP on loopback against the bare SDK operations it performs.
 *  - Token validation: first verification against a cached one.
 *  - Import time of the function app's entry point against bare node.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { httpFunctions } from '../../functions/catalog';
import { EntraTokenVerifier } from '../../src/auth/verifyEntraToken';
import { readServiceSettings } from '../../src/config/settings';
import { objectPartitionKey, type DirectoryObjectDocument } from '../../src/directory/directoryObjects';
import { DevIssuer } from '../../src/local/devIssuer';
import { startEmbeddedCosmos } from '../../src/local/embeddedStores';
import { startFunctionsHost } from '../../src/local/functionsHost';
import { ensureCosmosResources, getCosmosStore } from '../../src/store/cosmosStore';
import { FaultProxy } from '../support/faultProxy';

const samples = Number(process.env.BENCH_SAMPLES ?? 300);
const audience = 'api://graph-membership-bench';
const results: { name: string; pass: boolean; detail: string }[] = [];

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
const ms = (value: number) => `${value.toFixed(2)} ms`;

async function main(): Promise<void> {
  const cosmos = await startEmbeddedCosmos();
  const proxy = new FaultProxy(cosmos.connection);
  const proxied = await proxy.listen();
  const issuer = new DevIssuer();
  await issuer.addKey();
  const authority = await issuer.listen();
  const tenantId = randomUUID();
  Object.assign(process.env, {
    ENTRA_AUTHORITY: authority,
    ENTRA_TENANT_ID: tenantId,
    ENTRA_AUDIENCE: audience,
    COSMOS_ENDPOINT: proxied,
    COSMOS_KEY: 'embedded-cosmos-accepts-any-key',
    COSMOS_DATABASE: 'bench',
  });
  const store = await getCosmosStore();
  await ensureCosmosResources(store);
  const requestLog: Record<string, unknown>[] = [];
  const host = await startFunctionsHost({
    functions: httpFunctions,
    port: 0,
    logHandler: (_level, message, details) => {
      if (message === 'request') requestLog.push(details as Record<string, unknown>);
    },
  });
  const token = await issuer.signToken({ tenantId, audience, app: { roles: ['GroupMember.ReadWrite.All'] } });

  const document = (objectType: 'user' | 'group'): DirectoryObjectDocument => {
    const id = randomUUID();
    const entity = objectType === 'user' ? { displayName: id, userPrincipalName: `${id}@bench.example` } : { displayName: id, mailNickname: id.slice(0, 8), mailEnabled: false, securityEnabled: true, groupTypes: [] };
    return { id, pk: objectPartitionKey(tenantId, id), tenantId, objectType, entity };
  };
  const seed = async (objectType: 'user' | 'group') => {
    const created = document(objectType);
    await store.directory.items.create(created);
    return created;
  };
  const group = await seed('group');
  const users: DirectoryObjectDocument[] = [];
  for (let index = 0; index < samples * 2 + 30; index += 1) users.push(await seed('user'));
  const addMember = (memberId: string) =>
    fetch(`${host.baseUrl}/v1.0/groups/${group.id}/members/$ref`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${memberId}` }),
    });

  // Warm up: connections, key discovery, token cache.
  for (let index = 0; index < 10; index += 1) await (await addMember(users.pop()!.id)).arrayBuffer();

  // 1. Store requests and sequential rounds per add.
  requestLog.length = 0;
  const delayMs = 20;
  proxy.rule = () => ({ kind: 'delay', ms: delayMs });
  const roundSamples: number[] = [];
  for (let index = 0; index < 10; index += 1) {
    const started = performance.now();
    const response = await addMember(users.pop()!.id);
    await response.arrayBuffer();
    roundSamples.push(performance.now() - started);
    if (response.status !== 204) throw new Error(`add answered ${response.status}`);
  }
  proxy.rule = () => undefined;
  const requestsPerAdd = requestLog.map((entry) => Number(entry.cosmosRequests));
  const rounds = Math.round(percentile(roundSamples, 50) / delayMs);
  console.log(`Cosmos requests per add of a user: ${Math.max(...requestsPerAdd)} (2 point reads, 1 create, 1 upsert)`);
  console.log(`Sequential rounds per add: ${rounds} (p50 ${ms(percentile(roundSamples, 50))} with ${delayMs} ms injected per store request)`);
  results.push({ name: 'an add of a user takes at most two sequential store rounds', pass: rounds <= 2, detail: `${rounds} rounds` });

  // 2. S1 through HTTP against the bare SDK operations it performs.
  const httpTimes: number[] = [];
  for (let index = 0; index < samples; index += 1) {
    const started = performance.now();
    const response = await addMember(users.pop()!.id);
    await response.arrayBuffer();
    httpTimes.push(performance.now() - started);
  }
  const bareTimes: number[] = [];
  for (let index = 0; index < samples; index += 1) {
    const member = users.pop()!;
    const started = performance.now();
    await Promise.all([store.directory.item(group.id, group.pk).read(), store.directory.item(member.id, member.pk).read()]);
    const edge = { tenantId, groupId: group.id, objectId: member.id, kind: 'member', far: {}, createdDateTime: new Date().toISOString() };
    await Promise.all([
      store.memberships.items.create({ ...edge, id: member.id, pk: `${tenantId}|group|bare-${group.id}` }),
      store.memberships.items.upsert({ ...edge, id: group.id, pk: `${tenantId}|member|bare-${member.id}` }),
    ]);
    bareTimes.push(performance.now() - started);
  }
  const [httpP50, httpP99, bareP50, bareP99] = [percentile(httpTimes, 50), percentile(httpTimes, 99), percentile(bareTimes, 50), percentile(bareTimes, 99)];
  console.log(`S1 over HTTP (${samples} adds): p50 ${ms(httpP50)}, p99 ${ms(httpP99)}`);
  console.log(`Bare SDK (2 parallel point reads, then create + upsert in parallel): p50 ${ms(bareP50)}, p99 ${ms(bareP99)}`);
  console.log(`Ratio S1 / bare: p50 ${(httpP50 / bareP50).toFixed(2)}x, p99 ${(httpP99 / bareP99).toFixed(2)}x`);

  // 3. Token validation: first (RS256 + claims) against cached.
  const verifier = new EntraTokenVerifier(readServiceSettings());
  await verifier.verifyToken(token);
  const fresh = await Promise.all(Array.from({ length: 200 }, () => issuer.signToken({ tenantId, audience, app: { roles: ['GroupMember.ReadWrite.All'] }, claims: { jti: randomUUID() } })));
  let started = performance.now();
  for (const candidate of fresh) await verifier.verifyToken(candidate);
  const firstUs = ((performance.now() - started) / fresh.length) * 1000;
  started = performance.now();
  for (let index = 0; index < 10_000; index += 1) await verifier.verifyToken(token);
  const cachedUs = (performance.now() - started) / 10;
  console.log(`Token validation: first ${firstUs.toFixed(1)} µs, cached ${cachedUs.toFixed(2)} µs per token (${(firstUs / cachedUs).toFixed(0)}x)`);
  results.push({ name: 'a cached token costs less than a first verification', pass: cachedUs < firstUs, detail: `${cachedUs.toFixed(2)} µs vs ${firstUs.toFixed(1)} µs` });

  await host.close();
  await proxy.close();
  await issuer.close();
  await cosmos.close();

  // 4. Import time of the entry the Functions host loads, against bare node.
  const entry = path.resolve(__dirname, '../../functions/index.js');
  const time = (args: string[]) => {
    const startedAt = performance.now();
    execFileSync(process.execPath, args, { stdio: 'ignore' });
    return performance.now() - startedAt;
  };
  const bare: number[] = [];
  const app: number[] = [];
  for (let index = 0; index < 10; index += 1) {
    bare.push(time(['-e', '0']));
    app.push(time(['-e', `require(${JSON.stringify(entry)})`]));
  }
  const importMs = percentile(app, 50) - percentile(bare, 50);
  console.log(`Import of functions/index.js over bare node: median ${ms(importMs)}, max ${ms(Math.max(...app) - percentile(bare, 50))} (10 processes)`);

  console.log('');
  for (const result of results) console.log(`${result.pass ? 'PASS' : 'FAIL'}  ${result.name}: ${result.detail}`);
  const passed = results.every((result) => result.pass);
  console.log(passed ? 'bench: PASS' : 'bench: FAIL');
  process.exitCode = passed ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
