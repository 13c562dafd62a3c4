/**
 * The stress driver shared by `npm run stress` and test/stress/stress.test.ts: an HTTP client with
 * a hard timeout, a seeded pool of users and groups, and concurrent clients issuing a mix of
 * adds (S1, S2, S4, S5), duplicate adds, removals and reads, every answer judged against the
 * EdgeModel under a per-edge lock.
 */
import { randomUUID } from 'node:crypto';
import { edgeKey, splitEdgeKey, type EdgeModel, type EdgeState, type Random } from './model';
import { graphJsonOf, type GraphJson } from '../support/jsonText';

/** The Functions host's timeout is 30 s (host.json); a client gives up a little later. */
export const clientTimeoutMs = 35_000;

export const duplicateMessage = "One or more added object references already exist for the following modified properties: 'members'.";

export interface Answer {
  /** HTTP status, or 0 when there was none (see `failure`). */
  readonly status: number;
  readonly failure?: 'timeout' | 'transport';
  readonly retryAfter: string | null;
  readonly json: GraphJson | undefined;
  readonly text: string;
  readonly ms: number;
}

export const answerLabel = (answer: Answer): string => answer.failure ?? String(answer.status);

export interface SendOptions {
  readonly token: string;
  readonly body?: unknown;
  readonly clientRequestId?: string;
}

/** Real HTTP to the local host, every request bounded by a client-side timeout. */
export class StressClient {
  constructor(
    readonly baseUrl: string,
    readonly timeoutMs = clientTimeoutMs,
  ) {}

  async send(method: string, path: string, options: SendOptions): Promise<Answer> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${options.token}`,
      'client-request-id': options.clientRequestId ?? randomUUID(),
    };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    const started = performance.now();
    try {
      const response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await response.text();
      return { status: response.status, retryAfter: response.headers.get('retry-after'), json: graphJsonOf(text), text, ms: performance.now() - started };
    } catch (error) {
      const name = (error as { name?: string }).name;
      const failure = name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'transport';
      return { status: 0, failure, retryAfter: null, json: undefined, text: String(error), ms: performance.now() - started };
    }
  }
}

/** Signs a token for the service's audience (DevIssuer.signToken with the audience bound). */
export type Signer = (request: { tenantId: string; user?: { id: string; scopes: string[]; roleIds: string[] }; app?: { roles: string[] } }) => Promise<string>;

const groupsAdministrator = 'fdd7a751-b60b-444a-984c-02652fe8fa1c';

/** Users and groups of one tenant, and tokens to act on them. */
export interface Pool {
  readonly tenantId: string;
  readonly users: readonly string[];
  /** Nesting (S2) only puts a group into a group later in this list, so no cycle can form. */
  readonly groups: readonly string[];
  readonly appToken: string;
  /** Delegated tokens (GroupMember.ReadWrite.All, Groups Administrator) for S4 and /me reads. */
  readonly userTokens: ReadonlyMap<string, string>;
}

/** Creates the pool through the API itself (POST /users, POST /groups), a few at a time. */
export async function seedPool(client: StressClient, sign: Signer, options: { tenantId: string; users: number; groups: number }): Promise<Pool> {
  const { tenantId } = options;
  const appToken = await sign({ tenantId, app: { roles: ['Directory.ReadWrite.All'] } });
  const create = async (path: string, body: Record<string, unknown>): Promise<string> => {
    const answer = await client.send('POST', path, { token: appToken, body });
    if (answer.status !== 201) throw new Error(`seeding ${path}: ${answer.status} ${answer.text}`);
    return String(answer.json?.id);
  };
  const inBatches = async (count: number, make: (index: number) => Promise<string>): Promise<string[]> => {
    const ids: string[] = [];
    for (let start = 0; start < count; start += 8) {
      ids.push(...(await Promise.all(Array.from({ length: Math.min(8, count - start) }, (_, offset) => make(start + offset)))));
    }
    return ids;
  };
  const tag = randomUUID().slice(0, 6);
  const users = await inBatches(options.users, (index) => create('/v1.0/users', { displayName: `Stress user ${index}`, userPrincipalName: `stress-${tag}-${index}@contoso.example` }));
  const groups = await inBatches(options.groups, (index) =>
    create('/v1.0/groups', { displayName: `Stress group ${index}`, mailNickname: `stress${tag}${index}`, mailEnabled: false, securityEnabled: true }),
  );
  const userTokens = new Map<string, string>();
  for (const user of users) {
    userTokens.set(user, await sign({ tenantId, user: { id: user, scopes: ['GroupMember.ReadWrite.All'], roleIds: [groupsAdministrator] } }));
  }
  return { tenantId, users, groups, appToken, userTokens };
}

export type OperationKind = 'addS1' | 'addS4' | 'addS5' | 'nestS2' | 'duplicate' | 'remove' | 'readMembers' | 'readMemberOf';

/** Relative weights of the operation kinds. */
export type OperationMix = Readonly<Record<OperationKind, number>>;

export const defaultMix: OperationMix = {
  addS1: 14,
  addS4: 8,
  addS5: 8,
  nestS2: 3,
  duplicate: 10,
  remove: 22,
  readMembers: 20,
  readMemberOf: 15,
};

const retainedSamples = 40;

/** What one phase saw: statuses, latencies, and every answer the model contradicts. */
export class PhaseStats {
  readonly statuses = new Map<string, number>();
  readonly byKind = new Map<OperationKind, Map<string, number>>();
  readonly latencies: number[] = [];
  /** Operations started (an operation is one request, or an add and its retry). */
  issued = 0;
  /** Requests answered (or timed out). */
  operations = 0;
  /** 429 and 503 answers, and those of them without a usable Retry-After. */
  throttledOrUnavailable = 0;
  missingRetryAfter = 0;
  /** 5xx other than 503 (a 500 is a bug by SPEC section 4). */
  serverErrors = 0;
  timeouts = 0;
  transportErrors = 0;
  /** Adds retried with the same client-request-id after a 429/503, and how those ended. */
  retries = 0;
  violationCount = 0;
  readonly violations: string[] = [];
  readonly serverErrorSamples: string[] = [];
  readonly startedAt = performance.now();
  elapsedMs = 0;

  constructor(readonly label: string) {}

  record(kind: OperationKind, request: string, answer: Answer): void {
    const label = answerLabel(answer);
    this.operations += 1;
    this.statuses.set(label, (this.statuses.get(label) ?? 0) + 1);
    let perKind = this.byKind.get(kind);
    if (perKind === undefined) this.byKind.set(kind, (perKind = new Map<string, number>()));
    perKind.set(label, (perKind.get(label) ?? 0) + 1);
    this.latencies.push(answer.ms);
    if (answer.failure === 'timeout') this.timeouts += 1;
    if (answer.failure === 'transport') this.transportErrors += 1;
    if (answer.status === 429 || answer.status === 503) {
      this.throttledOrUnavailable += 1;
      if (answer.retryAfter === null || !/^[1-9]\d*$/.test(answer.retryAfter)) {
        this.missingRetryAfter += 1;
        this.violation(`${request} answered ${answer.status} without a valid Retry-After (${String(answer.retryAfter)})`);
      }
    }
    if (answer.status >= 500 && answer.status !== 503) {
      this.serverErrors += 1;
      if (this.serverErrorSamples.length < retainedSamples) this.serverErrorSamples.push(`${request} -> ${answer.status} ${answer.text.slice(0, 300)}`);
    }
  }

  violation(message: string): void {
    this.violationCount += 1;
    if (this.violations.length < retainedSamples) this.violations.push(message);
  }

  finish(): void {
    this.elapsedMs = performance.now() - this.startedAt;
  }

  count(label: string): number {
    return this.statuses.get(label) ?? 0;
  }
}

export interface WorkloadContext {
  readonly client: StressClient;
  readonly pool: Pool;
  readonly model: EdgeModel;
  readonly random: Random;
}

export interface WorkloadOptions {
  readonly label: string;
  readonly operations: number;
  readonly concurrency: number;
  readonly mix?: OperationMix;
  /** No operation starts after this (performance.now() time). */
  readonly deadline: number;
  /** Retry an add once with the same client-request-id after a 429/503 (as the Graph SDKs do). */
  readonly retryAfterFault?: boolean;
}

/** Runs `operations` operations from `concurrency` clients, bounded in count and time. */
export async function runWorkload(context: WorkloadContext, options: WorkloadOptions): Promise<PhaseStats> {
  const stats = new PhaseStats(options.label);
  const mix = options.mix ?? defaultMix;
  let issued = 0;
  const worker = async () => {
    while (issued < options.operations && performance.now() < options.deadline) {
      issued += 1;
      stats.issued = issued;
      await runOperation(context, stats, mix, options.retryAfterFault === true);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  stats.finish();
  return stats;
}

interface AddRequest {
  readonly kind: 'addS1' | 'addS4' | 'addS5' | 'nestS2';
  readonly method: 'POST';
  readonly path: string;
  readonly token: string;
  readonly body: unknown;
  /** 204 for S1, 201 + the group for the others. */
  readonly success: 204 | 201;
}

const graphUrl = 'https://graph.microsoft.com/v1.0';

/** The add of edge (groupId, memberId) in the form `kind` asks for. */
function addRequest(pool: Pool, kind: AddRequest['kind'], groupId: string, memberId: string): AddRequest {
  switch (kind) {
    case 'addS1':
      return { kind, method: 'POST', path: `/v1.0/groups/${groupId}/members/$ref`, token: pool.appToken, body: { '@odata.id': `${graphUrl}/directoryObjects/${memberId}` }, success: 204 };
    case 'addS4':
      return { kind, method: 'POST', path: '/v1.0/me/joinedGroups/$ref', token: pool.userTokens.get(memberId)!, body: { '@odata.id': `${graphUrl}/groups/${groupId}` }, success: 201 };
    case 'addS5':
      // The seeds' form: no /$ref, a body with the object's id.
      return { kind, method: 'POST', path: `/beta/users/${memberId}/joinedGroups`, token: pool.appToken, body: { id: groupId }, success: 201 };
    case 'nestS2':
      return { kind, method: 'POST', path: `/v1.0/groups/${memberId}/memberOf/$ref`, token: pool.appToken, body: { '@odata.id': `${graphUrl}/groups/${groupId}` }, success: 201 };
  }
}

/** A random edge: a user into a group, or (for S2) a group into a later group. */
function randomEdge(context: WorkloadContext, nested: boolean): { groupId: string; memberId: string } {
  const { pool, random } = context;
  if (nested && pool.groups.length >= 2) {
    const child = random.int(pool.groups.length - 1);
    const parent = child + 1 + random.int(pool.groups.length - child - 1);
    return { groupId: pool.groups[parent]!, memberId: pool.groups[child]! };
  }
  return { groupId: random.pick(pool.groups), memberId: random.pick(pool.users) };
}

/** Some edge the model says exists and no client is working on, if any. */
function idlePresentEdge(context: WorkloadContext): { groupId: string; memberId: string } | undefined {
  const candidates = context.model.presentKeys().filter((key) => !context.model.isBusy(key));
  if (candidates.length === 0) return undefined;
  return splitEdgeKey(context.random.pick(candidates));
}

async function runOperation(context: WorkloadContext, stats: PhaseStats, mix: OperationMix, retryAfterFault: boolean): Promise<void> {
  const { pool, random } = context;
  const kind = random.weighted(mix);
  switch (kind) {
    case 'addS1':
    case 'addS4':
    case 'addS5':
    case 'nestS2': {
      const { groupId, memberId } = randomEdge(context, kind === 'nestS2');
      await addEdge(context, stats, addRequest(pool, kind, groupId, memberId), groupId, memberId, retryAfterFault);
      return;
    }
    case 'duplicate': {
      const edge = idlePresentEdge(context) ?? randomEdge(context, false);
      const isGroup = pool.groups.includes(edge.memberId);
      const form = isGroup ? random.pick(['addS1', 'nestS2'] as const) : random.pick(['addS1', 'addS4', 'addS5'] as const);
      await addEdge(context, stats, addRequest(pool, form, edge.groupId, edge.memberId), edge.groupId, edge.memberId, retryAfterFault, 'duplicate');
      return;
    }
    case 'remove': {
      const edge = (random.chance(0.75) ? idlePresentEdge(context) : undefined) ?? randomEdge(context, random.chance(0.1));
      await removeEdge(context, stats, edge.groupId, edge.memberId);
      return;
    }
    case 'readMembers':
      await readMembers(context, stats, random.pick(pool.groups));
      return;
    case 'readMemberOf':
      await readMemberOf(context, stats, random.pick(pool.users));
      return;
  }
}

function errorMessage(answer: Answer): string {
  return answer.json?.error?.message ?? answer.text.slice(0, 200);
}

async function addEdge(
  context: WorkloadContext,
  stats: PhaseStats,
  request: AddRequest,
  groupId: string,
  memberId: string,
  retryAfterFault: boolean,
  kindLabel: OperationKind = request.kind,
): Promise<void> {
  const { model, client, random } = context;
  const key = edgeKey(groupId, memberId);
  await model.withEdge(key, async () => {
    const before = model.state(key);
    model.requested.add(key);
    const clientRequestId = randomUUID();
    const send = () => client.send(request.method, request.path, { token: request.token, body: request.body, clientRequestId });
    const describe = `${request.method} ${request.path} (edge ${key}, was ${before})`;
    let answer = await send();
    stats.record(kindLabel, describe, answer);
    let state = judgeAdd(stats, request, groupId, before, answer, describe, false);
    if (retryAfterFault && (answer.status === 429 || answer.status === 503) && random.chance(0.5)) {
      // The Graph SDKs' retry handler resends the same client-request-id: the original answer
      // (a success) must come back if the first attempt wrote the edge, never the duplicate 400.
      stats.retries += 1;
      answer = await send();
      stats.record(kindLabel, `${describe} retried`, answer);
      state = judgeAdd(stats, request, groupId, before, answer, `${describe} retried with the same client-request-id`, true);
    }
    // Without injected faults a 429 is the service's own answer to contention (nestings of one
    // tenant commit one at a time, nestingGuard.ts): retried after Retry-After, as the Graph SDKs'
    // retry handler does (its default is 3 times, configurable to 10; here 5), with the same client-request-id.
    const retriesAfter429 = retryAfterFault ? 0 : 5;
    for (let retry = 0; answer.status === 429 && retry < retriesAfter429; retry += 1) {
      stats.retries += 1;
      await new Promise((resolve) => setTimeout(resolve, Math.min(5, Number(answer.retryAfter) || 1) * 1000));
      answer = await send();
      stats.record(kindLabel, `${describe} retried after 429`, answer);
      state = judgeAdd(stats, request, groupId, before, answer, `${describe} retried after 429 with the same client-request-id`, true);
    }
    if (answer.failure === 'timeout') model.taint(key);
    model.set(key, state);
  });
}

/** Judges an add's answer against the edge's state before it; returns the state after it. */
function judgeAdd(stats: PhaseStats, request: AddRequest, groupId: string, before: EdgeState, answer: Answer, describe: string, retry: boolean): EdgeState {
  if (answer.failure !== undefined) return before === 'present' ? 'present' : 'unknown';
  if (answer.status === request.success) {
    if (before === 'present') stats.violation(`${describe}: answered ${answer.status}, but the edge already existed (expected the duplicate 400)`);
    if (request.success === 201 && (answer.json?.id !== groupId || answer.json?.['@odata.type'] !== '#microsoft.graph.group')) {
      stats.violation(`${describe}: 201 without the group joined in its body: ${answer.text.slice(0, 200)}`);
    }
    return 'present';
  }
  if (answer.status === 400 && errorMessage(answer) === duplicateMessage) {
    if (before === 'absent') {
      stats.violation(retry ? `${describe}: the retry got the duplicate 400 instead of the original answer (SPEC section 4)` : `${describe}: duplicate 400, but the edge did not exist`);
    }
    return 'present';
  }
  if (answer.status === 429 || answer.status === 503) return before === 'present' ? 'present' : 'unknown';
  stats.violation(`${describe}: unexpected ${answer.status} ${answer.text.slice(0, 200)}`);
  return 'unknown';
}

async function removeEdge(context: WorkloadContext, stats: PhaseStats, groupId: string, memberId: string): Promise<void> {
  const { model, client, pool } = context;
  const key = edgeKey(groupId, memberId);
  await model.withEdge(key, async () => {
    const before = model.state(key);
    const path = `/v1.0/groups/${groupId}/members/${memberId}/$ref`;
    const describe = `DELETE ${path} (edge ${key}, was ${before})`;
    const answer = await client.send('DELETE', path, { token: pool.appToken });
    stats.record('remove', describe, answer);
    let after: EdgeState;
    if (answer.failure !== undefined) {
      if (answer.failure === 'timeout') model.taint(key);
      after = 'unknown';
    } else if (answer.status === 204) {
      if (before === 'absent') stats.violation(`${describe}: 204, but the edge did not exist (expected 404)`);
      after = 'absent';
    } else if (answer.status === 404) {
      if (before === 'present') stats.violation(`${describe}: 404, but the edge existed`);
      if (answer.json?.error?.code !== 'Request_ResourceNotFound') stats.violation(`${describe}: 404 with code ${String(answer.json?.error?.code)}`);
      after = 'absent';
    } else if (answer.status === 429 || answer.status === 503) {
      after = before === 'absent' ? 'absent' : 'unknown';
    } else {
      stats.violation(`${describe}: unexpected ${answer.status} ${answer.text.slice(0, 200)}`);
      after = 'unknown';
    }
    model.set(key, after);
  });
}

/** Compares a listing with the model for every edge no client touched while it was read. */
function judgeListing(stats: PhaseStats, model: EdgeModel, describe: string, answer: Answer, candidates: ReadonlyMap<string, string>, versions: ReadonlyMap<string, number>): void {
  if (answer.failure !== undefined || answer.status === 429 || answer.status === 503) return;
  if (answer.status !== 200 || !Array.isArray(answer.json?.value)) {
    stats.violation(`${describe}: unexpected ${answer.status} ${answer.text.slice(0, 200)}`);
    return;
  }
  if (answer.json['@odata.nextLink'] !== undefined) stats.violation(`${describe}: a second page for fewer than 999 entries`);
  const listed = new Set<string>();
  for (const entry of answer.json.value as { id?: unknown }[]) {
    const id = String(entry.id);
    if (listed.has(id)) stats.violation(`${describe}: ${id} listed twice`);
    listed.add(id);
    if (!candidates.has(id)) stats.violation(`${describe}: lists ${id}, which no add could have made`);
  }
  for (const [id, key] of candidates) {
    if (!model.isStableSince(key, versions.get(key) ?? -1)) continue;
    const state = model.state(key);
    if (state === 'unknown') continue;
    if ((state === 'present') !== listed.has(id)) stats.violation(`${describe}: ${id} is ${listed.has(id) ? 'listed' : 'not listed'}, but the edge is ${state}`);
  }
}

async function readMembers(context: WorkloadContext, stats: PhaseStats, groupId: string): Promise<void> {
  const { model, client, pool } = context;
  // Candidates: far id -> edge key. Members are users, and groups earlier in the list.
  const candidates = new Map<string, string>();
  for (const user of pool.users) candidates.set(user, edgeKey(groupId, user));
  for (const group of pool.groups.slice(0, pool.groups.indexOf(groupId))) candidates.set(group, edgeKey(groupId, group));
  const versions = new Map([...candidates.values()].map((key) => [key, model.version(key)] as const));
  const path = `/v1.0/groups/${groupId}/members?$top=999`;
  const answer = await client.send('GET', path, { token: pool.appToken });
  stats.record('readMembers', `GET ${path}`, answer);
  judgeListing(stats, model, `GET ${path}`, answer, candidates, versions);
}

async function readMemberOf(context: WorkloadContext, stats: PhaseStats, userId: string): Promise<void> {
  const { model, client, pool, random } = context;
  const candidates = new Map(pool.groups.map((group) => [group, edgeKey(group, userId)] as const));
  const versions = new Map([...candidates.values()].map((key) => [key, model.version(key)] as const));
  // Half through /me with the user's own token, half through /users/{id} with the app's.
  const viaMe = random.chance(0.5);
  const path = viaMe ? '/v1.0/me/memberOf?$top=999' : `/v1.0/users/${userId}/memberOf?$top=999`;
  const answer = await client.send('GET', path, { token: viaMe ? pool.userTokens.get(userId)! : pool.appToken });
  stats.record('readMemberOf', `GET ${path} (user ${userId})`, answer);
  judgeListing(stats, model, `GET ${path} (user ${userId})`, answer, candidates, versions);
}
