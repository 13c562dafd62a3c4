/**
 * Every application setting the service reads (SPEC section 5). Settings are read once per
 * process; the infra test checks that the Bicep template sets each of them.
 */
export const appSettingNames = [
  'ENTRA_AUTHORITY',
  'ENTRA_TENANT_ID',
  'ENTRA_AUDIENCE',
  'COSMOS_ENDPOINT',
  'COSMOS_KEY',
  'COSMOS_DATABASE',
  'AzureWebJobsStorage',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
] as const;

const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ServiceSettings {
  /** Authority base URL, without a trailing slash. */
  readonly entraAuthority: string;
  /** Allowed tenant ids, lower case. */
  readonly entraTenantIds: readonly string[];
  readonly entraAudiences: readonly string[];
  readonly cosmosEndpoint: string;
  /** Absent: the app authenticates to Cosmos DB with its managed identity. */
  readonly cosmosKey: string | undefined;
  readonly cosmosDatabase: string;
}

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/**
 * Reads and checks the settings. Throws a SettingsError naming the setting at fault, so that a
 * misconfigured app fails at its first request with a message an operator can act on.
 */
export function readServiceSettings(env: NodeJS.ProcessEnv = process.env): ServiceSettings {
  const entraAuthority = (env.ENTRA_AUTHORITY ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
  let authorityUrl: URL;
  try {
    authorityUrl = new URL(entraAuthority);
  } catch {
    throw new SettingsError(`ENTRA_AUTHORITY is not a URL: '${entraAuthority}'.`);
  }
  // Plain http would let anyone on the path swap the signing keys; only loopback is exempt.
  if (authorityUrl.protocol !== 'https:' && !(authorityUrl.protocol === 'http:' && isLoopbackHost(authorityUrl.hostname))) {
    throw new SettingsError('ENTRA_AUTHORITY must use https (plain http only for a loopback host).');
  }

  const entraTenantIds = list(env.ENTRA_TENANT_ID).map((tenantId) => tenantId.toLowerCase());
  if (entraTenantIds.length === 0) throw new SettingsError('ENTRA_TENANT_ID is not set.');
  for (const tenantId of entraTenantIds) {
    if (!guidPattern.test(tenantId)) throw new SettingsError(`ENTRA_TENANT_ID has a value that is not a GUID: '${tenantId}'.`);
  }

  const entraAudiences = list(env.ENTRA_AUDIENCE);
  if (entraAudiences.length === 0) throw new SettingsError('ENTRA_AUDIENCE is not set.');

  const cosmosEndpoint = env.COSMOS_ENDPOINT ?? '';
  if (cosmosEndpoint === '') throw new SettingsError('COSMOS_ENDPOINT is not set.');

  return {
    entraAuthority,
    entraTenantIds,
    entraAudiences,
    cosmosEndpoint,
    cosmosKey: env.COSMOS_KEY === '' ? undefined : env.COSMOS_KEY,
    cosmosDatabase: env.COSMOS_DATABASE || 'membership',
  };
}

let cached: ServiceSettings | undefined;

/** The settings of this process, read on first use. */
export function getServiceSettings(): ServiceSettings {
  cached ??= readServiceSettings();
  return cached;
}

export { guidPattern };
