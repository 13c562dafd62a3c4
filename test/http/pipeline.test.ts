import { randomUUID } from 'node:crypto';
import { TestService } from '../support/testService';

let service: TestService;
beforeAll(async () => {
  service = await TestService.start();
});
afterAll(() => service.stop());

const guidLike = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('every response', () => {
  it('carries request-id, client-request-id, Date and Cache-Control: no-store', async () => {
    const group = await service.createGroup();
    const response = await service.request('GET', `/v1.0/groups/${group.id}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('request-id')).toMatch(guidLike);
    expect(response.headers.get('client-request-id')).toBe(response.headers.get('request-id'));
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(Date.parse(response.headers.get('date') ?? '')).not.toBeNaN();
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('echoes the client-request-id the client sent, also in error bodies', async () => {
    const clientRequestId = randomUUID();
    const response = await service.request('GET', '/v1.0/groups/not-a-guid', { headers: { 'client-request-id': clientRequestId } });
    expect(response.headers.get('client-request-id')).toBe(clientRequestId);
    expect(response.json.error.innerError['client-request-id']).toBe(clientRequestId);
    expect(response.json.error.innerError['request-id']).toBe(response.headers.get('request-id'));
    expect(Date.parse(response.json.error.innerError.date)).not.toBeNaN();
  });
});

describe('routing', () => {
  it('answers 404 NotFound for an unknown route', async () => {
    const response = await service.request('GET', '/v1.0/nothingHere');
    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe('NotFound');
  });

  it('answers 405 with Allow for a method the route lacks', async () => {
    const response = await service.request('PUT', `/v1.0/groups/${randomUUID()}/members/$ref`);
    expect(response.status).toBe(405);
    expect(response.json.error.code).toBe('MethodNotAllowed');
    expect(response.headers.get('allow')).toBe('POST');
  });

  it('matches route literals case-insensitively, as the Functions host does', async () => {
    const group = await service.createGroup();
    const response = await service.request('GET', `/V1.0/GROUPS/${group.id}`);
    expect(response.status).toBe(200);
    expect(response.json.id).toBe(group.id);
  });

  it('gives a non-GUID id the 400 of SPEC, not a 404', async () => {
    const response = await service.request('GET', '/beta/groups/12345');
    expect(response.status).toBe(400);
    expect(response.json.error).toMatchObject({ code: 'Request_BadRequest', message: "Invalid object identifier '12345'." });
  });
});

describe('JSON bodies', () => {
  it("rejects malformed JSON with Graph's message and stores nothing", async () => {
    const before = await service.snapshotStore();
    const response = await service.request('POST', '/v1.0/groups', { rawBody: '{"displayName": ', headers: { 'Content-Type': 'application/json' } });
    expect(response.status).toBe(400);
    expect(response.json.error).toMatchObject({
      code: 'BadRequest',
      message: 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
    });
    expect(await service.snapshotStore()).toEqual(before);
  });

  it('answers 415 for a body that is not JSON by Content-Type', async () => {
    const response = await service.request('POST', '/v1.0/users', { rawBody: 'displayName=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(response.status).toBe(415);
    expect(response.json.error.code).toBe('UnsupportedMediaType');
  });

  it('answers 413 for a body over 1 MiB', async () => {
    const response = await service.request('POST', '/v1.0/users', { body: { displayName: 'x'.repeat(1024 * 1024 + 1) } });
    expect(response.status).toBe(413);
    expect(response.json.error.code).toBe('RequestEntityTooLarge');
  });

  it('answers 400 for a JSON body that is not an object', async () => {
    const response = await service.request('POST', '/v1.0/users', { body: [1, 2] });
    expect(response.status).toBe(400);
  });
});

describe('health', () => {
  it('is anonymous and 200 while the store answers', async () => {
    const response = await service.request('GET', '/health', { token: null });
    expect(response.status).toBe(200);
  });

  it('is 503 with Retry-After when the store is unreachable', async () => {
    service.proxy.rule = () => ({ kind: 'reset' });
    try {
      const response = await service.request('GET', '/health', { token: null });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
    } finally {
      service.proxy.rule = () => undefined;
    }
  });
});

describe('store faults', () => {
  it('maps Cosmos throttling to 429 TooManyRequests with Retry-After in seconds', async () => {
    const group = await service.createGroup();
    service.proxy.rule = (request) => (request.method === 'GET' && request.path.includes('/docs/') ? { kind: 'status', status: 429, retryAfterMs: 1500 } : undefined);
    try {
      const response = await service.request('GET', `/v1.0/groups/${group.id}`);
      expect(response.status).toBe(429);
      expect(response.json.error.code).toBe('TooManyRequests');
      expect(response.headers.get('retry-after')).toBe('2');
    } finally {
      service.proxy.rule = () => undefined;
    }
  });

  it('maps an unreachable store to 503 ServiceUnavailable with Retry-After, never a 500', async () => {
    const group = await service.createGroup();
    service.proxy.rule = () => ({ kind: 'reset' });
    try {
      const response = await service.request('GET', `/v1.0/groups/${group.id}`);
      expect(response.status).toBe(503);
      expect(response.json.error.code).toBe('ServiceUnavailable');
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(response.text).not.toMatch(/ECONNRESET|at .*\.js/);
    } finally {
      service.proxy.rule = () => undefined;
    }
  });

  it('maps a store 500 to 503 rather than passing it on', async () => {
    const group = await service.createGroup();
    service.proxy.rule = (request) => (request.path.includes('/docs/') ? { kind: 'status', status: 500 } : undefined);
    try {
      const response = await service.request('GET', `/v1.0/groups/${group.id}`);
      expect(response.status).toBe(503);
    } finally {
      service.proxy.rule = () => undefined;
    }
  });
});

describe('query options a route does not take (SPEC 6: "a 400 naming the option, on every route")', () => {
  it('refuses them on every write and on the routes without a list, naming the option, and changes nothing', async () => {
    const [group, owned, user, other] = await Promise.all([service.createGroup(), service.createGroup(), service.createUser(), service.createUser()]);
    expect((await service.addMember(group.id, user.id)).status).toBe(204);
    const reference = (kind: string, id: string) => ({ '@odata.id': `https://graph.microsoft.com/v1.0/${kind}/${id}` });
    const before = await service.snapshotStore();
    const attempts: [string, string, unknown?][] = [
      ['POST', `/v1.0/groups/${group.id}/members/$ref?$top=1`, reference('directoryObjects', other.id)],
      ['POST', `/v1.0/groups/${group.id}/memberOf/$ref?$filter=x`, reference('groups', owned.id)],
      ['POST', `/v1.0/users/${other.id}/joinedGroups/$ref?$TOP=1`, reference('groups', group.id)],
      ['POST', `/v1.0/groups/${group.id}/owners/$ref?$select=id`, reference('users', other.id)],
      ['DELETE', `/v1.0/groups/${group.id}/members/${user.id}/$ref?$count=true`],
      ['PATCH', `/v1.0/groups/${group.id}?$select=displayName`, { displayName: 'Renamed' }],
      ['PATCH', `/v1.0/users/${user.id}?$expand=manager`, { jobTitle: 'Lead' }],
      ['POST', '/v1.0/groups?$top=1', { displayName: 'New', mailNickname: 'new', mailEnabled: false, securityEnabled: true }],
      ['DELETE', `/v1.0/groups/${owned.id}?$filter=x`],
      ['POST', `/v1.0/users/${user.id}/getMemberGroups?$search=x`, { securityEnabledOnly: false }],
      ['GET', '/v1.0/subscriptions?$top=1'],
      [
        'POST',
        '/v1.0/$batch?$skip=1',
        { requests: [{ id: '1', method: 'POST', url: `/groups/${group.id}/members/$ref`, headers: { 'Content-Type': 'application/json' }, body: reference('directoryObjects', other.id) }] },
      ],
    ];
    for (const [method, path, body] of attempts) {
      const response = await service.request(method, path, body === undefined ? {} : { body });
      const option = /\?(\$\w+)/.exec(path)![1]!;
      expect([method, path, response.status, response.json.error?.code, response.json.error?.message]).toEqual([
        method,
        path,
        400,
        'BadRequest',
        `Query option '${option}' is not supported on this resource.`,
      ]);
    }
    expect(await service.snapshotStore()).toEqual(before);
    // Parameters that are not OData options pass, and the routes that read options still take theirs.
    expect((await service.request('POST', `/v1.0/groups/${group.id}/members/$ref?note=1`, { body: reference('directoryObjects', other.id) })).status).toBe(204);
    expect((await service.request('GET', `/v1.0/groups/${group.id}/members?$top=1&$select=id`)).status).toBe(200);
  });
});
