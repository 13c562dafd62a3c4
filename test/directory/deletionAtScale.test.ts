/**
 * Issue 10, item 3: deleting a group of 5,000 members and a user in 1,000 groups. The object is
 * invisible first; the cleanup of its edges is resumable: killed midway (the process serving the
 * DELETE dies), the reconciler finishes it.
 */
import { randomUUID } from 'node:crypto';
import { finishDirectoryChanges } from '../../src/directory/objectLifecycle';
import { groupSidePartition, memberSidePartition } from '../../src/membership/edges';
import { getCosmosStore } from '../../src/store/cosmosStore';
import { getRepositories } from '../../src/store/repositories';
import { SecondInstance } from '../support/secondInstance';
import { TestService } from '../support/testService';

jest.setTimeout(300_000);

let service: TestService;
beforeAll(async () => {
  service = await TestService.start();
});
afterAll(() => service.stop());
afterEach(() => {
  service.proxy.rule = () => undefined;
});

/**
 * Both sides of `count` memberships written straight to the store (through the API this would be
 * thousands of requests; the cleanup reads only what is stored): of `groupId` over new member
 * ids, or of `memberId` in new group ids.
 */
async function seedEdges(tenantId: string, pairs: readonly (readonly [groupId: string, memberId: string])[]): Promise<void> {
  const { memberships } = await getCosmosStore();
  const now = new Date().toISOString();
  const documents = pairs.flatMap(([groupId, memberId]) => {
    const shared = { tenantId, groupId, objectId: memberId, createdDateTime: now };
    return [
      { ...shared, id: memberId, pk: groupSidePartition(tenantId, groupId), kind: 'member', farType: 'user', far: { '@odata.type': '#microsoft.graph.user', id: memberId } },
      { ...shared, id: groupId, pk: memberSidePartition(tenantId, memberId), kind: 'memberOf', farType: 'group', far: { '@odata.type': '#microsoft.graph.group', id: groupId } },
    ];
  });
  for (let start = 0; start < documents.length; start += 64) await Promise.all(documents.slice(start, start + 64).map((document) => memberships.items.create(document)));
}

async function countEdgesNaming(tenantId: string, id: string): Promise<number> {
  const { memberships } = await getCosmosStore();
  const { resources } = await memberships.items
    .query<number>({
      query: "SELECT VALUE COUNT(1) FROM c WHERE c.tenantId = @tenant AND c.kind IN ('member', 'memberOf', 'owner') AND (c.objectId = @id OR c.groupId = @id)",
      parameters: [
        { name: '@tenant', value: tenantId },
        { name: '@id', value: id },
      ],
    })
    .fetchAll();
  return resources.reduce((sum, value) => sum + value, 0);
}

describe('deleting at scale', () => {
  it('a user in 1,000 groups: 204 with every edge in both directions gone', async () => {
    const user = await service.createUser();
    const groupIds = Array.from({ length: 1000 }, () => randomUUID());
    await seedEdges(
      service.tenantId,
      groupIds.map((groupId) => [groupId, user.id] as const),
    );
    expect(await countEdgesNaming(service.tenantId, user.id)).toBe(2000);
    const started = Date.now();
    const response = await service.request('DELETE', `/v1.0/users/${user.id}`);
    const elapsedMs = Date.now() - started;
    expect(response.status).toBe(204);
    expect(await countEdgesNaming(service.tenantId, user.id)).toBe(0);
    console.log(`DELETE of a user in 1,000 groups: ${elapsedMs} ms (embedded store)`);
  });

  it('a group of 5,000 members, its DELETE killed midway: invisible at once, and the reconciler finishes the cleanup', async () => {
    const group = await service.createGroup();
    // Five real users last (the cleanup goes in the order the store lists, so theirs go last).
    const readers = await Promise.all(Array.from({ length: 5 }, () => service.createUser()));
    const memberIds = [...Array.from({ length: 4995 }, () => randomUUID()), ...readers.map((reader) => reader.id)];
    await seedEdges(
      service.tenantId,
      memberIds.map((memberId) => [group.id, memberId] as const),
    );
    expect(await countEdgesNaming(service.tenantId, group.id)).toBe(10_000);

    // The DELETE runs on another process, whose edge deletes the proxy slows down, and which is
    // killed once part of the cleanup is done (as a host recycling an instance would).
    const second = await SecondInstance.start();
    service.proxy.rule = (request) => (request.method === 'DELETE' && request.path.includes('/docs/') ? { kind: 'delay', ms: 5 } : undefined);
    const deletion = fetch(`${second.baseUrl}/v1.0/groups/${group.id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${await service.adminToken()}` } }).catch(() => undefined);
    let remaining = 10_000;
    for (let polls = 0; polls < 600 && remaining > 6000; polls += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      remaining = await countEdgesNaming(service.tenantId, group.id);
    }
    await second.kill();
    await deletion;
    service.proxy.rule = () => undefined;
    const left = await countEdgesNaming(service.tenantId, group.id);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(10_000);

    // Invisible at once, on this instance too: the group is a 404, and no member's memberOf shows it.
    expect((await service.request('GET', `/v1.0/groups/${group.id}`)).status).toBe(404);
    expect((await service.request('GET', `/v1.0/groups/${group.id}/members`)).status).toBe(404);
    const { memberships } = await getCosmosStore();
    const { resources: stillIndexed } = await memberships.items
      .query<{ objectId: string }>({ query: "SELECT c.objectId FROM c WHERE c.kind = 'memberOf' AND c.groupId = @group", parameters: [{ name: '@group', value: group.id }] })
      .fetchAll();
    const readerIds = new Set(readers.map((reader) => reader.id));
    const readersStillIndexed = stillIndexed.filter((edge) => readerIds.has(edge.objectId));
    expect(readersStillIndexed.length).toBeGreaterThan(0);
    for (const { objectId } of readersStillIndexed) {
      const memberOf = await service.request('GET', `/v1.0/users/${objectId}/memberOf`);
      expect([memberOf.status, memberOf.json.value]).toEqual([200, []]);
    }

    const report = await finishDirectoryChanges(await getRepositories(), 0);
    expect(report.deletionsFinished).toBeGreaterThanOrEqual(1);
    expect(await countEdgesNaming(service.tenantId, group.id)).toBe(0);
    const pending = await (await getRepositories()).memberships.deletions.deletedIds(service.tenantId);
    expect(pending.has(group.id)).toBe(false);
  });
});
