/**
 * Issue 8, item 7: a request answered 5xx leaves nothing, or exactly what its retry (with or
 * without a key) completes into the answer a first success would have given.
 */
import { randomUUID } from 'node:crypto';
import { isGroupSideCreate, isMemberSideWrite, type ProxiedRequest } from '../support/faultProxy';
import { TestService } from '../support/testService';

let service: TestService;
beforeAll(async () => {
  service = await TestService.start();
});
afterAll(() => service.stop());
afterEach(() => {
  service.proxy.rule = () => undefined;
});

const partitionOf = (request: ProxiedRequest) => String(request.headers['x-ms-documentdb-partitionkey']);
const isOwnerWrite = (request: ProxiedRequest) => request.method === 'POST' && partitionOf(request).includes('|owner|');
const isDirectoryCreate = (request: ProxiedRequest) => request.method === 'POST' && request.path.includes('/colls/directory/docs');

describe('an add whose member-side write fails', () => {
  it('answers 503 and leaves nothing; a retry without a key gets 204, not the duplicate 400', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    service.proxy.rule = (request) => (isMemberSideWrite(request) ? { kind: 'status', status: 503 } : undefined);
    const failed = await service.addMember(group.id, user.id);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).not.toBeNull();
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: false, memberSide: false });
    service.proxy.rule = () => undefined;
    expect((await service.addMember(group.id, user.id)).status).toBe(204);
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: true });
  });

  it.each([
    ['without a key', {}],
    ['with the same Idempotency-Key', { 'Idempotency-Key': randomUUID() }],
  ])('left half-written when the take-back fails too: the retry %s completes it and gets 204', async (_label, headers: Record<string, string>) => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    // The group side's take-back is a batch too (the delete and its change record): every
    // group-side batch after the add's own fails, as a DELETE does.
    let groupSideBatches = 0;
    service.proxy.rule = (request) =>
      isMemberSideWrite(request) || request.method === 'DELETE' || (isGroupSideCreate(request) && request.headers['x-ms-cosmos-is-batch-request'] !== undefined && (groupSideBatches += 1) > 1)
        ? { kind: 'status', status: 503 }
        : undefined;
    expect((await service.addMember(group.id, user.id, { headers })).status).toBe(503);
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: false });
    service.proxy.rule = () => undefined;
    expect((await service.addMember(group.id, user.id, { headers })).status).toBe(204);
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: true });
    // Now it is whole, and a further add is the duplicate it is.
    expect((await service.addMember(group.id, user.id)).status).toBe(400);
  });

  it('whose group-side write fails while the member side lands: the member side is taken back, nothing is left', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    service.proxy.rule = (request) => (isGroupSideCreate(request) ? { kind: 'status', status: 503 } : undefined);
    expect((await service.addMember(group.id, user.id)).status).toBe(503);
    service.proxy.rule = () => undefined;
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: false, memberSide: false });
    expect((await service.addMember(group.id, user.id)).status).toBe(204);
  });
});

describe('a keyed add racing a removal', () => {
  it('is not answered as a replay when the edge it found is removed before its replay read: it writes the edge again', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    const headers = { 'Idempotency-Key': randomUUID() };
    expect((await service.addMember(group.id, user.id, { headers })).status).toBe(204);
    // The retry's creates both find the edge (409); its read of the group side is held while the
    // removal runs, so the read finds nothing.
    let removal: Promise<{ status: number }> | undefined;
    service.proxy.rule = (request) => {
      if (removal === undefined && request.method === 'GET' && partitionOf(request).includes(`|group|${group.id}`) && request.path.endsWith(`/docs/${user.id}`)) {
        removal = service.request('DELETE', `/v1.0/groups/${group.id}/members/${user.id}/$ref`);
        return { kind: 'delay', ms: 3_000 };
      }
      return undefined;
    };
    const retry = await service.addMember(group.id, user.id, { headers });
    expect(removal).toBeDefined();
    expect((await removal!).status).toBe(204);
    expect(retry.status).toBe(204);
    // The add answered success, so the edge it promised exists.
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: true });
  });
});

describe('POST /groups by a delegated creator under store faults', () => {
  const create = async (token: string, memberId: string) =>
    service.request('POST', '/v1.0/groups', {
      token,
      body: {
        displayName: 'Faulty',
        mailNickname: `f${randomUUID().slice(0, 8)}`,
        mailEnabled: false,
        securityEnabled: true,
        'members@odata.bind': [`https://graph.microsoft.com/v1.0/users/${memberId}`],
      },
    });

  it.each([
    ['the member-side write of a bound member', isMemberSideWrite],
    ["the creator's owner edge", isOwnerWrite],
    ['the group document', isDirectoryCreate],
  ])('a 503 on %s leaves nothing, and the retry creates the group with its creator as owner', async (_label, faulty) => {
    const [creator, member] = [await service.createUser(), await service.createUser()];
    const token = await service.userToken(creator.id, ['Group.Create', 'Group.Read.All', 'GroupMember.Read.All']);
    const before = await service.snapshotStore();
    service.proxy.rule = (request) => (faulty(request) ? { kind: 'status', status: 503 } : undefined);
    const failed = await create(token, member.id);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).not.toBeNull();
    service.proxy.rule = () => undefined;
    expect(await service.snapshotStore()).toEqual(before);

    const retry = await create(token, member.id);
    expect(retry.status).toBe(201);
    const owners = await service.request('GET', `/v1.0/groups/${retry.json.id}/owners`, { token });
    expect(owners.json.value.map((owner: { id: string }) => owner.id)).toEqual([creator.id]);
    const members = await service.request('GET', `/v1.0/groups/${retry.json.id}/members`, { token });
    expect(members.json.value.map((entry: { id: string }) => entry.id)).toEqual([member.id]);
  });
});
