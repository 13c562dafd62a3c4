import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { warmUpOnStart } from '../../functions/appStart';
import { httpFunctions } from '../../functions/catalog';
import { readServiceSettings } from '../config/settings';
import { parseRouteTemplate, regexLiterals } from '../http/routeTemplate';
import { createCosmosStore, ensureCosmosResources } from '../store/cosmosStore';
import { getRepositories } from '../store/repositories';
import { demoIds, seedDemoDirectory } from './demoData';
import { DevIssuer } from './devIssuer';
import { startAzurite, startEmbeddedCosmos, type RunningStore } from './embeddedStores';
import { startFunctionsHost } from './functionsHost';
import { startTriggerHost } from './triggerHost';
import { queueFunctions, timerFunctions } from '../../functions/triggers';
import { outboxIdle } from '../subscriptions/outbox';
import { localHostSetting } from '../subscriptions/notificationUrl';
import { devAudience, readDevIssuerState, writeDevIssuerState } from './localSettings';

/** Values from local.settings.json (as `func start` reads them), under the real environment. */
function loadLocalSettings(): void {
  try {
    const file = JSON.parse(readFileSync(path.resolve(__dirname, '../../../local.settings.json'), 'utf8')) as { Values?: Record<string, string> };
    for (const [name, value] of Object.entries(file.Values ?? {})) if (process.env[name] === undefined && value !== '') process.env[name] = value;
  } catch {
    // No local.settings.json: defaults and the environment decide.
  }
}

/** Route templates as a person reads them: the constraint syntax folded into alternatives. */
function readableRoute(route: string): string {
  return parseRouteTemplate(route)
    .map((segment) => {
      if (segment.kind === 'literal') return segment.text;
      if (segment.catchAll) return '{anything else}  (404/405)';
      const literals = segment.constraints.length === 1 ? regexLiterals(segment.constraints[0]!.source) : undefined;
      let text = segment.name;
      if (literals !== undefined) {
        // microsoft.graph.user|microsoft.graph.group reads as microsoft.graph.user|group.
        const first = literals[0] ?? '';
        const dot = literals.length > 1 && literals.every((literal) => literal.startsWith(first.slice(0, first.lastIndexOf('.') + 1))) ? first.lastIndexOf('.') + 1 : 0;
        text = `${first.slice(0, dot)}${literals.map((literal) => literal.slice(dot)).join('|')}`;
      }
      return segment.optional ? `[${text}]` : `{${text}}`;
    })
    .join('/');
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  loadLocalSettings();
  const stopping: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stopping.reverse()) await stop().catch(() => undefined);
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  const lines: string[] = [];
  let devTenantId: string | undefined;
  if (process.env.ENTRA_TENANT_ID === undefined || process.env.ENTRA_TENANT_ID === '') {
    // Development issuer: only when no real tenant is configured, never beside one.
    const issuer = new DevIssuer();
    const previous = await readDevIssuerState();
    const key = await issuer.addKey(previous?.key);
    const issuerPort = Number(process.env.DEV_ISSUER_PORT ?? 7072);
    const authority = await issuer.listen(issuerPort);
    devTenantId = previous?.tenantId ?? randomUUID();
    await writeDevIssuerState({ tenantId: devTenantId, audience: devAudience, authority, key });
    stopping.push(() => issuer.close());
    process.env.ENTRA_AUTHORITY = authority;
    process.env.ENTRA_TENANT_ID = devTenantId;
    process.env.ENTRA_AUDIENCE ||= devAudience;
    lines.push(`Entra:    development issuer at ${authority} (tenant ${devTenantId}); tokens: npm run token`);
  } else {
    lines.push(`Entra:    ${process.env.ENTRA_AUTHORITY ?? 'https://login.microsoftonline.com'} (tenants ${process.env.ENTRA_TENANT_ID})`);
  }

  let cosmos: RunningStore | undefined;
  if (process.env.COSMOS_ENDPOINT === undefined || process.env.COSMOS_ENDPOINT === '') {
    cosmos = await startEmbeddedCosmos(Number(process.env.COSMOS_PORT ?? 0));
    stopping.push(() => cosmos!.close());
    process.env.COSMOS_ENDPOINT = cosmos.connection;
    // The embedded endpoint accepts any key; a key keeps @azure/identity out of local runs.
    process.env.COSMOS_KEY = 'embedded-cosmos-accepts-any-key';
    lines.push(`Cosmos:   embedded @vercel/cosmosdb-server at ${cosmos.connection} (IN MEMORY: data is lost on exit)`);
  } else {
    lines.push(`Cosmos:   ${process.env.COSMOS_ENDPOINT}`);
  }
  // UseDevelopmentStorage=true (the sample's value, for func start) means Azurite: start one.
  if (process.env.AzureWebJobsStorage === undefined || process.env.AzureWebJobsStorage === '' || process.env.AzureWebJobsStorage === 'UseDevelopmentStorage=true') {
    const azurite = await startAzurite();
    stopping.push(() => azurite.close());
    process.env.AzureWebJobsStorage = azurite.connection;
    lines.push(`Storage:  Azurite (in memory) ${/BlobEndpoint=([^;]+)/.exec(azurite.connection)?.[1] ?? ''}`);
  } else {
    lines.push('Storage:  AzureWebJobsStorage from the environment');
  }

  // Only the local host allows plain-http notification URLs to loopback (src/subscriptions/notificationUrl.ts).
  process.env[localHostSetting] = 'true';
  const settings = readServiceSettings();
  await ensureCosmosResources(await createCosmosStore(settings));
  if (devTenantId !== undefined) await seedDemoDirectory(await getRepositories(), devTenantId);

  const host = await startFunctionsHost({
    functions: httpFunctions,
    port: Number(process.env.PORT ?? 7071),
    // What functions/index.ts registers as its appStart hook, run as the worker runs it.
    appStartHooks: [warmUpOnStart],
    host: process.env.HOST ?? '127.0.0.1',
    logHandler: process.env.LOG_REQUESTS === '0' ? () => undefined : (level, ...args) => console.log(`[${level}]`, ...args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg)))),
  });
  stopping.push(() => host.close());
  // The timer and queue functions, as functions/index.ts registers them (app.timer, app.storageQueue),
  // polling Azurite's queue as the Functions host polls Storage (host.json extensions.queues).
  const log =
    process.env.LOG_REQUESTS === '0' ? () => undefined : (level: string, ...args: unknown[]) => console.log(`[${level}]`, ...args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))));
  const triggers = await startTriggerHost({ timers: timerFunctions, queues: queueFunctions, logHandler: (level, ...args) => level !== 'debug' && level !== 'trace' && log(level, ...args) });
  stopping.push(async () => {
    await triggers.close();
    await outboxIdle();
  });

  console.log(`Graph membership service listening on ${host.baseUrl} (${httpFunctions.length} functions, ready in ${Math.round(performance.now() - startedAt)} ms)`);
  for (const line of lines) console.log(line);
  console.log('Functions:');
  const rows = [...httpFunctions.map((definition) => [definition.methods.join(','), definition.name, `/${readableRoute(definition.route)}`] as const), ...triggers.description];
  const [methodsWidth, nameWidth] = [Math.max(...rows.map(([methods]) => methods.length)), Math.max(...rows.map(([, name]) => name.length))];
  for (const [methods, name, route] of rows) console.log(`  ${methods.padEnd(methodsWidth)}  ${name.padEnd(nameWidth)}  ${route}`);
  if (devTenantId !== undefined) {
    console.log('\nTry it (Adele owns the Engineering group):');
    console.log(`  TOKEN=$(npm run -s token)`);
    console.log(`  curl -s -H "Authorization: Bearer $TOKEN" ${host.baseUrl}/v1.0/groups/${demoIds.engineering}`);
  }
  console.log('\nCtrl-C stops the host and every store it started.');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
