/**
 * Issue 11, item 2: the nested-group closure cannot lag the edges silently. Every nesting change
 * is pending in the tenant's journal (the nesting guard, src/membership/nestingGuard.ts) from
 * before its edge write until its closure update ended; readers finish what affects them, the
 * timer the rest (src/membership/closureJournal.ts). Concurrent changes, with and without store
 * faults in the middle, must leave the closure exactly equal to the one recomputed from the edges.
 */
import { randomUUID } from 'node:crypto';
import { GraphError } from '../../src/http/errors';
import { checkClosure } from '../../src/membership/closureCheck';
import { finishPendingNestings } from '../../src/membership/closureJournal';
import { NestingCommitTurns } from '../../src/membership/nestingCommits';
import { markEntry, nestingLimits, type PendingNesting } from '../../src/membership/nestingGuard';
import { reconcileMemberships } from '../../src/membership/reconciler';
import { getCosmosStore } from '../../src/store/cosmosStore';
import { repositoriesOver } from '../../src/store/repositories';
import type { ProxiedRequest } from '../support/faultProxy';
import { TestService } from '../support/testService';

jest.setTimeout(180_000);

let service: TestService;
beforeAll(async () => {
  service = await TestService.start();
});
afterAll(() => service.stop());
afterEach(() => {
  service.proxy.rule = () => undefined;
});

const nest = (groupId: string, memberId: string) => service.request('POST', `/v1.0/groups/${groupId}/members/$ref`, { body: { '@odata.id': `https://graph.microsoft.com/v1.0/groups/${memberId}` } });
const unnest = (groupId: string, memberId: string) => service.request('DELETE', `/v1.0/groups/${groupId}/members/${memberId}/$ref`);
const isClosureWrite = (request: ProxiedRequest) => request.method !== 'GET' && String(request.headers['x-ms-documentdb-partitionkey']).includes('|closure|');

/** The changes the tenant's journal has pending (the guard's entries that no mark settled). */
async function journal(): Promise<readonly PendingNesting[]> {
  return (await repositoriesOver(await getCosmosStore()).memberships.readNestingGuard(service.tenantId)).pending;
}

async function closureMismatches(): Promise<unknown[]> {
  return [...(await checkClosure((await getCosmosStore()).memberships, { tenantId: service.tenantId })).mismatches];
}

/** Stored group-side nestings among `groups`: group -> its direct member groups. */
async function storedNestings(groups: readonly string[]): Promise<Map<string, Set<string>>> {
  const { memberships } = await getCosmosStore();
  const { resources } = await memberships.items
    .query<{ groupId: string; objectId: string }>({
      query: "SELECT c.groupId, c.objectId FROM c WHERE c.tenantId = @tenantId AND c.kind = 'member' AND c.farType = 'group'",
      parameters: [{ name: '@tenantId', value: service.tenantId }],
    })
    .fetchAll();
  const wanted = new Set(groups);
  const edges = new Map<string, Set<string>>();
  for (const { groupId, objectId } of resources) if (wanted.has(groupId)) edges.set(groupId, (edges.get(groupId) ?? new Set()).add(objectId));
  return edges;
}

/** The groups above `groupId` by the stored edges. */
function aboveByEdges(edges: Map<string, Set<string>>, groupId: string): string[] {
  const parents = (child: string) => [...edges].filter(([, members]) => members.has(child)).map(([parent]) => parent);
  const found = new Set<string>();
  const stack = [groupId];
  while (stack.length > 0) {
    for (const parent of parents(stack.pop()!)) {
      if (found.has(parent)) continue;
      found.add(parent);
      stack.push(parent);
    }
  }
  return [...found].sort();
}

const idsOf = (response: { json: { value?: { id: string }[] } }) => (response.json.value ?? []).map((entry) => entry.id).sort();

/** A replace of the tenant's guard document (the only write that nestings contend for). */
const isGuardReplace = (request: ProxiedRequest) => request.method === 'PUT' && request.path.endsWith('/docs/nesting');

/** The documents of the tenant's journal partition as stored: the guard's raw entries and the marks' entry ids. */
async function storedJournal(): Promise<{ listed: string[]; marked: string[] }> {
  const partitionKey = `${service.tenantId}|nesting`;
  const { resources } = await (
    await getCosmosStore()
  ).memberships.items
    .query<{ kind: string; pending?: { id: string }[]; entryId?: string }>({ query: 'SELECT * FROM c WHERE c.pk = @pk', parameters: [{ name: '@pk', value: partitionKey }] }, { partitionKey })
    .fetchAll();
  return {
    listed: resources.flatMap((document) => (document.kind === 'nestingGuard' ? (document.pending ?? []).map((entry) => entry.id) : [])),
    marked: resources.flatMap((document) => (document.kind === 'nestingMark' && document.entryId !== undefined ? [document.entryId] : [])),
  };
}

/** Random adds and removals of nestings among `groups`, `clients` at once, `rounds` times. */
async function churn(groups: readonly string[], rounds: number, clients: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const answers = await Promise.all(
      Array.from({ length: clients }, () => {
        const parent = groups[Math.floor(Math.random() * groups.length)]!;
        const child = groups[Math.floor(Math.random() * groups.length)]!;
        return Math.random() < 0.65 ? nest(parent, child) : unnest(parent, child);
      }),
    );
    statuses.push(...answers.map((answer) => answer.status));
  }
  return statuses;
}

describe('the closure journal', () => {
  it('a closure update cut short by a store fault after the edge write: the add stands (204), the entry stays pending, the next reader finishes it before answering', async () => {
    const [top, middle, bottom] = await Promise.all([service.createGroup(), service.createGroup(), service.createGroup()]);
    expect((await nest(top.id, middle.id)).status).toBe(204);
    // Every closure write fails: the edge commits, its closure update does not.
    service.proxy.rule = (request) => (isClosureWrite(request) ? { kind: 'status', status: 503 } : undefined);
    const cut = await nest(middle.id, bottom.id);
    service.proxy.rule = () => undefined;
    expect(cut.status).toBe(204);
    expect(await service.storedEdges(middle.id, bottom.id)).toEqual({ groupSide: true, memberSide: true });
    // Visible, not silent: the journal lists it while the documents lag.
    expect(await journal()).toEqual([expect.objectContaining({ groupId: middle.id, memberId: bottom.id, change: 'add', edgeComplete: true })]);
    expect((await closureMismatches()).length).toBeGreaterThan(0);
    // The next reader of that closure finishes the update before it answers, and the entry goes.
    expect(idsOf(await service.request('GET', `/v1.0/groups/${bottom.id}/transitiveMemberOf`))).toEqual([top.id, middle.id].sort());
    expect(await closureMismatches()).toEqual([]);
    expect(await journal()).toEqual([]);
    // A retry is the duplicate 400, and the closure stays right.
    expect((await nest(middle.id, bottom.id)).status).toBe(400);
    expect(await closureMismatches()).toEqual([]);
  });

  it('a removal cut short the same way is finished by the next writer of the tenant, even one that nests other groups', async () => {
    const [top, bottom, left, right] = await Promise.all([service.createGroup(), service.createGroup(), service.createGroup(), service.createGroup()]);
    const user = await service.createUser();
    expect((await nest(top.id, bottom.id)).status).toBe(204);
    expect((await service.addMember(bottom.id, user.id)).status).toBe(204);
    service.proxy.rule = (request) => (isClosureWrite(request) ? { kind: 'status', status: 503 } : undefined);
    expect((await unnest(top.id, bottom.id)).status).toBe(204);
    service.proxy.rule = () => undefined;
    expect(await journal()).toEqual([expect.objectContaining({ groupId: top.id, memberId: bottom.id, change: 'remove', edgeComplete: true })]);
    expect((await closureMismatches()).length).toBeGreaterThan(0);
    expect((await nest(left.id, right.id)).status).toBe(204);
    expect(await journal()).toEqual([]);
    expect(await closureMismatches()).toEqual([]);
    const check = await service.request('POST', `/v1.0/users/${user.id}/checkMemberGroups`, { body: { groupIds: [top.id, bottom.id] } });
    expect(check.json.value).toEqual([bottom.id]);
  });

  it('a closure update cut short halfway up is finished all the way up, even where its first document is already right: the nesting that would then close a ring is refused', async () => {
    const [top, middle, bottom, other, another] = await Promise.all([service.createGroup(), service.createGroup(), service.createGroup(), service.createGroup(), service.createGroup()]);
    expect((await nest(top.id, middle.id)).status).toBe(204);
    // Nesting bottom into middle rewrites middle's descendants, then top's, which fail: the update stops halfway up.
    const topsClosure = `${service.tenantId}|closure|${top.id}`;
    service.proxy.rule = (request) => (isClosureWrite(request) && String(request.headers['x-ms-documentdb-partitionkey']).includes(topsClosure) ? { kind: 'status', status: 503 } : undefined);
    expect((await nest(middle.id, bottom.id)).status).toBe(204);
    service.proxy.rule = () => undefined;
    expect(await journal()).toEqual([expect.objectContaining({ groupId: middle.id, memberId: bottom.id, edgeComplete: true })]);
    // The next writer finishes it. Middle's descendants already hold bottom; top's must too
    // before the entry is settled, or a check trusting the closure would miss the path.
    expect((await nest(other.id, another.id)).status).toBe(204);
    expect(await journal()).toEqual([]);
    expect(await closureMismatches()).toEqual([]);
    const ring = await nest(bottom.id, top.id);
    expect(ring.status).toBe(400);
    expect(ring.json.error.message).toBe('The nesting would create a cycle: the group is already a direct or indirect member of the member being added.');
  });

  it('one store fault in a read of the check, or in each closure write, costs a second try, not the nesting: 204, settled, and exact', async () => {
    const [top, middle, bottom] = await Promise.all([service.createGroup(), service.createGroup(), service.createGroup()]);
    expect((await nest(top.id, middle.id)).status).toBe(204);
    const failedOnce = new Set<string>();
    const firstTime = (key: string) => !failedOnce.has(key) && failedOnce.add(key) !== undefined;
    const isClosureRead = (request: ProxiedRequest) => request.method === 'GET' && String(request.headers['x-ms-documentdb-partitionkey']).includes('|closure|');
    service.proxy.rule = (request) =>
      (isClosureRead(request) && firstTime(`read ${request.path}`)) || (isClosureWrite(request) && firstTime(`write ${String(request.headers['x-ms-documentdb-partitionkey'])}`))
        ? { kind: 'status', status: 503 }
        : undefined;
    const answer = await nest(middle.id, bottom.id);
    service.proxy.rule = () => undefined;
    expect(answer.status).toBe(204);
    expect([...failedOnce].filter((key) => key.startsWith('write')).length).toBeGreaterThanOrEqual(3);
    expect(await journal()).toEqual([]);
    expect(await closureMismatches()).toEqual([]);
  });

  it('a nesting whose edge write failed leaves its entry for the timer, which settles it once no writer can write', async () => {
    const [parent, child] = await Promise.all([service.createGroup(), service.createGroup()]);
    service.proxy.rule = (request) => (request.method === 'POST' && String(request.headers['x-ms-documentdb-partitionkey']).includes('|member|') ? { kind: 'status', status: 503 } : undefined);
    expect((await nest(parent.id, child.id)).status).toBe(503);
    service.proxy.rule = () => undefined;
    expect(await journal()).toEqual([expect.objectContaining({ groupId: parent.id, memberId: child.id, change: 'add', writeEnded: true })]);
    const report = await finishPendingNestings(repositoriesOver(await getCosmosStore()).memberships, 0);
    expect(report.settled).toBe(1);
    expect(await journal()).toEqual([]);
    expect(await closureMismatches()).toEqual([]);
  });

  it('racing adds and removals of nestings from 12 clients leave the closure exactly equal to the one recomputed from the edges, and the journal empty', async () => {
    const groups = (await Promise.all(Array.from({ length: 10 }, () => service.createGroup()))).map((group) => group.id);
    const statuses = await churn(groups, 10, 12);
    // A 503 with Retry-After is the store's own timeout on an overloaded machine (the embedded
    // endpoint's scans), an honest answer: then its entry is left for the timer, as after a fault.
    expect(statuses.filter((status) => ![204, 400, 404, 429, 503].includes(status))).toEqual([]);
    expect(statuses.filter((status) => status === 204).length).toBeGreaterThan(20);
    // Without a 503 nothing may be left pending.
    expect(statuses.includes(503) ? [] : await journal()).toEqual([]);
    if (statuses.includes(503)) await finishPendingNestings(repositoriesOver(await getCosmosStore()).memberships, 0);
    expect(await closureMismatches()).toEqual([]);
  });

  it('racing changes under 503s on 15% of store requests: every lag is pending in the journal, readers answer as the edges say, and once the timer ran the closure equals the recompute', async () => {
    const groups = (await Promise.all(Array.from({ length: 10 }, () => service.createGroup()))).map((group) => group.id);
    service.proxy.rule = () => (Math.random() < 0.15 ? { kind: 'status', status: 503 } : undefined);
    const statuses = await churn(groups, 12, 12);
    service.proxy.rule = () => undefined;
    expect(statuses.filter((status) => ![204, 400, 404, 429, 503].includes(status))).toEqual([]);
    expect(statuses).toContain(503);
    const { memberships, directory } = await getCosmosStore();
    // The member sides a fault left half-written are what the ancestors are recomputed from: the reconciler's first.
    await reconcileMemberships(memberships, directory, { graceInMs: 0 });
    // Not silent: with no change pending, the closure is already exact.
    expect((await journal()).length === 0 ? await closureMismatches() : []).toEqual([]);
    // Readers answer as the edges say, pending or not.
    const edges = await storedNestings(groups);
    for (const group of groups) expect(idsOf(await service.request('GET', `/v1.0/groups/${group}/transitiveMemberOf?$top=999`))).toEqual(aboveByEdges(edges, group));
    const report = await finishPendingNestings(repositoriesOver(await getCosmosStore()).memberships, 0);
    expect(report.settled).toBe(report.recomputed);
    expect(await journal()).toEqual([]);
    expect(await closureMismatches()).toEqual([]);
  });
});

describe('the journal under contention', () => {
  it('a nesting replaces the guard once: the end of its closure update is a mark of its own, which contends with nobody', async () => {
    const groups = await Promise.all(Array.from({ length: 9 }, () => service.createGroup()));
    expect((await nest(groups[0]!.id, groups[1]!.id)).status).toBe(204);
    service.proxy.seen.length = 0;
    service.proxy.record = true;
    for (let index = 2; index < 8; index += 2) expect((await nest(groups[index]!.id, groups[index + 1]!.id)).status).toBe(204);
    expect((await unnest(groups[0]!.id, groups[1]!.id)).status).toBe(204);
    service.proxy.record = false;
    // 3 adds and a removal: one guard replace each, where committing and then removing the entry took two.
    expect(service.proxy.seen.filter(isGuardReplace).length).toBe(4);
    expect(await journal()).toEqual([]);
    // Each commit leaves the entries settled before it out of the guard, and deletes their marks.
    const stored = await storedJournal();
    expect(stored.listed.length).toBe(1);
    expect(stored.marked).toEqual(stored.listed);
    expect(await closureMismatches()).toEqual([]);
  });

  it('a duplicate nesting and the removal of a group that is not a member are answered before the journal: nothing is written', async () => {
    const [parent, child, stranger] = await Promise.all([service.createGroup(), service.createGroup(), service.createGroup()]);
    expect((await nest(parent.id, child.id)).status).toBe(204);
    const isJournalWrite = (request: ProxiedRequest) =>
      String(request.headers['x-ms-documentdb-partitionkey']).includes('|nesting') && request.method !== 'GET' && request.headers['x-ms-documentdb-isquery'] === undefined;
    const before = await storedJournal();
    service.proxy.seen.length = 0;
    service.proxy.record = true;
    const duplicate = await nest(parent.id, child.id);
    const missing = await unnest(parent.id, stranger.id);
    service.proxy.record = false;
    expect(duplicate.status).toBe(400);
    expect(duplicate.json.error.message).toBe("One or more added object references already exist for the following modified properties: 'members'.");
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('Request_ResourceNotFound');
    expect(service.proxy.seen.filter(isJournalWrite)).toEqual([]);
    expect(await storedJournal()).toEqual(before);
  });

  it('32 nestings at once in one tenant, no faults: every one is committed (204, no 429) at about one guard replace each, and the journal and the closure end settled and exact', async () => {
    const groups = (await Promise.all(Array.from({ length: 24 }, () => service.createGroup()))).map((group) => group.id);
    // 32 distinct pairs among 24 groups (a parent from the first 8 holds a child from the last 16): no cycle is possible.
    const pairs = Array.from({ length: 32 }, (_, index) => [groups[index % 8]!, groups[8 + (Math.floor(index / 2) % 16)]!] as const);
    service.proxy.seen.length = 0;
    service.proxy.record = true;
    const answers = await Promise.all(pairs.map(([parent, child]) => nest(parent, child)));
    service.proxy.record = false;
    expect(answers.map((answer) => answer.status)).toEqual(pairs.map(() => 204));
    // A change that loses its first replace commits in this instance's next turn, with the others
    // waiting there: at most one lost replace each. When each retried on its own, 16 nestings took
    // 63 replaces, and a few under load lost 16 times and answered 429.
    expect(service.proxy.seen.filter(isGuardReplace).length).toBeLessThanOrEqual(pairs.length + 8);
    expect(await journal()).toEqual([]);
    expect(await closureMismatches()).toEqual([]);
    const edges = await storedNestings(groups);
    for (const group of groups.slice(8)) expect(idsOf(await service.request('GET', `/v1.0/groups/${group}/transitiveMemberOf?$top=999`))).toEqual(aboveByEdges(edges, group));
  });

  it('a guard replace that lands behind a 503 counts as committed: the nesting is 204, listed once, and settled', async () => {
    const [parent, child, other, another] = await Promise.all([service.createGroup(), service.createGroup(), service.createGroup(), service.createGroup()]);
    // The guard exists (its first commit is a create, not a replace).
    expect((await nest(other.id, another.id)).status).toBe(204);
    const before = (await storedJournal()).listed;
    let lost = 0;
    service.proxy.rule = (request) => (isGuardReplace(request) && (lost += 1) === 1 ? { kind: 'answerLost', status: 503 } : undefined);
    const answer = await nest(parent.id, child.id);
    service.proxy.rule = () => undefined;
    expect(lost).toBe(1);
    expect(answer.status).toBe(204);
    expect(await service.storedEdges(parent.id, child.id)).toEqual({ groupSide: true, memberSide: true });
    // The replace that landed is the commit: no second entry for the same change, none left pending.
    const added = (await storedJournal()).listed.filter((id) => !before.includes(id));
    expect(added.length).toBe(1);
    expect(await journal()).toEqual([]);
    expect(idsOf(await service.request('GET', `/v1.0/groups/${child.id}/transitiveMemberOf`))).toEqual([parent.id]);
    expect(await closureMismatches()).toEqual([]);
  });

  it('changes that wait for the same turn commit with one replace, in order: each counts those ahead of it as pending', async () => {
    const { memberships } = repositoriesOver(await getCosmosStore());
    const turns = new NestingCommitTurns(nestingLimits);
    const [a, b, c, d] = Array.from({ length: 4 }, () => randomUUID());
    service.proxy.seen.length = 0;
    service.proxy.record = true;
    // The first change starts a turn at once; the two after it wait for the next one.
    const committed = await Promise.all([
      turns.commit(memberships, service.tenantId, { groupId: a!, memberId: b!, change: 'add' }),
      turns.commit(memberships, service.tenantId, { groupId: b!, memberId: a!, change: 'add' }),
      turns.commit(memberships, service.tenantId, { groupId: c!, memberId: d!, change: 'remove' }),
    ]);
    service.proxy.record = false;
    expect(service.proxy.seen.filter(isGuardReplace).length).toBe(2);
    const [first, second, third] = committed.map(({ own, before }) => ({ own, before: before.map((entry) => entry.id) }));
    expect(second!.before).toContain(first!.own.id);
    expect(third!.before.slice(-2)).toEqual([first!.own.id, second!.own.id]);
    expect(second!.before).not.toContain(third!.own.id);
    expect(turns.busy(memberships, service.tenantId)).toBe(false);
    const listed = (await journal()).map((entry) => entry.id);
    expect(listed.slice(-3)).toEqual([first!.own.id, second!.own.id, third!.own.id]);
    // These entries name no real groups: settled, they affect nothing after this test.
    await Promise.all(committed.map(({ own }) => markEntry(memberships, service.tenantId, own, { settled: true })));
    expect(await journal()).toEqual([]);
  });

  it('a turn whose journal read meets a store fault reads again: its changes commit, none answers 503', async () => {
    const { memberships } = repositoriesOver(await getCosmosStore());
    const turns = new NestingCommitTurns(nestingLimits);
    const isJournalRead = (request: ProxiedRequest) =>
      String(request.headers['x-ms-documentdb-partitionkey']).includes('|nesting') && request.method === 'POST' && request.headers['x-ms-documentdb-isquery'] !== undefined;
    let faulted = 0;
    service.proxy.rule = (request) => (isJournalRead(request) && (faulted += 1) === 1 ? { kind: 'status', status: 503 } : undefined);
    const committed = await turns.commit(memberships, service.tenantId, { groupId: randomUUID(), memberId: randomUUID(), change: 'add' });
    service.proxy.rule = () => undefined;
    expect(faulted).toBeGreaterThan(1);
    expect((await journal()).map((entry) => entry.id)).toContain(committed.own.id);
    await markEntry(memberships, service.tenantId, committed.own, { settled: true });
    expect(await journal()).toEqual([]);
  });

  it('a turn lists changes only up to maxPending: those beyond answer 429 with Retry-After and are not listed', async () => {
    const { memberships } = repositoriesOver(await getCosmosStore());
    // A tenant of its own: its guard fills up without touching this file's tenant.
    const tenantId = randomUUID();
    const turns = new NestingCommitTurns(nestingLimits);
    const change = () => ({ groupId: randomUUID(), memberId: randomUUID(), change: 'add' as const });
    // The first change starts a turn alone; the others wait for the next turn, which fills the guard.
    const first = turns.commit(memberships, tenantId, change());
    const rest = Array.from({ length: nestingLimits.maxPending + 1 }, () =>
      turns.commit(memberships, tenantId, change()).then(
        () => undefined,
        (error: unknown) => error,
      ),
    );
    await first;
    const refusals = (await Promise.all(rest)).filter((outcome) => outcome !== undefined);
    expect(refusals.length).toBe(2);
    for (const refusal of refusals) {
      expect(refusal).toBeInstanceOf(GraphError);
      expect((refusal as GraphError).status).toBe(429);
      expect((refusal as GraphError).headers['Retry-After']).toBe('1');
    }
    expect((await memberships.readNestingGuard(tenantId)).pending.length).toBe(nestingLimits.maxPending);
  });

  it('a retry after a lost commit checks after committing: a cycle found then is the 400, its entry is settled at once, and the next commit leaves it out', async () => {
    const [holder, held, other, another] = await Promise.all([service.createGroup(), service.createGroup(), service.createGroup(), service.createGroup()]);
    // "held into holder" passes its first check, but its commit is held back in the proxy while
    // the opposite nesting is made in full; its commit then loses (412), and the retry finds the cycle.
    let holdingBack: () => void = () => undefined;
    const heldBack = new Promise<void>((resolve) => {
      holdingBack = resolve;
    });
    let replaces = 0;
    service.proxy.rule = (request) => {
      if (!isGuardReplace(request) || (replaces += 1) > 1) return undefined;
      holdingBack();
      return { kind: 'delay', ms: 3_000 };
    };
    const first = nest(holder.id, held.id);
    await heldBack;
    expect((await nest(held.id, holder.id)).status).toBe(204);
    const refused = await first;
    service.proxy.rule = () => undefined;
    expect(refused.status).toBe(400);
    expect(refused.json.error.message).toBe('The nesting would create a cycle: the group is already a direct or indirect member of the member being added.');
    expect(await service.storedEdges(holder.id, held.id)).toEqual({ groupSide: false, memberSide: false });
    // Committed, then settled: listed in the guard with its mark, and pending for nobody.
    const afterRefusal = await storedJournal();
    const refusedEntry = afterRefusal.listed.at(-1)!;
    expect(afterRefusal.marked).toContain(refusedEntry);
    expect(await journal()).toEqual([]);
    // The next change's commit leaves it out of the guard and deletes its mark.
    expect((await nest(other.id, another.id)).status).toBe(204);
    const afterNext = await storedJournal();
    expect(afterNext.listed).not.toContain(refusedEntry);
    expect(afterNext.marked).not.toContain(refusedEntry);
    expect(idsOf(await service.request('GET', `/v1.0/groups/${held.id}/transitiveMemberOf`))).toEqual([]);
    expect(idsOf(await service.request('GET', `/v1.0/groups/${holder.id}/transitiveMemberOf`))).toEqual([held.id]);
    expect(await closureMismatches()).toEqual([]);
  });
});
