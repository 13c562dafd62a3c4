import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';

/** How long a key endpoint or discovery document may take before the request gets a 503. */
const fetchTimeoutInMs = 5_000;
/** jose refetches the key set on an unknown `kid` at most once per this window. */
export const jwksCooldownInMs = 30_000;

export class KeyDiscoveryError extends Error {
  override readonly name = 'KeyDiscoveryError';
}

/**
 * Signing keys per tenant, found by OpenID discovery under the authority and then kept by jose's
 * remote key set (cached, one in-flight fetch, refetch on unknown kid outside the cooldown).
 */
export class TenantKeyResolver {
  private readonly keySets = new Map<string, Promise<JWTVerifyGetKey>>();

  constructor(private readonly authority: string) {}

  getKeySet(tenantId: string): Promise<JWTVerifyGetKey> {
    let keySet = this.keySets.get(tenantId);
    if (keySet === undefined) {
      keySet = this.discover(tenantId);
      // A failed discovery is not cached: the next request tries again.
      keySet.catch(() => this.keySets.delete(tenantId));
      this.keySets.set(tenantId, keySet);
    }
    return keySet;
  }

  private async discover(tenantId: string): Promise<JWTVerifyGetKey> {
    const discoveryUrl = `${this.authority}/${tenantId}/v2.0/.well-known/openid-configuration`;
    let response: Response;
    try {
      response = await fetch(discoveryUrl, { signal: AbortSignal.timeout(fetchTimeoutInMs), redirect: 'error' });
    } catch (error) {
      throw new KeyDiscoveryError(`OpenID discovery failed for tenant ${tenantId}.`, { cause: error });
    }
    if (!response.ok) throw new KeyDiscoveryError(`OpenID discovery answered ${response.status} for tenant ${tenantId}.`);
    const document = (await response.json().catch(() => undefined)) as { jwks_uri?: unknown } | undefined;
    if (typeof document?.jwks_uri !== 'string') throw new KeyDiscoveryError(`OpenID discovery for tenant ${tenantId} has no jwks_uri.`);
    return createRemoteJWKSet(new URL(document.jwks_uri), {
      timeoutDuration: fetchTimeoutInMs,
      cooldownDuration: jwksCooldownInMs,
      cacheMaxAge: 10 * 60_000,
    });
  }
}
