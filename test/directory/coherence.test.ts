/**
 * Issue 10, item 2: after a DELETE or PATCH has answered, no instance acts on the old state. Two
 * instances (this process's host and a second process, sharing nothing but the store behind the
 * fault proxy) each remember the objects they have used; one deletes or renames, the other adds.
 */
import { finishDirectoryChanges } from '../../src/directory/objectLifecycle';
import { getCosmosStore } from '../../src/store/cosmosStore';
import { getRepositories } from '../../src/store/repositories';
import { parseJsonOrUndefined } from '../support/jsonText';
import { SecondInstance } from '../support/secondInstance';
import { TestService, type TestResponse } from '../support/testService';

jest.setTimeout(180_000);

let service: TestService;
let second: SecondInstance;
beforeAll(async () => {
  service = await TestService.start();
  second = await SecondInstance.start();
});
afterAll(async () => {
  await second?.stop();
  await service.stop();
});
afterEach(() => {
  service.proxy.rule = () => undefined;
});

/** A request to the second instance, with the admin token. */
async function onSecond(method: string, path: string, body?: unknown): Promise<TestResponse> {
  const response = await fetch(`${second.baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${await service.adminToken()}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: parseJsonOrUndefined(text) as TestResponse['json'] };
}

const reference = (id: string) => ({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${id}` });
const addOnSecond = (groupId: string, memberId: string) => onSecond('POST', `/v1.0/groups/${groupId}/members/$ref`, reference(memberId));

/** Every membership or owner edge of the tenant that names `id` at either end, as stored. */
async function edgesNaming(id: string): Promise<string[]> {
  const { memberships } = await getCosmosStore();
  const { resources } = await memberships.items
    .query<{ pk: string; id: string }>({
      query: "SELECT c.pk, c.id FROM c WHERE c.tenantId = @tenant AND c.kind IN ('member', 'memberOf', 'owner') AND (c.objectId = @id OR c.groupId = @id)",
      parameters: [
        { name: '@tenant', value: service.tenantId },
        { name: '@id', value: id },
      ],
    })
    .fetchAll();
  return resources.map((edge) => `${edge.pk}:${edge.id}`);
}

async function memberIdsOf(groupId: string, onInstance: 1 | 2): Promise<string[]> {
  const response = onInstance === 1 ? await service.request('GET', `/v1.0/groups/${groupId}/members`) : await onSecond('GET', `/v1.0/groups/${groupId}/members`);
  expect(response.status).toBe(200);
  return (response.json.value as { id: string }[]).map((member) => member.id);
}

/** The reconciler's pass over pending deletions and updates, with no grace period. */
async function finishChanges(): Promise<void> {
  await finishDirectoryChanges(await getRepositories(), 0);
}

describe('a DELETE on one instance, an add on the other', () => {
  it('in a loop: once the DELETE has answered, the other instance, which has both objects remembered, answers 404 and writes nothing', async () => {
    for (let round = 0; round < 12; round += 1) {
      const [group, user, other] = await Promise.all([service.createGroup(), service.createUser(), service.createUser()]);
      // The second instance reads (and remembers) the group and the user through adds.
      expect((await addOnSecond(group.id, other.id)).status).toBe(204);
      const elsewhere = await service.createGroup();
      expect((await addOnSecond(elsewhere.id, user.id)).status).toBe(204);

      const deleteUser = round % 2 === 0;
      const deleted = deleteUser ? user.id : group.id;
      expect((await service.request('DELETE', `/v1.0/${deleteUser ? 'users' : 'groups'}/${deleted}`)).status).toBe(204);

      const add = await addOnSecond(group.id, user.id);
      expect(add.status).toBe(404);
      expect(add.json.error.code).toBe('Request_ResourceNotFound');
      expect(await edgesNaming(deleted)).toEqual([]);
      expect((await onSecond('GET', `/v1.0/${deleteUser ? 'users' : 'groups'}/${deleted}`)).status).toBe(404);
      // The deleted user's other group (or the deleted group's own list) shows nothing of it.
      expect(deleteUser ? await memberIdsOf(elsewhere.id, 2) : []).toEqual([]);
    }
  });

  it('racing, 20 times: every answer is 204 or 404, no reader ever sees an edge of the deleted user, and none is left once the reconciler has passed', async () => {
    const group = await service.createGroup();
    const watcher = await service.createUser();
    expect((await addOnSecond(group.id, watcher.id)).status).toBe(204);
    const users = await Promise.all(Array.from({ length: 20 }, () => service.createUser()));
    const statuses: number[] = [];
    for (const user of users) {
      // The second instance remembers the user before the race.
      const warm = await service.createGroup();
      expect((await addOnSecond(warm.id, user.id)).status).toBe(204);
      const [deleted, added] = await Promise.all([service.request('DELETE', `/v1.0/users/${user.id}`), addOnSecond(group.id, user.id)]);
      expect(deleted.status).toBe(204);
      statuses.push(added.status);
      // From the moment the DELETE has answered, neither instance shows the user.
      expect(await memberIdsOf(group.id, 1)).toEqual([watcher.id]);
      expect(await memberIdsOf(group.id, 2)).toEqual([watcher.id]);
      const count = await service.request('GET', `/v1.0/groups/${group.id}/members/$count`, { headers: { ConsistencyLevel: 'eventual' } });
      expect(count.text).toBe('1');
    }
    expect(statuses.every((status) => status === 204 || status === 404)).toBe(true);
    await finishChanges();
    for (const user of users) expect(await edgesNaming(user.id)).toEqual([]);
  });

  it('under store faults (503 on one request in eight): every answer is 204, 404 or a 429/503 with Retry-After, and after the reconciler no edge names a deleted object', async () => {
    const group = await service.createGroup();
    const users = await Promise.all(Array.from({ length: 16 }, () => service.createUser()));
    let counter = 0;
    service.proxy.rule = () => (++counter % 8 === 0 ? { kind: 'status', status: 503 } : undefined);
    const answers: TestResponse[] = [];
    for (const user of users) {
      const [deleted, added] = await Promise.all([service.request('DELETE', `/v1.0/users/${user.id}`), addOnSecond(group.id, user.id)]);
      answers.push(deleted, added);
    }
    service.proxy.rule = () => undefined;
    expect(answers.filter((answer) => ![204, 404, 429, 503].includes(answer.status)).map((answer) => answer.status)).toEqual([]);
    expect(answers.filter((answer) => answer.status >= 429 && answer.headers.get('retry-after') === null).map((answer) => answer.status)).toEqual([]);
    // A DELETE that failed is retried, as a client would.
    for (const user of users) expect([204, 404]).toContain((await service.request('DELETE', `/v1.0/users/${user.id}`)).status);
    await finishChanges();
    for (const user of users) expect(await edgesNaming(user.id)).toEqual([]);
    expect(await memberIdsOf(group.id, 2)).toEqual([]);
  });
});

describe('a PATCH on one instance, reads and adds on the other', () => {
  it('a renamed user shows its new displayName in every members page at once, on both instances, and an add from a remembered copy writes the new name', async () => {
    const [first, secondGroup, later, user] = await Promise.all([service.createGroup(), service.createGroup(), service.createGroup(), service.createUser({ displayName: 'Before Rename' })]);
    expect((await addOnSecond(first.id, user.id)).status).toBe(204);
    expect((await addOnSecond(secondGroup.id, user.id)).status).toBe(204);
    expect((await service.request('PATCH', `/v1.0/users/${user.id}`, { body: { displayName: 'After Rename' } })).status).toBe(204);
    for (const groupId of [first.id, secondGroup.id]) {
      for (const instance of [1, 2] as const) {
        const response = instance === 1 ? await service.request('GET', `/v1.0/groups/${groupId}/members`) : await onSecond('GET', `/v1.0/groups/${groupId}/members`);
        expect((response.json.value as { displayName: string }[]).map((member) => member.displayName)).toEqual(['After Rename']);
      }
    }
    // The second instance remembers the user as 'Before Rename': its add must not write that copy.
    expect((await addOnSecond(later.id, user.id)).status).toBe(204);
    const members = await onSecond('GET', `/v1.0/groups/${later.id}/members`);
    expect((members.json.value as { displayName: string }[]).map((member) => member.displayName)).toEqual(['After Rename']);
  });

  it("a renamed group shows its new displayName in its members' memberOf pages at once", async () => {
    const [group, user] = await Promise.all([service.createGroup({ displayName: 'Old Name' }), service.createUser()]);
    expect((await addOnSecond(group.id, user.id)).status).toBe(204);
    expect((await onSecond('PATCH', `/v1.0/groups/${group.id}`, { displayName: 'New Name' })).status).toBe(204);
    const memberOf = await service.request('GET', `/v1.0/users/${user.id}/memberOf`);
    expect((memberOf.json.value as { displayName: string }[]).map((parent) => parent.displayName)).toEqual(['New Name']);
    const listed = await service.request('GET', `/v1.0/groups?$filter=id eq '${group.id}'`);
    expect((listed.json.value as { displayName: string }[]).map((found) => found.displayName)).toEqual(['New Name']);
  });
});
