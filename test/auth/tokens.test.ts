import { createHmac, createPublicKey } from 'node:crypto';
import { SignJWT } from 'jose';
import { TestService, testAudience } from '../support/testService';

let service: TestService;
let userId: string;
beforeAll(async () => {
  service = await TestService.start();
  userId = (await service.createUser()).id;
});
afterAll(() => service.stop());

const meAs = (token: string | null, headers: Record<string, string> = {}) => service.request('GET', '/v1.0/me', { token, headers });
const readScopes = ['User.Read.All'];

function expectInvalidToken(response: { status: number; json: { error: { code: string } }; headers: Headers }): void {
  expect(response.status).toBe(401);
  expect(response.json.error.code).toBe('InvalidAuthenticationToken');
  expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
}

function base64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

describe('accepted tokens', () => {
  it('accepts a v2 delegated token and resolves /me to its oid', async () => {
    const response = await meAs(await service.userToken(userId, readScopes));
    expect(response.status).toBe(200);
    expect(response.json.id).toBe(userId);
  });

  it('accepts a v1 token (sts.windows.net issuer, appid claim)', async () => {
    const token = await service.token({ version: 'v1', user: { id: userId, scopes: readScopes } });
    expect((await meAs(token)).status).toBe(200);
  });

  it('accepts a token within the five minutes of clock skew', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await service.token({ user: { id: userId, scopes: readScopes }, claims: { exp: now - 200, nbf: now + 200 } });
    expect((await meAs(token)).status).toBe(200);
  });
});

describe('rejected tokens: 401 InvalidAuthenticationToken', () => {
  it('no Authorization header: "Access token is empty."', async () => {
    const response = await meAs(null);
    expectInvalidToken(response);
    expect(response.json.error.message).toBe('Access token is empty.');
  });

  it('not a bearer token', async () => {
    expectInvalidToken(await service.request('GET', '/v1.0/me', { token: null, headers: { Authorization: 'Basic dXNlcjpwYXNz' } }));
  });

  it('malformed', async () => {
    expectInvalidToken(await meAs('not.a.jwt'));
  });

  it('unsigned (alg none)', async () => {
    const good = await service.userToken(userId, readScopes);
    const [, payload] = good.split('.');
    expectInvalidToken(await meAs(`${base64url({ alg: 'none', typ: 'JWT' })}.${payload}.`));
  });

  it('HS256 signed with the public key as the secret', async () => {
    const publicPem = createPublicKey({ key: service.issuer.publicKeys[0]!, format: 'jwk' } as never).export({ type: 'spki', format: 'pem' });
    const good = await service.userToken(userId, readScopes);
    const [, payload] = good.split('.');
    const header = base64url({ alg: 'HS256', typ: 'JWT', kid: service.issuer.publicKeys[0]!.kid });
    const signature = createHmac('sha256', publicPem).update(`${header}.${payload}`).digest('base64url');
    expectInvalidToken(await meAs(`${header}.${payload}.${signature}`));
  });

  it('signature stripped or altered', async () => {
    const good = await service.userToken(userId, readScopes);
    const [header, payload] = good.split('.');
    expectInvalidToken(await meAs(`${header}.${payload}.`));
    const tampered = base64url({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), scp: 'Directory.ReadWrite.All' });
    expectInvalidToken(await meAs(`${header}.${tampered}.${good.split('.')[2]}`));
  });

  it('expired beyond the skew', async () => {
    const now = Math.floor(Date.now() / 1000);
    const response = await meAs(await service.token({ user: { id: userId, scopes: readScopes }, claims: { exp: now - 400, nbf: now - 4000 } }));
    expectInvalidToken(response);
    expect(response.json.error.message).toMatch(/expired/);
  });

  it('not yet valid beyond the skew', async () => {
    const now = Math.floor(Date.now() / 1000);
    expectInvalidToken(await meAs(await service.token({ user: { id: userId, scopes: readScopes }, claims: { nbf: now + 400, exp: now + 4000 } })));
  });

  it('for another audience (Graph itself)', async () => {
    expectInvalidToken(await meAs(await service.token({ audience: 'https://graph.microsoft.com', user: { id: userId, scopes: readScopes } })));
  });

  it('from another issuer', async () => {
    expectInvalidToken(await meAs(await service.token({ user: { id: userId, scopes: readScopes }, claims: { iss: 'https://evil.example/v2.0' } })));
  });

  it('whose issuer names a different tenant than tid', async () => {
    const iss = `${service.issuer.authority}/${service.otherTenantId}/v2.0`;
    expectInvalidToken(await meAs(await service.token({ user: { id: userId, scopes: readScopes }, claims: { iss } })));
  });

  it('from a tenant that is not allowed', async () => {
    const response = await meAs(await service.token({ tenantId: '00000000-0000-4000-8000-00000000dead', user: { id: userId, scopes: readScopes } }));
    expectInvalidToken(response);
  });

  it('signed by an unknown key', async () => {
    const stranger = await service.issuer.createUnpublishedKey();
    expectInvalidToken(await meAs(await service.issuer.signToken({ tenantId: service.tenantId, audience: testAudience, user: { id: userId, scopes: readScopes } }, stranger)));
  });

  it('RS256 with a non-RSA key type claim in the header is refused', async () => {
    const secret = new TextEncoder().encode('x'.repeat(64));
    const token = await new SignJWT({ tid: service.tenantId, oid: userId, scp: 'User.Read.All' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(`${service.issuer.authority}/${service.tenantId}/v2.0`)
      .setAudience(testAudience)
      .setExpirationTime('1h')
      .sign(secret);
    expectInvalidToken(await meAs(token));
  });

  it('huge', async () => {
    expectInvalidToken(await meAs(await service.token({ user: { id: userId, scopes: readScopes }, claims: { padding: 'x'.repeat(20_000) } })));
  });
});

describe('key handling', () => {
  it('refetches the key set at most once per cooldown however many unknown kids arrive', async () => {
    await meAs(await service.userToken(userId, readScopes));
    const before = service.issuer.jwksRequests;
    const strangers = await Promise.all(Array.from({ length: 5 }, () => service.issuer.createUnpublishedKey()));
    for (const stranger of strangers) {
      const token = await service.issuer.signToken({ tenantId: service.tenantId, audience: testAudience, user: { id: userId, scopes: readScopes } }, stranger);
      expect((await meAs(token)).status).toBe(401);
    }
    expect(service.issuer.jwksRequests - before).toBeLessThanOrEqual(1);
  });

  it('answers 503 with Retry-After, not 500, when the key endpoint of a tenant is down', async () => {
    service.issuer.available = false;
    try {
      const response = await meAs(await service.userToken(userId, readScopes, [], service.otherTenantId));
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).not.toBeNull();
    } finally {
      service.issuer.available = true;
    }
  });

  it('serves a verified token from cache: the same token keeps working without new key fetches', async () => {
    const token = await service.userToken(userId, readScopes);
    expect((await meAs(token)).status).toBe(200);
    const fetches = service.issuer.jwksRequests;
    service.issuer.available = false;
    try {
      expect((await meAs(token)).status).toBe(200);
    } finally {
      service.issuer.available = true;
    }
    expect(service.issuer.jwksRequests).toBe(fetches);
  });
});

describe('permissions', () => {
  it('403 Authorization_RequestDenied for a valid token without scp or roles', async () => {
    const response = await meAs(await service.userToken(userId, []));
    expect(response.status).toBe(403);
    expect(response.json.error).toMatchObject({ code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' });
  });

  it('403 for a near-miss scope name', async () => {
    expect((await meAs(await service.userToken(userId, ['User.Read.Al', 'user.read.all ']))).status).toBe(403);
  });

  it('400 BadRequest for /me with an application token', async () => {
    const response = await meAs(await service.appToken(['Directory.Read.All']));
    expect(response.status).toBe(400);
    expect(response.json.error).toMatchObject({ code: 'BadRequest', message: '/me request is only valid with delegated authentication flow.' });
  });
});
