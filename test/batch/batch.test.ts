import { randomUUID } from 'node:crypto';
import { BatchRequestContent, BatchResponseContent } from '@microsoft/microsoft-graph-client';
import { isGroupSideCreate } from '../support/faultProxy';
import { GraphSdkService } from '../support/graphSdkService';
import type { TestService } from '../support/testService';

/**
 * JSON batching (SPEC 8) through real HTTPS: the Microsoft Graph JavaScript client's
 * BatchRequestContent / BatchResponseContent, unmodified, and plain requests for what the client
 * refuses to build (21 requests, bad dependencies).
 */
let sdk: GraphSdkService;
let service: TestService;
beforeAll(async () => {
  sdk = await GraphSdkService.start();
  service = sdk.service;
});
afterAll(() => sdk.stop());
afterEach(() => {
  service.proxy.rule = () => undefined;
  service.proxy.record = false;
});

const graphClient = (token: string) => sdk.client(token);

const reference = (id: string) => ({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${id}` });

/** A step as the client builds one: the SDK strips scheme and host, so the URL omits the version. */
function step(id: string, method: string, path: string, body?: unknown, dependsOn?: string[]) {
  const init: RequestInit = { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }) };
  return { id, request: new Request(`${service.baseUrl}${path}`, init), ...(dependsOn === undefined ? {} : { dependsOn }) };
}

type Item = { id: string; status: number; headers: Record<string, string>; body?: { error?: { code: string; message: string }; value?: { id: string }[] } };

async function postBatch(body: unknown, token?: string): Promise<{ status: number; items: Item[]; error?: { code: string; message: string } }> {
  const response = await service.request('POST', '/v1.0/$batch', { body, ...(token === undefined ? {} : { token }) });
  const json = response.json as { responses?: Item[]; error?: { code: string; message: string } };
  return { status: response.status, items: json.responses ?? [], ...(json.error === undefined ? {} : { error: json.error }) };
}

const add = (id: string, groupId: string, memberId: string, dependsOn?: string[]) => ({
  id,
  method: 'POST',
  url: `/groups/${groupId}/members/$ref`,
  headers: { 'Content-Type': 'application/json' },
  body: reference(memberId),
  ...(dependsOn === undefined ? {} : { dependsOn }),
});

describe('POST /$batch with the Microsoft Graph JavaScript client', () => {
  it('runs adds, then a read and a removal, in the order dependsOn gives', async () => {
    const client = graphClient(await service.adminToken());
    const group = await service.createGroup();
    const [first, second] = [await service.createUser(), await service.createUser()];
    // The client accepts a serial chain, parallel steps, or steps that all depend on one.
    const content = new BatchRequestContent([
      step('1', 'POST', `/groups/${group.id}/members/$ref`, reference(first.id)),
      step('2', 'POST', `/groups/${group.id}/members/$ref`, reference(second.id), ['1']),
      step('3', 'GET', `/groups/${group.id}/members`, undefined, ['2']),
      step('4', 'DELETE', `/groups/${group.id}/members/${first.id}/$ref`, undefined, ['3']),
    ]);
    const answer = new BatchResponseContent((await client.api('/$batch').post(await content.getContent())) as ConstructorParameters<typeof BatchResponseContent>[0]);
    expect(['1', '2', '4'].map((id) => answer.getResponseById(id).status)).toEqual([204, 204, 204]);
    const read = answer.getResponseById('3');
    expect(read.status).toBe(200);
    const readIds = ((await read.json()) as { value: { id: string }[] }).value.map((member) => member.id);
    expect(readIds.sort()).toEqual([first.id, second.id].sort());

    const members = await service.request('GET', `/v1.0/groups/${group.id}/members`);
    expect((members.json.value as { id: string }[]).map((member) => member.id)).toEqual([second.id]);
    expect(await service.storedEdges(group.id, first.id)).toEqual({ groupSide: false, memberSide: false });
    expect(await service.storedEdges(group.id, second.id)).toEqual({ groupSide: true, memberSide: true });
  });

  it('runs independent requests side by side and answers each', async () => {
    const client = graphClient(await service.adminToken());
    const group = await service.createGroup();
    const users = [await service.createUser(), await service.createUser(), await service.createUser()];
    const content = new BatchRequestContent(users.map((user, index) => step(String(index + 1), 'POST', `/groups/${group.id}/members/$ref`, reference(user.id))));
    const answer = new BatchResponseContent((await client.api('/$batch').post(await content.getContent())) as ConstructorParameters<typeof BatchResponseContent>[0]);
    expect([...answer.getResponses().values()].map((response) => response.status)).toEqual([204, 204, 204]);
    const members = await service.request('GET', `/v1.0/groups/${group.id}/members`);
    expect((members.json.value as { id: string }[]).map((member) => member.id).sort()).toEqual(users.map((user) => user.id).sort());
  });

  it('answers 424 for every request that depends on one that failed, and runs the others', async () => {
    const client = graphClient(await service.adminToken());
    const group = await service.createGroup();
    const user = await service.createUser();
    const content = new BatchRequestContent([
      step('1', 'POST', `/groups/${group.id}/members/$ref`, reference(randomUUID())),
      step('2', 'POST', `/groups/${group.id}/members/$ref`, reference(user.id), ['1']),
      step('3', 'GET', `/groups/${group.id}/members`, undefined, ['1']),
    ]);
    const answer = new BatchResponseContent((await client.api('/$batch').post(await content.getContent())) as ConstructorParameters<typeof BatchResponseContent>[0]);
    expect(answer.getResponseById('1').status).toBe(404);
    for (const id of ['2', '3']) {
      const failed = answer.getResponseById(id);
      expect(failed.status).toBe(424);
      expect(((await failed.json()) as { error: { code: string } }).error.code).toBe('FailedDependency');
    }
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: false, memberSide: false });
  });
});

describe('POST /$batch: each inner request is answered on its own', () => {
  it('a failing request does not stop its independent neighbours', async () => {
    const group = await service.createGroup();
    const user = await service.createUser();
    const { status, items } = await postBatch({ requests: [add('a', group.id, user.id), add('b', 'not-a-guid', user.id), { id: 'c', method: 'GET', url: `groups/${group.id}` }] });
    expect(status).toBe(200);
    expect(items.map((item) => [item.id, item.status])).toEqual([
      ['a', 204],
      ['b', 400],
      ['c', 200],
    ]);
    expect(items[1]!.body!.error!.message).toBe("Invalid object identifier 'not-a-guid'.");
    expect(items[0]!.body).toBeUndefined();
  });

  it('the outer token is what counts: an inner Authorization header of another tenant changes nothing', async () => {
    const group = await service.createGroup();
    const user = await service.createUser();
    const otherTenant = await service.appToken(['Directory.ReadWrite.All'], service.otherTenantId);
    const foreignToken = { ...add('1', group.id, user.id), headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${otherTenant}` } };
    const { items } = await postBatch({ requests: [foreignToken, { id: '2', method: 'GET', url: `/groups/${group.id}`, headers: { Authorization: `Bearer ${otherTenant}` } }] });
    expect(items.map((item) => item.status)).toEqual([204, 200]);
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: true });

    // And the other way round: the other tenant's batch cannot reach this tenant's group with this tenant's inner token.
    const other = await service.createUser();
    const { items: refused } = await postBatch(
      { requests: [{ ...add('1', group.id, other.id), headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${await service.adminToken()}` } }] },
      otherTenant,
    );
    expect(refused.map((item) => item.status)).toEqual([404]);
    expect(await service.storedEdges(group.id, other.id)).toEqual({ groupSide: false, memberSide: false });
  });

  it('each inner request is authorized on its own: a read-only token reads and is refused the add', async () => {
    const group = await service.createGroup();
    const user = await service.createUser();
    const reader = await service.appToken(['GroupMember.Read.All']);
    const { status, items } = await postBatch({ requests: [add('1', group.id, user.id), { id: '2', method: 'GET', url: `/groups/${group.id}/members` }] }, reader);
    expect(status).toBe(200);
    expect(items.map((item) => [item.status, item.body?.error?.code])).toEqual([
      [403, 'Authorization_RequestDenied'],
      [200, undefined],
    ]);
  });

  it('an inner request throttled by the store answers 429 with Retry-After in its own headers', async () => {
    const [throttledGroup, otherGroup] = [await service.createGroup(), await service.createGroup()];
    const [user, neighbour] = [await service.createUser(), await service.createUser()];
    // Every group-side create into one group is throttled, the SDK's own retries included.
    service.proxy.rule = (request) =>
      isGroupSideCreate(request) && String(request.headers['x-ms-documentdb-partitionkey']).includes(`|group|${throttledGroup.id}`) ? { kind: 'status', status: 429, retryAfterMs: 10 } : undefined;
    const { status, items } = await postBatch({
      requests: [add('1', throttledGroup.id, user.id), add('2', otherGroup.id, user.id, ['1']), add('3', otherGroup.id, neighbour.id)],
    });
    expect(status).toBe(200);
    expect(items.map((item) => item.status)).toEqual([429, 424, 204]);
    expect(items[0]!.headers['Retry-After']).toBe('1');
    expect(items[0]!.body!.error!.code).toBe('TooManyRequests');
    service.proxy.rule = () => undefined;
    expect(await service.storedEdges(throttledGroup.id, user.id)).toEqual({ groupSide: false, memberSide: false });
    expect(await service.storedEdges(otherGroup.id, user.id)).toEqual({ groupSide: false, memberSide: false });
    expect(await service.storedEdges(otherGroup.id, neighbour.id)).toEqual({ groupSide: true, memberSide: true });
  });

  it('a batch of 20 adds costs no more store requests than the same 20 adds sent alone', async () => {
    const count = async (work: () => Promise<void>) => {
      service.proxy.seen.length = 0;
      service.proxy.record = true;
      await work();
      service.proxy.record = false;
      return service.proxy.seen.length;
    };
    const [alone, batched] = [await service.createGroup(), await service.createGroup()];
    const aloneUsers: { id: string }[] = [];
    const batchedUsers: { id: string }[] = [];
    for (let index = 0; index < 20; index += 1) {
      aloneUsers.push(await service.createUser());
      batchedUsers.push(await service.createUser());
    }
    const aloneRequests = await count(async () => {
      for (const user of aloneUsers) expect((await service.addMember(alone.id, user.id)).status).toBe(204);
    });
    const batchedRequests = await count(async () => {
      const { items } = await postBatch({ requests: batchedUsers.map((user, index) => add(String(index + 1), batched.id, user.id)) });
      expect(items.map((item) => item.status)).toEqual(batchedUsers.map(() => 204));
    });
    expect(batchedRequests).toBeLessThanOrEqual(aloneRequests);
    const members = await service.request('GET', `/v1.0/groups/${batched.id}/members?$top=999`);
    expect((members.json.value as { id: string }[]).map((member) => member.id).sort()).toEqual(batchedUsers.map((user) => user.id).sort());
    // Each inner request logs its own request line, told apart from a single request's.
    const lines = service.logs.filter((line) => line.message === 'request' && (line.details as { route?: string }).route === 'batch/addMember');
    expect(lines.length).toBeGreaterThanOrEqual(20);
  });
});

describe('POST /$batch: a malformed batch is refused whole with 400 and changes nothing', () => {
  async function expectRefused(body: unknown, message: string | RegExp): Promise<void> {
    const before = await service.snapshotStore();
    const { status, error } = await postBatch(body);
    expect(status).toBe(400);
    expect(error?.code).toBe('BadRequest');
    expect(error?.message).toMatch(message);
    expect(await service.snapshotStore()).toEqual(before);
  }

  let group: { id: string };
  let user: { id: string };
  beforeAll(async () => {
    group = await service.createGroup();
    user = await service.createUser();
  });

  it('more than 20 requests', async () => {
    const requests = Array.from({ length: 21 }, (_, index) => add(String(index), group.id, user.id));
    await expectRefused({ requests }, 'Number of requests inside batch exceeds the limit. A batch holds at most 20 requests.');
  });

  it('duplicate ids, compared without regard to case as Graph does', async () => {
    await expectRefused({ requests: [add('a', group.id, user.id), { id: 'A', method: 'GET', url: '/me' }] }, 'Request Id A has to be unique in a batch.');
  });

  it.each([
    ['an unknown id', ['nope']],
    ['a later id', ['2']],
    ['itself', ['1']],
  ])('dependsOn naming %s', async (_, dependsOn) => {
    await expectRefused({ requests: [add('1', group.id, user.id, dependsOn), { id: '2', method: 'GET', url: `/groups/${group.id}`, dependsOn: ['1'] }] }, /^Invalid dependency for request Id 1: /);
  });

  it.each([
    `https://graph.microsoft.com/v1.0/groups/${randomUUID()}/members/$ref`,
    `//evil.example/v1.0/groups/${randomUUID()}/members/$ref`,
    `/../beta/groups/${randomUUID()}/members/$ref`,
    `/%2e%2e/beta/groups/${randomUUID()}/members/$ref`,
    '/$batch',
    '$BATCH',
  ])('url %s', async (url) => {
    await expectRefused({ requests: [{ ...add('1', group.id, user.id), url }] }, /^Invalid request URL .* for request Id 1: /);
  });

  it('a write without Content-Type, as Graph words it', async () => {
    const { headers: _headers, ...noContentType } = add('7', group.id, user.id);
    await expectRefused({ requests: [noContentType] }, 'Write request id : 7 does not contain Content-Type header or body.');
  });

  it.each([
    ['no requests array', { value: [] }],
    ['an empty batch', { requests: [] }],
    ['a request without a url', { requests: [{ id: '1', method: 'GET' }] }],
    ['an unsupported method', { requests: [{ id: '1', method: 'TRACE', url: '/me' }] }],
  ])('%s', async (_, body) => {
    await expectRefused(body, /^(Invalid batch payload format\.|Invalid method)/);
  });

  it('a batch without a valid token is refused before any inner request runs', async () => {
    const before = await service.snapshotStore();
    const response = await service.request('POST', '/v1.0/$batch', { token: null, body: { requests: [add('1', group.id, user.id)] } });
    expect(response.status).toBe(401);
    expect(await service.snapshotStore()).toEqual(before);
  });
});

describe('POST /$batch: query options', () => {
  // SPEC 6: "Unsupported query options are a 400 naming the option, on every route." `$batch`
  // takes none (Graph's batch URL is `POST /$batch`); getByIds refuses one this way.
  it('an unsupported query option on the batch URL is a 400 naming it, and no inner request runs', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    const before = await service.snapshotStore();
    const response = await service.request('POST', '/v1.0/$batch?$top=1', { body: { requests: [add('1', group.id, user.id)] } });
    expect([response.status, response.json?.error?.code]).toEqual([400, 'BadRequest']);
    expect(response.json.error.message).toContain("'$top'");
    expect(await service.snapshotStore()).toEqual(before);
  });
});
