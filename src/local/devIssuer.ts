import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from './closeServer';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type KeyLike } from 'jose';

/** A signing key as kept on disk under .local/ (never committed). */
export interface StoredSigningKey {
  readonly kid: string;
  readonly privateJwk: JWK;
}

export interface TokenRequest {
  readonly tenantId: string;
  readonly audience: string;
  /** A delegated token for this user object id, with `scp` and `wids`. */
  readonly user?: { readonly id: string; readonly scopes?: readonly string[]; readonly roleIds?: readonly string[] };
  /** An application token with these `roles`. */
  readonly app?: { readonly roles?: readonly string[] };
  readonly appId?: string;
  /** v2 tokens carry `azp` and the v2 issuer; v1 tokens `appid` and sts.windows.net. */
  readonly version?: 'v1' | 'v2';
  readonly lifetimeInSeconds?: number;
  /** Extra or overriding claims, for tests of hostile tokens. */
  readonly claims?: Readonly<Record<string, unknown>>;
  /** Sign with this key id (must be one of the issuer's keys). */
  readonly kid?: string;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyLike;
  readonly publicJwk: JWK;
}

/**
 * An OpenID issuer on loopback, shaped like Entra's: discovery at
 * {authority}/{tenant}/v2.0/.well-known/openid-configuration and a JWKS per tenant. The service
 * finds it through ENTRA_AUTHORITY exactly as it finds login.microsoftonline.com, so local and
 * test tokens go through the production validation code. It signs RS256 tokens with keys it
 * generated itself.
 */
export class DevIssuer {
  private readonly keys: SigningKey[] = [];
  private server: http.Server | undefined;
  /** Known up front when signing for an issuer another process serves (`npm run token`). */
  constructor(private authorityUrl = '') {}

  /** How many times a key set was served: lets tests see the refetch cooldown at work. */
  jwksRequests = 0;
  /** When false the endpoints answer 503, as an unreachable key service would. */
  available = true;

  get authority(): string {
    return this.authorityUrl;
  }

  async addKey(stored?: StoredSigningKey): Promise<StoredSigningKey> {
    const kid = stored?.kid ?? randomUUID();
    let privateKey: KeyLike;
    let privateJwk: JWK;
    if (stored === undefined) {
      const pair = await generateKeyPair('RS256', { extractable: true });
      privateKey = pair.privateKey;
      privateJwk = await exportJWK(pair.privateKey);
    } else {
      privateJwk = stored.privateJwk;
      privateKey = (await importJWK(privateJwk, 'RS256')) as KeyLike;
    }
    const { n, e, kty } = privateJwk;
    this.keys.push({ kid, privateKey, publicJwk: { kty, n, e, kid, use: 'sig', alg: 'RS256' } });
    return { kid, privateJwk };
  }

  /** Generates a key that signs but is not published: tokens it signs carry an unknown kid. */
  async createUnpublishedKey(): Promise<{ kid: string; privateKey: KeyLike }> {
    const pair = await generateKeyPair('RS256');
    return { kid: randomUUID(), privateKey: pair.privateKey };
  }

  get publicKeys(): JWK[] {
    return this.keys.map((key) => key.publicJwk);
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = http.createServer((request, response) => this.serve(request, response));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    this.authorityUrl = `http://${host}:${(this.server.address() as AddressInfo).port}`;
    return this.authorityUrl;
  }

  async close(): Promise<void> {
    if (this.server !== undefined) await closeServer(this.server);
  }

  async signToken(request: TokenRequest, signWith?: { kid: string; privateKey: KeyLike }): Promise<string> {
    const key = signWith ?? (request.kid === undefined ? this.keys[0] : this.keys.find((candidate) => candidate.kid === request.kid));
    if (key === undefined) throw new Error('The issuer has no such signing key.');
    const version = request.version ?? 'v2';
    const appId = request.appId ?? '11111111-2222-3333-4444-555555555555';
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      tid: request.tenantId,
      ver: version === 'v2' ? '2.0' : '1.0',
      ...(version === 'v2' ? { azp: appId } : { appid: appId }),
    };
    if (request.user !== undefined) {
      Object.assign(claims, { oid: request.user.id, sub: request.user.id, scp: (request.user.scopes ?? []).join(' ') });
      if (request.user.roleIds !== undefined && request.user.roleIds.length > 0) claims.wids = [...request.user.roleIds];
    } else {
      Object.assign(claims, { oid: appId, sub: appId, idtyp: 'app', roles: [...(request.app?.roles ?? [])] });
    }
    Object.assign(claims, request.claims);
    const issuer = version === 'v2' ? `${this.authorityUrl}/${request.tenantId}/v2.0` : `https://sts.windows.net/${request.tenantId}/`;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
      .setIssuer(typeof request.claims?.iss === 'string' ? request.claims.iss : issuer)
      .setAudience(typeof request.claims?.aud === 'string' ? request.claims.aud : request.audience)
      .setIssuedAt(now)
      .setNotBefore(typeof request.claims?.nbf === 'number' ? request.claims.nbf : now)
      .setExpirationTime(typeof request.claims?.exp === 'number' ? request.claims.exp : now + (request.lifetimeInSeconds ?? 3600))
      .sign(key.privateKey);
  }

  private serve(request: http.IncomingMessage, response: http.ServerResponse): void {
    if (!this.available) {
      response.writeHead(503).end();
      return;
    }
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const discovery = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(path);
    if (discovery?.[1] !== undefined) {
      const tenantId = discovery[1];
      this.json(response, {
        issuer: `${this.authorityUrl}/${tenantId}/v2.0`,
        jwks_uri: `${this.authorityUrl}/${tenantId}/discovery/v2.0/keys`,
        id_token_signing_alg_values_supported: ['RS256'],
      });
      return;
    }
    if (/^\/[^/]+\/discovery\/v2\.0\/keys$/.test(path)) {
      this.jwksRequests += 1;
      this.json(response, { keys: this.publicKeys });
      return;
    }
    response.writeHead(404).end();
  }

  private json(response: http.ServerResponse, body: unknown): void {
    response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  }
}
