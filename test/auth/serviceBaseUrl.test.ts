import http from 'node:http';
import { TestService } from '../support/testService';
import { graphJsonOf, type GraphJson } from '../support/jsonText';

/**
 * The service's own URL (links, Location, which @odata.id hosts count as this service) comes from
 * configuration, never from the Host header a client sends (SPEC 4; issue 8 item 9).
 */
let service: TestService;
let groupId: string;
let adminToken: string;
/** The local host's listening address, the default base URL. */
const listening = `http://localhost:${Number(process.env.PORT) || 7071}`;
beforeAll(async () => {
  service = await TestService.start();
  adminToken = await service.adminToken();
  groupId = (await service.createGroup()).id;
  for (let index = 0; index < 2; index += 1) await service.addMember(groupId, (await service.createUser()).id);
});
afterAll(() => {
  delete process.env.SERVICE_BASE_URLS;
  delete process.env.WEBSITE_HOSTNAME;
  return service.stop();
});

interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: GraphJson;
}

/** fetch will not send a Host header of our choosing; node:http will. */
function requestWithHost(host: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  const target = new URL(service.baseUrl);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      {
        host: target.hostname,
        port: target.port,
        method,
        path,
        headers: {
          ...headers,
          Host: host,
          Authorization: `Bearer ${adminToken}`,
          ...(payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(payload)) }),
        },
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, json: graphJsonOf(Buffer.concat(chunks).toString('utf8')) }));
        incoming.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

describe('a forged Host header', () => {
  it('does not move @odata.context, @odata.nextLink or Location onto the forged host', async () => {
    const page = await requestWithHost('evil.example', 'GET', `/v1.0/groups/${groupId}/members?$top=1`);
    expect(page.status).toBe(200);
    expect(page.json['@odata.context']).toBe(`${listening}/v1.0/$metadata#directoryObjects`);
    expect(page.json['@odata.nextLink']).toMatch(new RegExp(`^${listening}/v1\\.0/groups/`));
    const created = await requestWithHost('evil.example:443', 'POST', '/v1.0/groups', { displayName: 'h', mailNickname: 'h', mailEnabled: false, securityEnabled: true });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`${listening}/v1.0/groups/${created.json.id}`);
  });

  it('does not make an @odata.id on the forged host count as this service', async () => {
    const user = await service.createUser();
    const response = await requestWithHost('evil.example', 'POST', `/v1.0/groups/${groupId}/members/$ref`, {
      '@odata.id': `http://evil.example/v1.0/directoryObjects/${user.id}`,
    });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('Request_BadRequest');
    expect(await service.storedEdges(groupId, user.id)).toEqual({ groupSide: false, memberSide: false });
  });

  it('the loopback address the client used stays the base, and a loopback proxy may still forward', async () => {
    const page = await service.request('GET', `/v1.0/groups/${groupId}/members?$top=1`);
    expect(page.json['@odata.nextLink']?.startsWith(`${service.baseUrl}/v1.0/`)).toBe(true);
    const proxied = await service.request('GET', `/v1.0/groups/${groupId}/members?$top=1`, {
      headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'localhost:8443' },
    });
    expect(proxied.json['@odata.nextLink']?.startsWith('https://localhost:8443/v1.0/')).toBe(true);
  });
});

describe('SERVICE_BASE_URLS', () => {
  beforeAll(() => {
    process.env.SERVICE_BASE_URLS = 'https://membership.contoso.example, https://contoso-membership.azurewebsites.net';
  });
  afterAll(() => {
    delete process.env.SERVICE_BASE_URLS;
  });

  it('answers on the configured host the client named, and on the first one for any other host', async () => {
    const named = await requestWithHost('contoso-membership.azurewebsites.net', 'GET', `/v1.0/groups/${groupId}/members?$top=1`);
    expect(named.json['@odata.nextLink']).toMatch(/^https:\/\/contoso-membership\.azurewebsites\.net\/v1\.0\/groups\//);
    const forged = await requestWithHost('evil.example', 'GET', `/beta/groups/${groupId}/members?$top=1`);
    expect(forged.json['@odata.context']).toBe('https://membership.contoso.example/beta/$metadata#directoryObjects');
  });

  it('accepts an @odata.id on any configured host, and still none on the forged one', async () => {
    const [first, second, third] = [await service.createUser(), await service.createUser(), await service.createUser()];
    const onCustomDomain = await service.request('POST', `/v1.0/groups/${groupId}/members/$ref`, {
      body: { '@odata.id': `https://membership.contoso.example/v1.0/directoryObjects/${first.id}` },
    });
    expect(onCustomDomain.status).toBe(204);
    const onDefaultHost = await requestWithHost('evil.example', 'POST', `/v1.0/groups/${groupId}/members/$ref`, {
      '@odata.id': `https://contoso-membership.azurewebsites.net/v1.0/users/${second.id}`,
    });
    expect(onDefaultHost.status).toBe(204);
    const forged = await requestWithHost('evil.example', 'POST', `/v1.0/groups/${groupId}/members/$ref`, {
      '@odata.id': `https://evil.example/v1.0/users/${third.id}`,
    });
    expect(forged.status).toBe(400);
  });
});

describe('in Azure (WEBSITE_HOSTNAME set)', () => {
  beforeAll(() => {
    process.env.WEBSITE_HOSTNAME = 'contoso-membership.azurewebsites.net';
  });
  afterAll(() => {
    delete process.env.WEBSITE_HOSTNAME;
  });

  it('links go to the app host, and a forged Host: localhost does not unlock forwarded headers', async () => {
    const forged = await requestWithHost('evil.example', 'GET', `/v1.0/groups/${groupId}/members?$top=1`);
    expect(forged.json['@odata.context']).toBe('https://contoso-membership.azurewebsites.net/v1.0/$metadata#directoryObjects');
    const viaLocalhost = await requestWithHost('localhost', 'GET', `/v1.0/groups/${groupId}/members?$top=1`, undefined, { 'X-Forwarded-Host': 'evil.example' });
    expect(viaLocalhost.json['@odata.nextLink']).toMatch(/^https:\/\/contoso-membership\.azurewebsites\.net\/v1\.0\/groups\//);
  });
});
