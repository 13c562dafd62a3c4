/**
 * Issue 12, item 1 for ownership: every committed change of a group's owners writes exactly one
 * change record, in the owner partition beside the edge, and none for a change that did not
 * commit; GET /groups/delta with $select=owners replays them into what a direct read shows.
 * Through real HTTP, with store faults from the test proxy.
 */
import { getCosmosStore } from '../../src/store/cosmosStore';
import { listChangesSince } from '../../src/changes/changeReads';
import type { ChangeRecord } from '../../src/changes/changeLog';
import type { ProxiedRequest } from '../support/faultProxy';
import { TestService, type TestResponse } from '../support/testService';

let service: TestService;
beforeAll(async () => {
  service = await TestService.start();
});
afterAll(() => service.stop());
afterEach(() => {
  service.proxy.rule = () => undefined;
});

const bind = (id: string) => `https://graph.microsoft.com/v1.0/users/${id}`;
const addOwner = (groupId: string, userId: string) => service.request('POST', `/v1.0/groups/${groupId}/owners/$ref`, { body: { '@odata.id': bind(userId) } });
const removeOwner = (groupId: string, userId: string) => service.request('DELETE', `/v1.0/groups/${groupId}/owners/${userId}/$ref`);
const patchGroup = (groupId: string, body: Record<string, unknown>) => service.request('PATCH', `/v1.0/groups/${groupId}`, { body });

/** A group created by the app with these owners bound (an app caller is no owner itself). */
async function groupOwnedBy(...ownerIds: string[]): Promise<{ id: string }> {
  return service.createGroup({ 'owners@odata.bind': ownerIds.map(bind) });
}

/** The owner records of a group, as the store holds them. */
async function ownerRecords(groupId: string): Promise<ChangeRecord[]> {
  const records = await listChangesSince((await getCosmosStore()).memberships, 0, { tenantId: service.tenantId, groupIds: [groupId] });
  return records.filter((record) => record.changeType === 'ownerAdded' || record.changeType === 'ownerRemoved').sort((a, b) => a.atMs - b.atMs || a.id.localeCompare(b.id));
}

const summary = (records: readonly ChangeRecord[]) => records.map((record) => [record.changeType, record.ownerId]);

async function ownersOf(groupId: string): Promise<string[]> {
  const response = await service.request('GET', `/v1.0/groups/${groupId}/owners?$top=999`);
  expect(response.status).toBe(200);
  return (response.json.value as { id: string }[]).map((owner) => owner.id).sort();
}

const partitionOf = (request: ProxiedRequest) => String(request.headers['x-ms-documentdb-partitionkey']);
const isBatch = (request: ProxiedRequest) => request.headers['x-ms-cosmos-is-batch-request'] !== undefined;
/** The transactional batch of an owner change of `groupId` (the edge and its record). */
const isOwnerBatchOf = (groupId: string) => (request: ProxiedRequest) => request.method === 'POST' && isBatch(request) && partitionOf(request).includes(`|owner|${groupId}`);

describe('the change log of ownership', () => {
  it('an add and a removal write exactly one record each, in the owner partition; refused ones write none', async () => {
    const [first, second] = [await service.createUser(), await service.createUser()];
    const group = await groupOwnedBy(first.id);
    // Owners bound at creation: the group's creation record stands for them (the group did not exist before).
    expect(await ownerRecords(group.id)).toEqual([]);

    expect((await addOwner(group.id, second.id)).status).toBe(204);
    expect((await addOwner(group.id, second.id)).status).toBe(400);
    expect((await removeOwner(group.id, first.id)).status).toBe(204);
    expect((await removeOwner(group.id, first.id)).status).toBe(404);
    expect((await removeOwner(group.id, second.id)).status).toBe(400);

    const records = await ownerRecords(group.id);
    expect(summary(records)).toEqual([
      ['ownerAdded', second.id],
      ['ownerRemoved', first.id],
    ]);
    for (const record of records) {
      expect(record).toMatchObject({ pk: `${service.tenantId}|owner|${group.id}`, tenantId: service.tenantId, groupId: group.id, kind: 'change' });
      expect(record.memberId).toBeUndefined();
    }
    expect(await ownersOf(group.id)).toEqual([second.id]);
  });

  it('owners@odata.bind at PATCH writes one record per owner bound', async () => {
    const [owner, third, fourth] = [await service.createUser(), await service.createUser(), await service.createUser()];
    const group = await groupOwnedBy(owner.id);
    expect((await patchGroup(group.id, { description: 'bound', 'owners@odata.bind': [bind(third.id), bind(fourth.id)] })).status).toBe(204);
    const records = summary(await ownerRecords(group.id));
    expect(records).toHaveLength(2);
    expect(records).toEqual(
      expect.arrayContaining([
        ['ownerAdded', third.id],
        ['ownerAdded', fourth.id],
      ]),
    );
  });

  it('a store fault on the batch of an add or a removal: 503, the owners unchanged, no record', async () => {
    const [first, second] = [await service.createUser(), await service.createUser()];
    const group = await groupOwnedBy(first.id);
    service.proxy.rule = (request) => (isOwnerBatchOf(group.id)(request) ? { kind: 'status', status: 503 } : undefined);
    const failedAdd = await addOwner(group.id, second.id);
    expect(failedAdd.status).toBe(503);
    expect(failedAdd.headers.get('retry-after')).not.toBeNull();
    service.proxy.rule = () => undefined;
    expect(await ownersOf(group.id)).toEqual([first.id]);
    expect(await ownerRecords(group.id)).toEqual([]);

    expect((await addOwner(group.id, second.id)).status).toBe(204);
    service.proxy.rule = (request) => (isOwnerBatchOf(group.id)(request) ? { kind: 'status', status: 503 } : undefined);
    expect((await removeOwner(group.id, first.id)).status).toBe(503);
    service.proxy.rule = () => undefined;
    expect(await ownersOf(group.id)).toEqual([first.id, second.id].sort());
    expect(summary(await ownerRecords(group.id))).toEqual([['ownerAdded', second.id]]);
  });

  it('a PATCH bind cut short by a store fault midway: the bind that failed has no record, the one taken back has its add and its compensating removal', async () => {
    const [owner, third, fourth] = [await service.createUser(), await service.createUser(), await service.createUser()];
    const group = await groupOwnedBy(owner.id);
    // The first owner's batch commits, the second's fails: the PATCH takes the first back.
    let batches = 0;
    service.proxy.rule = (request) => (isOwnerBatchOf(group.id)(request) && (batches += 1) === 2 ? { kind: 'status', status: 503 } : undefined);
    const response = await patchGroup(group.id, { 'owners@odata.bind': [bind(third.id), bind(fourth.id)] });
    expect(response.status).toBe(503);
    service.proxy.rule = () => undefined;
    expect(await ownersOf(group.id)).toEqual([owner.id]);
    expect(summary(await ownerRecords(group.id))).toEqual([
      ['ownerAdded', third.id],
      ['ownerRemoved', third.id],
    ]);
  });

  it('a PATCH whose group write fails after its binds committed takes them back with a compensating record each', async () => {
    const [owner, third] = [await service.createUser(), await service.createUser()];
    const group = await groupOwnedBy(owner.id);
    service.proxy.rule = (request) => (request.method === 'PUT' && request.path.includes(`/colls/directory/docs/${group.id}`) ? { kind: 'status', status: 503 } : undefined);
    expect((await patchGroup(group.id, { description: 'not applied', 'owners@odata.bind': [bind(third.id)] })).status).toBe(503);
    service.proxy.rule = () => undefined;
    expect(await ownersOf(group.id)).toEqual([owner.id]);
    expect(summary(await ownerRecords(group.id))).toEqual([
      ['ownerAdded', third.id],
      ['ownerRemoved', third.id],
    ]);
  });

  it("a user's deletion writes one ownerRemoved per group it owned; a group's deletion none per owner (its groupDeleted stands for them)", async () => {
    const [leaving, staying] = [await service.createUser(), await service.createUser()];
    const [one, two] = [await groupOwnedBy(leaving.id, staying.id), await groupOwnedBy(staying.id)];
    expect((await addOwner(two.id, leaving.id)).status).toBe(204);
    expect((await service.request('DELETE', `/v1.0/users/${leaving.id}`)).status).toBe(204);
    expect(summary(await ownerRecords(one.id))).toEqual([['ownerRemoved', leaving.id]]);
    expect(summary(await ownerRecords(two.id))).toEqual([
      ['ownerAdded', leaving.id],
      ['ownerRemoved', leaving.id],
    ]);

    expect((await service.request('DELETE', `/v1.0/groups/${one.id}`)).status).toBe(204);
    expect(summary(await ownerRecords(one.id))).toEqual([['ownerRemoved', leaving.id]]);
    const all = await listChangesSince((await getCosmosStore()).memberships, 0, { tenantId: service.tenantId, groupIds: [one.id] });
    expect(all.filter((record) => record.changeType === 'groupDeleted')).toHaveLength(1);
  });
});

type Replica = Map<string, { members: Set<string>; owners: Set<string> }>;
interface RelationEntry {
  id: string;
  '@odata.type': string;
  '@removed'?: unknown;
}
interface DeltaEntry {
  id: string;
  '@removed'?: unknown;
  'members@delta'?: RelationEntry[];
  'owners@delta'?: RelationEntry[];
}

/** A delta client: follows nextLinks to the deltaLink, applying every page to `replica`; returns the entries and the deltaLink. */
async function follow(path: string, replica: Replica): Promise<{ deltaLink: string; entries: DeltaEntry[] }> {
  const entries: DeltaEntry[] = [];
  let next: string | undefined = path;
  for (let guard = 0; guard < 50 && next !== undefined; guard += 1) {
    const response: TestResponse = await service.request('GET', next);
    expect(response.status).toBe(200);
    for (const entry of response.json.value as DeltaEntry[]) {
      entries.push(entry);
      if (entry['@removed'] !== undefined) {
        replica.delete(entry.id);
        continue;
      }
      const state = replica.get(entry.id) ?? { members: new Set<string>(), owners: new Set<string>() };
      for (const [relation, changes] of [
        ['members', entry['members@delta']],
        ['owners', entry['owners@delta']],
      ] as const) {
        for (const change of changes ?? []) {
          if (change['@removed'] === undefined) state[relation].add(change.id);
          else state[relation].delete(change.id);
        }
      }
      replica.set(entry.id, state);
    }
    const deltaLink = response.json['@odata.deltaLink'] as string | undefined;
    if (deltaLink !== undefined) return { deltaLink: deltaLink.slice(service.baseUrl.length), entries };
    next = (response.json['@odata.nextLink'] as string).slice(service.baseUrl.length);
  }
  throw new Error('no deltaLink');
}

/** A deltaLink for `query` whose watermark is `sinceMs` (the token is ours to read: base64url JSON with `w`, as the 410 test in delta.test.ts forges one). */
async function deltaLinkFrom(query: string, sinceMs: number): Promise<string> {
  const latest = await service.request('GET', `/v1.0/groups/delta?${query}&$deltatoken=latest`);
  const link = new URL(latest.json['@odata.deltaLink'] as string);
  const state = JSON.parse(Buffer.from(link.searchParams.get('$deltatoken')!, 'base64url').toString('utf8')) as { w: number };
  return `${link.pathname}?$deltatoken=${Buffer.from(JSON.stringify({ ...state, w: sinceMs })).toString('base64url')}`;
}

const idFilter = (ids: readonly string[]) => encodeURIComponent(ids.map((id) => `id eq '${id}'`).join(' or '));
const ownersIn = (replica: Replica, groupId: string) => [...(replica.get(groupId)?.owners ?? [])].sort();

describe('GET /groups/delta with $select=owners', () => {
  it('replays owner adds, removals, PATCH binds and a deleted owner into exactly the owners a direct read shows', async () => {
    const users = [await service.createUser(), await service.createUser(), await service.createUser(), await service.createUser()];
    const [first, second] = [await groupOwnedBy(users[0]!.id), await groupOwnedBy(users[0]!.id, users[1]!.id)];
    const ids = [first.id, second.id];
    const replica: Replica = new Map();
    const sync = await follow(`/v1.0/groups/delta?$filter=${idFilter(ids)}&$select=displayName,owners`, replica);
    expect(sync.entries.find((entry) => entry.id === second.id)!['owners@delta']).toEqual(
      expect.arrayContaining([
        { '@odata.type': '#microsoft.graph.user', id: users[0]!.id },
        { '@odata.type': '#microsoft.graph.user', id: users[1]!.id },
      ]),
    );
    expect(sync.entries.every((entry) => entry['members@delta'] === undefined)).toBe(true);
    for (const id of ids) expect(ownersIn(replica, id)).toEqual(await ownersOf(id));

    expect((await addOwner(first.id, users[2]!.id)).status).toBe(204);
    expect((await removeOwner(first.id, users[0]!.id)).status).toBe(204);
    const round = await follow(sync.deltaLink, replica);
    const entry = round.entries.find((candidate) => candidate.id === first.id)!;
    expect(entry['owners@delta']).toEqual(
      expect.arrayContaining([
        { '@odata.type': '#microsoft.graph.user', id: users[2]!.id },
        { '@odata.type': '#microsoft.graph.user', id: users[0]!.id, '@removed': { reason: 'deleted' } },
      ]),
    );
    // Owner records are no member changes.
    expect(entry['members@delta']).toBeUndefined();
    for (const id of ids) expect(ownersIn(replica, id)).toEqual(await ownersOf(id));

    expect((await patchGroup(second.id, { 'owners@odata.bind': [bind(users[3]!.id)] })).status).toBe(204);
    expect((await service.request('DELETE', `/v1.0/users/${users[1]!.id}`)).status).toBe(204);
    await follow(round.deltaLink, replica);
    expect(ownersIn(replica, second.id)).toEqual([users[0]!.id, users[3]!.id].sort());
    for (const id of ids) expect(ownersIn(replica, id)).toEqual(await ownersOf(id));
  });

  it('without owners selected, an owner change is not reported: the group is not in the round, and no members@delta names an owner', async () => {
    const [owner, added, member] = [await service.createUser(), await service.createUser(), await service.createUser()];
    const group = await groupOwnedBy(owner.id);
    const filter = `$filter=${idFilter([group.id])}`;
    // Tokens whose watermark is now, past the group's creation record (a round reads lifecycle
    // records again for a minute, and would report the group for it: src/changes/delta.ts).
    const since = Date.now();
    const links = await Promise.all([`${filter}&$select=displayName,members`, filter, `${filter}&$select=displayName,owners`].map((query) => deltaLinkFrom(query, since)));
    expect((await addOwner(group.id, added.id)).status).toBe(204);
    const [membersOnly, plain, owners] = await Promise.all(links.map(async (link) => (await follow(link, new Map())).entries));
    expect(membersOnly).toEqual([]);
    expect(plain).toEqual([]);
    expect(owners).toEqual([{ id: group.id, displayName: expect.any(String) as unknown, 'owners@delta': [{ '@odata.type': '#microsoft.graph.user', id: added.id }] }]);

    // A member add after it reports the group with its members only.
    expect((await service.addMember(group.id, member.id)).status).toBe(204);
    const after = await follow(links[0]!, new Map());
    expect(after.entries).toEqual([{ id: group.id, displayName: expect.any(String) as unknown, 'members@delta': [{ '@odata.type': '#microsoft.graph.user', id: member.id }] }]);
  });
});
