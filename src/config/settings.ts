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

/**
 * Settings read when present and never required, so not in appSettingNames (which the Bicep
 * template must set): SERVICE_BASE_URLS for custom domains, WEBSITE_HOSTNAME (set by App Service
 * itself: https://learn.microsoft.com/azure/app-service/reference-app-settings#app-environment),
 * PORT for the local host, FUNCTIONS_LOCAL_HOST which only the local host sets (never Bicep:
 * plain-http notification URLs to loopback, src/subscriptions/notificationUrl.ts), and the
 * notification delivery's tuning, whose defaults are Graph's.
 */
export const optionalAppSettingNames = [
  'SERVICE_BASE_URLS',
  'WEBSITE_HOSTNAME',
  'PORT',
  'FUNCTIONS_LOCAL_HOST',
  // Change-notification delivery (src/subscriptions/delivery.ts): the receiver's time to answer
  // (3000 ms), the first retry's delay (30000 ms, doubling), the retry budget (4 hours); tests set them small.
  'NOTIFICATION_TIMEOUT_MS',
  'NOTIFICATION_RETRY_BASE_MS',
  'NOTIFICATION_RETRY_BUDGET_MS',
  // The queue service URI for the identity-based AzureWebJobsStorage (else https://{__accountName}.queue.core.windows.net).
  'AzureWebJobsStorage__queueServiceUri',
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

/** An origin (scheme, host, port) from a setting: http(s) and nothing after the host. */
function parseOrigin(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SettingsError(`${name} has a value that is not a URL: '${value}'.`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new SettingsError(`${name} must list base URLs such as https://membership.contoso.com (no path): '${value}'.`);
  }
  return url.origin;
}

/**
 * The base URLs this service is reached at, for @odata.context, @odata.nextLink, Location and
 * for knowing which `@odata.id` URLs name this service. Never the Host header: a client must not
 * be able to move links elsewhere. In order: SERVICE_BASE_URLS (comma list; custom domains
 * first), then https://{WEBSITE_HOSTNAME} in Azure; with neither, the local host's listening
 * address http://localhost:{PORT, default 7071}. The first is used for a request on any other host.
 */
export function readServiceBaseUrls(env: NodeJS.ProcessEnv = process.env): readonly string[] {
  const origins = list(env.SERVICE_BASE_URLS).map((value) => parseOrigin('SERVICE_BASE_URLS', value));
  const websiteHostname = env.WEBSITE_HOSTNAME?.trim();
  if (websiteHostname) origins.push(parseOrigin('WEBSITE_HOSTNAME', `https://${websiteHostname}`));
  if (origins.length === 0) origins.push(`http://localhost:${Number(env.PORT) || 7071}`);
  return [...new Set(origins)];
}

/** App Service sets WEBSITE_HOSTNAME; the local host never does. */
export function runsInAppService(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.WEBSITE_HOSTNAME ?? '').trim() !== '';
}

let cachedBaseUrls: { readonly key: string; readonly value: readonly string[] } | undefined;

/** The base URLs of this process; re-read only when their settings change (tests change them). */
export function getServiceBaseUrls(): readonly string[] {
  const key = `${process.env.SERVICE_BASE_URLS ?? ''}|${process.env.WEBSITE_HOSTNAME ?? ''}|${process.env.PORT ?? ''}`;
  if (cachedBaseUrls?.key !== key) cachedBaseUrls = { key, value: readServiceBaseUrls() };
  return cachedBaseUrls.value;
}

let cached: ServiceSettings | undefined;

/** The settings of this process, read on first use. */
export function getServiceSettings(): ServiceSettings {
  cached ??= readServiceSettings();
  return cached;
}

export { guidPattern };
