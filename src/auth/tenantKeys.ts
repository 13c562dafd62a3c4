import { createRemoteJWKSet } from 'jose';

/** jose's remote key set: a key getter that also reports and reloads its cached keys. */
export type RemoteKeySet = ReturnType<typeof createRemoteJWKSet>;

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
  private readonly keySets = new Map<string, Promise<RemoteKeySet>>();

  constructor(private readonly authority: string) {}

  getKeySet(tenantId: string): Promise<RemoteKeySet> {
    let keySet = this.keySets.get(tenantId);
    if (keySet === undefined) {
      keySet = this.discover(tenantId);
      // A failed discovery is not cached: the next request tries again.
      keySet.catch(() => this.keySets.delete(tenantId));
      this.keySets.set(tenantId, keySet);
    }
    return keySet;
  }

  /**
   * Discovery, the key set download and each signing key's import, done now rather than by the
   * tenant's first request (src/startup/warmUp.ts). jose downloads on its first getKey unless
   * the set is fresh, and `reload()` is that same download (one in flight, shared); the keys
   * it holds are imported on first use per kid, which a lookup by kid does here.
   */
  async prefetch(tenantId: string): Promise<void> {
    const keySet = await this.getKeySet(tenantId);
    if (!keySet.fresh) await keySet.reload();
    for (const key of keySet.jwks()?.keys ?? []) {
      if (key.kty !== 'RSA' || key.kid === undefined || (key.use !== undefined && key.use !== 'sig')) continue;
      await keySet({ alg: 'RS256', kid: key.kid });
    }
  }

  private async discover(tenantId: string): Promise<RemoteKeySet> {
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
