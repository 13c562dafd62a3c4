import { randomUUID } from 'node:crypto';
import { reconcileMemberships } from '../../src/membership/reconciler';
import { getCosmosStore } from '../../src/store/cosmosStore';
import { isGroupSideCreate, isMemberSideWrite } from '../support/faultProxy';
import { TestService } from '../support/testService';

let service: TestService;
beforeAll(async () => {
  service = await TestService.start();
});
afterAll(() => service.stop());
afterEach(() => {
  service.proxy.rule = () => undefined;
});

describe('safe retries (SPEC section 4)', () => {
  it('replays the original answer for the same Idempotency-Key, not the duplicate 400', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    const headers = { 'Idempotency-Key': randomUUID() };
    expect((await service.addMember(group.id, user.id, { headers })).status).toBe(204);
    expect((await service.addMember(group.id, user.id, { headers })).status).toBe(204);
    expect((await service.addMember(group.id, user.id)).status).toBe(400);
  });

  it('replays a 201 with the group for the same client-request-id', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    const headers = { 'client-request-id': randomUUID() };
    const path = `/v1.0/users/${user.id}/joinedGroups/$ref`;
    const body = { '@odata.id': `https://graph.microsoft.com/v1.0/groups/${group.id}` };
    const first = await service.request('POST', path, { headers, body });
    const retry = await service.request('POST', path, { headers, body });
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.json.id).toBe(group.id);
  });

  it('does not replay for a different caller or a different body under the same key', async () => {
    const [group, user, other] = [await service.createGroup(), await service.createUser(), await service.createUser()];
    const headers = { 'Idempotency-Key': randomUUID() };
    await service.addMember(group.id, user.id, { headers });
    const otherApp = await service.token({ app: { roles: ['Directory.ReadWrite.All'] }, appId: randomUUID() });
    expect((await service.addMember(group.id, user.id, { headers, token: otherApp })).status).toBe(400);
    await service.addMember(group.id, other.id);
    expect((await service.addMember(group.id, other.id, { headers })).status).toBe(400);
  });
});

describe('concurrency', () => {
  it('100 simultaneous adds of the same edge: exactly one success, the rest duplicates, one edge', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    const responses = await Promise.all(Array.from({ length: 100 }, () => service.addMember(group.id, user.id)));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 204)).toHaveLength(1);
    expect(statuses.filter((status) => status === 400)).toHaveLength(99);
    for (const response of responses.filter((candidate) => candidate.status === 400)) {
      expect(response.json.error.message).toBe("One or more added object references already exist for the following modified properties: 'members'.");
    }
    const members = await service.request('GET', `/v1.0/groups/${group.id}/members`);
    expect(members.json.value.map((member: { id: string }) => member.id)).toEqual([user.id]);
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: true });
  });

  it('100 simultaneous distinct adds all land in both directions', async () => {
    const group = await service.createGroup();
    const users = await Promise.all(Array.from({ length: 100 }, () => service.createUser()));
    const responses = await Promise.all(users.map((user) => service.addMember(group.id, user.id)));
    expect(responses.map((response) => response.status)).toEqual(users.map(() => 204));
    const listed = await service.request('GET', `/v1.0/groups/${group.id}/members?$top=999`);
    expect(listed.json.value.map((member: { id: string }) => member.id).sort()).toEqual(users.map((user) => user.id).sort());
    const stored = await Promise.all(users.map((user) => service.storedEdges(group.id, user.id)));
    expect(stored.every((edge) => edge.groupSide && edge.memberSide)).toBe(true);
  });
});

describe('a failed second write', () => {
  it('answers 503 with Retry-After and leaves nothing: the group side is taken back; the retry gets the first answer', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    service.proxy.rule = (request) => (isMemberSideWrite(request) ? { kind: 'status', status: 503 } : undefined);
    const headers = { 'client-request-id': randomUUID() };
    const failed = await service.addMember(group.id, user.id, { headers });
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).not.toBeNull();
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: false, memberSide: false });

    service.proxy.rule = () => undefined;
    const retry = await service.addMember(group.id, user.id, { headers });
    expect(retry.status).toBe(204);
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: true });
  });

  it('is repaired by the reconciler when the take-back failed too and nobody retries, which also removes member sides no group side backs', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    // The member-side write and then the take-back of the group side both fail.
    // The group side's take-back is a batch too (the delete and its change record): every
    // group-side batch after the add's own fails, as a DELETE does.
    let groupSideBatches = 0;
    service.proxy.rule = (request) =>
      isMemberSideWrite(request) || request.method === 'DELETE' || (isGroupSideCreate(request) && request.headers['x-ms-cosmos-is-batch-request'] !== undefined && (groupSideBatches += 1) > 1)
        ? { kind: 'reset' }
        : undefined;
    expect((await service.addMember(group.id, user.id)).status).toBe(503);
    service.proxy.rule = () => undefined;
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: false });

    // An orphan member side, as a create that failed after its parallel upsert would leave.
    const store = await getCosmosStore();
    const orphanGroup = await service.createGroup();
    await store.memberships.items.upsert({
      id: orphanGroup.id,
      pk: `${service.tenantId}|member|${user.id}`,
      tenantId: service.tenantId,
      kind: 'memberOf',
      groupId: orphanGroup.id,
      objectId: user.id,
      farType: 'group',
      far: { id: orphanGroup.id },
      createdDateTime: new Date().toISOString(),
    });

    const report = await reconcileMemberships(store.memberships, store.directory, { graceInMs: 0 });
    expect(report.repaired).toBeGreaterThanOrEqual(1);
    expect(report.removed).toBeGreaterThanOrEqual(1);
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: true });
    expect(await service.storedEdges(orphanGroup.id, user.id)).toEqual({ groupSide: false, memberSide: false });
    const memberOf = await service.request('GET', `/v1.0/users/${user.id}/memberOf`);
    expect(memberOf.json.value.map((entry: { id: string }) => entry.id)).toEqual([group.id]);

    const again = await reconcileMemberships(store.memberships, store.directory, { graceInMs: 0 });
    expect({ repaired: again.repaired, removed: again.removed }).toEqual({ repaired: 0, removed: 0 });
  });

  it('a throttled group-side create answers 429 and leaves no member side behind', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    service.proxy.rule = (request) => (isGroupSideCreate(request) ? { kind: 'status', status: 429, retryAfterMs: 10 } : undefined);
    const response = await service.addMember(group.id, user.id);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('1');
    service.proxy.rule = () => undefined;
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: false, memberSide: false });
  });
});
