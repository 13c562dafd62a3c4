import { decodeJwt, errors as joseErrors, generateKeyPair, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { ServiceSettings } from '../config/settings';
import { guidPattern } from '../config/settings';
import { GraphError, graphErrors } from '../http/errors';
import type { Caller } from './caller';
import { TenantKeyResolver } from './tenantKeys';

/** SPEC: exp and nbf are checked with five minutes of skew, as Entra's own libraries do. */
export const clockSkewInSeconds = 300;
/** Larger tokens are refused before any parsing; Entra's stay far below this. */
const maxTokenLength = 16 * 1024;
const maxCachedTokens = 10_000;

interface CachedCaller {
  readonly caller: Caller;
  readonly validUntilMs: number;
}

function stringClaim(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * SPEC 2, "Who the caller is": an application token is one with `idtyp: app`, or, where `idtyp`
 * is absent, one with no `scp` whose `oid` equals its `sub` (the shape of Entra's app-only
 * tokens before the optional `idtyp` claim). Anything else must be a user token with `scp`: a
 * user token carrying only `roles` is refused, never taken for an application.
 * https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference (idtyp, oid, sub)
 */
function toCaller(payload: JWTPayload, tenantId: string): Caller {
  const appId = stringClaim(payload, 'azp') ?? stringClaim(payload, 'appid') ?? '';
  const scp = stringClaim(payload, 'scp');
  const idtyp = payload.idtyp;
  const oid = stringClaim(payload, 'oid');
  const isApplication = idtyp === 'app' || (idtyp === undefined && scp === undefined && oid !== undefined && oid === payload.sub);
  if (isApplication) {
    const roles = Array.isArray(payload.roles) ? payload.roles.filter((role): role is string => typeof role === 'string') : [];
    return { kind: 'app', tenantId, appId, roles: new Set(roles) };
  }
  if (scp === undefined) throw graphErrors.invalidToken('Access token is neither a delegated token (scp) nor an application token.');
  const userId = oid?.toLowerCase();
  if (userId === undefined || !guidPattern.test(userId)) throw graphErrors.invalidToken('Access token has no valid oid claim.');
  // `roles` is deliberately not read: a user token is judged by `scp` and `wids` alone.
  const wids = Array.isArray(payload.wids) ? payload.wids.filter((id): id is string => typeof id === 'string') : [];
  return {
    kind: 'user',
    tenantId,
    userId,
    appId,
    scopes: new Set(scp.split(' ').filter((scope) => scope.length > 0)),
    roleIds: new Set(wids.map((id) => id.toLowerCase())),
  };
}

const compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Three base64url segments, each in its one canonical spelling. jose decodes leniently, so
 * without this a holder of one token could mint endless distinct strings that all verify
 * (defeating deny lists and flooding the verified-token cache).
 */
function isCanonicalCompactJws(token: string): boolean {
  if (!compactJws.test(token)) return false;
  return token.split('.').every((segment) => Buffer.from(segment, 'base64url').toString('base64url') === segment);
}

function describeJoseFailure(error: unknown): GraphError | undefined {
  if (error instanceof joseErrors.JWTExpired) return graphErrors.invalidToken('Lifetime validation failed, the token is expired.');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const claim = error.claim;
    if (claim === 'nbf') return graphErrors.invalidToken('Lifetime validation failed, the token is not yet valid.');
    if (claim === 'aud') return graphErrors.invalidToken('Invalid audience.');
    if (claim === 'iss') return graphErrors.invalidToken('Invalid issuer.');
    return graphErrors.invalidToken(`Access token has an invalid '${claim}' claim.`);
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) return graphErrors.invalidToken('Access token is signed by an unknown key.');
  if (error instanceof joseErrors.JWKSMultipleMatchingKeys) return graphErrors.invalidToken('Access token names no key (kid) and the tenant has several.');
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return graphErrors.invalidToken('Access token signature is invalid.');
  if (error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JOSENotSupported) {
    return graphErrors.invalidToken('Access token is not signed with RS256.');
  }
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return graphErrors.invalidToken('Access token is malformed.');
  return undefined;
}

/**
 * Verifies Entra ID access tokens for this API and turns them into a Caller. Everything that
 * depends on a token's content answers 401; only a key endpoint that cannot be reached answers
 * 503, since the token may well be good.
 */
export class EntraTokenVerifier {
  private readonly keys: TenantKeyResolver;
  private readonly verified = new Map<string, CachedCaller>();

  constructor(private readonly settings: ServiceSettings) {
    this.keys = new TenantKeyResolver(settings.entraAuthority);
  }

  /**
   * Start-up work a tenant's first request would otherwise wait for (src/startup/warmUp.ts):
   * every accepted tenant's discovery, key set and key imports; then one verification of a token
   * that names a real key but carries a zero signature, so that the verification code is compiled
   * too. That token is refused (401) like any forged one, and refusals are not cached.
   */
  async warmUp(): Promise<void> {
    await Promise.all(this.settings.entraTenantIds.map((tenantId) => this.keys.prefetch(tenantId)));
    const tenantId = this.settings.entraTenantIds[0];
    if (tenantId === undefined) return;
    const kid = (await this.keys.getKeySet(tenantId)).jwks()?.keys.find((key) => key.kty === 'RSA' && key.kid !== undefined)?.kid;
    if (kid === undefined) return;
    const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const nowSeconds = Math.floor(Date.now() / 1000);
    const claims = { tid: tenantId, iss: `${this.settings.entraAuthority}/${tenantId}/v2.0`, aud: this.settings.entraAudiences[0], iat: nowSeconds, nbf: nowSeconds, exp: nowSeconds + 60 };
    const forged = `${segment({ alg: 'RS256', typ: 'JWT', kid })}.${segment(claims)}.${Buffer.alloc(256).toString('base64url')}`;
    try {
      await this.verifyToken(forged);
      throw new Error('A token with a zero signature was accepted.');
    } catch (error) {
      if (!(error instanceof GraphError && error.status === 401)) throw error;
    }
    await this.warmUpClaimChecks(tenantId);
  }

  /**
   * The forged token above stops at its signature, so the claim checks a real token then goes
   * through (jose's issuer, audience and lifetime checks, then toCaller) would first run on the
   * first request. They run here on a token signed by a key made for this and thrown away: it is
   * verified against that key alone, never against a tenant's key set, and nothing is cached.
   */
  private async warmUpClaimChecks(tenantId: string): Promise<void> {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
    const appId = '00000000-0000-0000-0000-000000000000';
    const token = await new SignJWT({ tid: tenantId, idtyp: 'app', oid: appId, sub: appId, azp: appId, roles: [] })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(`${this.settings.entraAuthority}/${tenantId}/v2.0`)
      .setAudience(this.settings.entraAudiences[0] ?? appId)
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(privateKey);
    for (let round = 0; round < 4; round += 1) {
      const { payload } = await jwtVerify(token, publicKey, this.verifyOptions(tenantId));
      toCaller(payload, tenantId);
    }
  }

  async verifyAuthorizationHeader(header: string | null): Promise<Caller> {
    if (header === null || header.trim() === '') throw graphErrors.emptyToken();
    const match = /^Bearer +(\S+)\s*$/i.exec(header);
    if (match?.[1] === undefined) throw graphErrors.invalidToken('Authorization header is not a bearer token.');
    return this.verifyToken(match[1]);
  }

  async verifyToken(token: string): Promise<Caller> {
    const cached = this.verified.get(token);
    if (cached !== undefined) {
      if (cached.validUntilMs > Date.now()) return cached.caller;
      this.verified.delete(token);
    }
    if (token.length > maxTokenLength) throw graphErrors.invalidToken('Access token is too large.');
    if (!isCanonicalCompactJws(token)) throw graphErrors.invalidToken('Access token is malformed.');

    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      throw graphErrors.invalidToken('Access token is malformed.');
    }
    const tenantId = typeof unverified.tid === 'string' ? unverified.tid.toLowerCase() : undefined;
    if (tenantId === undefined || !guidPattern.test(tenantId)) throw graphErrors.invalidToken('Access token has no valid tid claim.');
    if (!this.settings.entraTenantIds.includes(tenantId)) throw graphErrors.invalidToken('Access token is from a tenant this API does not accept.');

    let keySet;
    try {
      keySet = await this.keys.getKeySet(tenantId);
    } catch {
      throw graphErrors.storeUnavailable(5);
    }

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keySet, this.verifyOptions(tenantId)));
    } catch (error) {
      const rejection = describeJoseFailure(error);
      if (rejection !== undefined) throw rejection;
      // Timeouts and unreachable key endpoints: the token may be fine, the keys are not at hand.
      throw graphErrors.storeUnavailable(5);
    }
    if (typeof payload.tid !== 'string' || payload.tid.toLowerCase() !== tenantId) throw graphErrors.invalidToken('Invalid issuer.');

    const caller = toCaller(payload, tenantId);
    this.remember(token, caller, (payload.exp ?? 0) + clockSkewInSeconds);
    return caller;
  }

  /** SPEC 2: RS256, the tenant's v1 or v2 issuer, an accepted audience, 5 minutes of skew. */
  private verifyOptions(tenantId: string): JWTVerifyOptions {
    return {
      algorithms: ['RS256'],
      issuer: [`https://sts.windows.net/${tenantId}/`, `${this.settings.entraAuthority}/${tenantId}/v2.0`],
      audience: [...this.settings.entraAudiences],
      clockTolerance: clockSkewInSeconds,
      requiredClaims: ['exp', 'iss', 'aud', 'tid'],
    };
  }

  private remember(token: string, caller: Caller, validUntilSeconds: number): void {
    if (this.verified.size >= maxCachedTokens) {
      const oldest = this.verified.keys().next();
      if (oldest.done !== true) this.verified.delete(oldest.value);
    }
    this.verified.set(token, { caller, validUntilMs: validUntilSeconds * 1000 });
  }
}
