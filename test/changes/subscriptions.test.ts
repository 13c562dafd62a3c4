/**
 * Issue 12, item 3 and 6: /subscriptions through real HTTP: the validation handshake against a
 * receiver on loopback, Graph's 400s with nothing stored, SSRF refusals before any connection,
 * renewal and expiry, and each caller seeing only its own.
 */
import { randomUUID } from 'node:crypto';
import { useHostResolver } from '../../src/subscriptions/notificationUrl';
import { TestService } from '../support/testService';
import { Receiver } from './receiver';

let service: TestService;
let receiver: Receiver;
beforeAll(async () => {
  service = await TestService.start();
  receiver = await Receiver.start();
});
afterAll(async () => {
  await receiver.close();
  await service.stop();
});
afterEach(() => useHostResolver(undefined));

const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
const body = (overrides: Record<string, unknown> = {}) => ({
  changeType: 'updated',
  notificationUrl: receiver.url(),
  resource: 'groups',
  expirationDateTime: inMinutes(60),
  clientState: 'secret',
  ...overrides,
});
const subscriptionDocuments = async () => (await service.snapshotStore()).filter((entry) => entry.includes('|subscriptions:'));

describe('POST /subscriptions', () => {
  it('validates the receiver (POST ?validationToken=, echoed as text/plain) before answering 201 with Location', async () => {
    const group = await service.createGroup();
    const before = receiver.requests.length;
    const response = await service.request('POST', '/v1.0/subscriptions', { body: body({ resource: `groups/${group.id}/members`, changeType: 'updated,deleted' }) });
    expect(response.status).toBe(201);
    expect(response.json).toMatchObject({
      '@odata.context': `${service.baseUrl}/v1.0/$metadata#subscriptions/$entity`,
      resource: `groups/${group.id}/members`,
      changeType: 'updated,deleted',
      clientState: 'secret',
      notificationUrl: receiver.url(),
    });
    expect(response.headers.get('location')).toBe(`${service.baseUrl}/v1.0/subscriptions/${response.json.id}`);
    const validation = receiver.requests.slice(before);
    expect(validation).toHaveLength(1);
    expect(validation[0]!.query.get('validationToken')).toMatch(/\S{20,}/);
    expect(validation[0]!.body).toBe('');

    const read = await service.request('GET', `/v1.0/subscriptions/${response.json.id}`);
    expect(read.status).toBe(200);
    expect(read.json.expirationDateTime).toBe(response.json.expirationDateTime);
  });

  it.each([
    ['a failing receiver', 'fail', 'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.'],
    ['a receiver answering another text', 'wrongToken', 'Subscription validation request failed. Response must exactly match validationToken query parameter.'],
    ['a receiver answering JSON', 'json', 'Subscription validation request failed. Response must exactly match validationToken query parameter.'],
  ] as const)('answers 400 ValidationError for %s, storing nothing', async (_name, mode, message) => {
    const failing = await Receiver.start(mode);
    try {
      const before = await subscriptionDocuments();
      const response = await service.request('POST', '/v1.0/subscriptions', { body: body({ notificationUrl: failing.url() }) });
      expect(response.status).toBe(400);
      expect(response.json.error).toMatchObject({ code: 'ValidationError', message });
      expect(failing.requests).toHaveLength(1);
      expect(await subscriptionDocuments()).toEqual(before);
    } finally {
      await failing.close();
    }
  });

  it('answers 400 when the receiver does not answer the validation request within 10 seconds', async () => {
    const silent = await Receiver.start('silent');
    try {
      const before = await subscriptionDocuments();
      const response = await service.request('POST', '/v1.0/subscriptions', { body: body({ notificationUrl: silent.url() }) });
      expect(response.status).toBe(400);
      expect(response.json.error.code).toBe('ValidationError');
      expect(await subscriptionDocuments()).toEqual(before);
    } finally {
      await silent.close();
    }
  }, 30_000);

  it('validates the lifecycleNotificationUrl the same way', async () => {
    const failing = await Receiver.start('fail');
    try {
      const response = await service.request('POST', '/v1.0/subscriptions', { body: body({ lifecycleNotificationUrl: failing.url('/lifecycle') }) });
      expect(response.status).toBe(400);
      expect(response.json.error.code).toBe('ValidationError');
      expect(failing.requests.map((request) => request.path)).toEqual(['/lifecycle']);
    } finally {
      await failing.close();
    }
  });

  const tooLong = 'x'.repeat(129);
  it.each([
    ['an unknown resource', { resource: 'users' }, 'InvalidRequest'],
    ['a resource under groups that is not members', { resource: `groups/${randomUUID()}/owners` }, 'InvalidRequest'],
    ['a changeType other than updated/deleted', { changeType: 'created' }, 'InvalidRequest'],
    ['a changeType list with one unknown', { changeType: 'updated,moved' }, 'InvalidRequest'],
    ['a clientState of 129 characters', { clientState: tooLong }, 'InvalidRequest'],
    ['an expiry past 41,760 minutes', { expirationDateTime: inMinutes(41_761) }, 'InvalidRequest'],
    ['an expiry in the past', { expirationDateTime: inMinutes(-1) }, 'InvalidRequest'],
    ['an expiry that is not a date', { expirationDateTime: 'tomorrow' }, 'Request_BadRequest'],
    ['an unknown property', { colour: 'blue' }, 'Request_BadRequest'],
    ['a missing notificationUrl', { notificationUrl: undefined }, 'Request_BadRequest'],
    ['plain http to a public host', { notificationUrl: 'http://93.184.216.34/notify' }, 'InvalidRequest'],
    ['a private address', { notificationUrl: 'https://10.1.2.3/notify' }, 'InvalidRequest'],
    ['a CGNAT address', { notificationUrl: 'https://100.64.0.1/notify' }, 'InvalidRequest'],
    ['the cloud metadata address', { notificationUrl: 'https://169.254.169.254/metadata/instance' }, 'InvalidRequest'],
    ["AWS's IPv6 metadata address", { notificationUrl: 'https://[fd00:ec2::254]/' }, 'InvalidRequest'],
    ['an IPv6 link-local address', { notificationUrl: 'https://[fe80::1]/' }, 'InvalidRequest'],
    ['a private address written as IPv4-mapped IPv6', { notificationUrl: 'https://[::ffff:10.0.0.1]/' }, 'InvalidRequest'],
    ['a URL with credentials', { notificationUrl: 'http://user:pw@127.0.0.1:1/' }, 'InvalidRequest'],
    ['a non-http scheme', { notificationUrl: 'ftp://127.0.0.1/' }, 'InvalidRequest'],
    ['a lifecycle URL at the metadata address', { lifecycleNotificationUrl: 'https://169.254.169.254/' }, 'InvalidRequest'],
  ])('refuses %s with 400, storing nothing and calling no receiver', async (_name, overrides, code) => {
    const before = await subscriptionDocuments();
    const seen = receiver.requests.length;
    const response = await service.request('POST', '/v1.0/subscriptions', { body: body(overrides) });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe(code);
    expect(await subscriptionDocuments()).toEqual(before);
    // The lifecycle case too: both URLs are checked before either handshake.
    expect(receiver.requests.length).toBe(seen);
  });

  it.each([
    ['a private address', '10.0.0.7'],
    ['the metadata address', '169.254.169.254'],
  ])('refuses a host name that resolves to %s (every address checked) before any connection', async (_name, address) => {
    const resolved: string[] = [];
    useHostResolver(async (hostname) => {
      resolved.push(hostname);
      // A public address first: the check must look at every one.
      return [
        { address: '93.184.216.34', family: 4 },
        { address, family: 4 },
      ];
    });
    const response = await service.request('POST', '/v1.0/subscriptions', { body: body({ notificationUrl: 'https://receiver.example.test/notify' }) });
    expect(resolved).toEqual(['receiver.example.test']);
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('InvalidRequest');
    expect(response.json.error.message).toContain(`internal address (${address})`);
  });

  it('connects to the address it checked: a name resolving to loopback reaches the loopback receiver (pinned, no second lookup)', async () => {
    let lookups = 0;
    useHostResolver(async () => {
      lookups += 1;
      return lookups === 1 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '169.254.169.254', family: 4 }];
    });
    const seen = receiver.requests.length;
    const response = await service.request('POST', '/v1.0/subscriptions', { body: body({ notificationUrl: `http://rebind.example.test:${receiver.port}/notify` }) });
    expect(response.status).toBe(201);
    expect(lookups).toBe(1);
    expect(receiver.requests.length).toBe(seen + 1);
    await service.request('DELETE', `/v1.0/subscriptions/${response.json.id}`);
  });

  it('refuses plain http to loopback when the local host setting is absent (as in Azure)', async () => {
    const saved = process.env.FUNCTIONS_LOCAL_HOST;
    delete process.env.FUNCTIONS_LOCAL_HOST;
    try {
      for (const notificationUrl of [receiver.url(), `https://127.0.0.1:${receiver.port}/`, 'https://[::1]/', 'https://[::ffff:7f00:1]/']) {
        const response = await service.request('POST', '/v1.0/subscriptions', { body: body({ notificationUrl }) });
        expect([notificationUrl, response.status, response.json.error?.code]).toEqual([notificationUrl, 400, 'InvalidRequest']);
      }
    } finally {
      process.env.FUNCTIONS_LOCAL_HOST = saved;
    }
  });

  it('answers 404 for a group that does not exist, and 403 without a group read permission', async () => {
    const missing = await service.request('POST', '/v1.0/subscriptions', { body: body({ resource: `groups/${randomUUID()}` }) });
    expect(missing.status).toBe(404);
    const denied = await service.request('POST', '/v1.0/subscriptions', { token: await service.appToken(['User.Read.All']), body: body() });
    expect(denied.status).toBe(403);
  });
});

describe('GET, PATCH, DELETE /subscriptions/{id}', () => {
  it('renews, lists and deletes the caller’s own; another caller gets 404 and changes nothing', async () => {
    const mine = await service.appToken(['Group.Read.All']);
    // Another app: a different appId in the token.
    const otherApp = await service.token({ app: { roles: ['Directory.Read.All'] }, appId: randomUUID() });
    const created = await service.request('POST', '/v1.0/subscriptions', { token: mine, body: body() });
    expect(created.status).toBe(201);
    const id: string = created.json.id;

    const listed = await service.request('GET', '/v1.0/subscriptions', { token: mine });
    expect((listed.json.value as { id: string }[]).map((entry) => entry.id)).toContain(id);

    for (const [method, options] of [
      ['GET', {}],
      ['PATCH', { body: { expirationDateTime: inMinutes(120) } }],
      ['DELETE', {}],
    ] as const) {
      const response = await service.request(method, `/v1.0/subscriptions/${id}`, { token: otherApp, ...options });
      expect([method, response.status]).toEqual([method, 404]);
    }
    const otherList = await service.request('GET', '/v1.0/subscriptions', { token: otherApp });
    expect((otherList.json.value as { id: string }[]).map((entry) => entry.id)).not.toContain(id);
    const otherTenant = await service.request('GET', `/v1.0/subscriptions/${id}`, { token: await service.appToken(['Directory.Read.All'], service.otherTenantId) });
    expect(otherTenant.status).toBe(404);

    const renewedTo = inMinutes(41_000);
    const renewed = await service.request('PATCH', `/v1.0/subscriptions/${id}`, { token: mine, body: { expirationDateTime: renewedTo } });
    expect(renewed.status).toBe(200);
    expect(renewed.json.expirationDateTime).toBe(renewedTo);
    const tooFar = await service.request('PATCH', `/v1.0/subscriptions/${id}`, { token: mine, body: { expirationDateTime: inMinutes(41_800) } });
    expect(tooFar.status).toBe(400);
    const other = await service.request('PATCH', `/v1.0/subscriptions/${id}`, { token: mine, body: { notificationUrl: receiver.url() } });
    expect(other.status).toBe(400);
    expect((await service.request('GET', `/v1.0/subscriptions/${id}`, { token: mine })).json.expirationDateTime).toBe(renewedTo);

    expect((await service.request('DELETE', `/v1.0/subscriptions/${id}`, { token: mine })).status).toBe(204);
    expect((await service.request('GET', `/v1.0/subscriptions/${id}`, { token: mine })).status).toBe(404);
    expect((await service.request('DELETE', `/v1.0/subscriptions/${id}`, { token: mine })).status).toBe(404);
  });

  it('answers 404 for an expired subscription and leaves it out of the list', async () => {
    const created = await service.request('POST', '/v1.0/subscriptions', { body: body({ expirationDateTime: new Date(Date.now() + 1500).toISOString() }) });
    expect(created.status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect((await service.request('GET', `/v1.0/subscriptions/${created.json.id}`)).status).toBe(404);
    expect((await service.request('PATCH', `/v1.0/subscriptions/${created.json.id}`, { body: { expirationDateTime: inMinutes(60) } })).status).toBe(404);
    const listed = await service.request('GET', '/v1.0/subscriptions');
    expect((listed.json.value as { id: string }[]).map((entry) => entry.id)).not.toContain(created.json.id);
  });
});
