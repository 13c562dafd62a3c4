/**
 * The deployment as Azure Resource Manager will receive it: infra/main.bicep compiled to ARM JSON
 * by the official Bicep compiler (scripts/bicep.sh, the same one `npm run infra:build` and CI use),
 * then flattened across its modules (armTemplate.ts) so each value reads as what it will be at
 * deployment time. Compiling also type-checks every resource against Azure's schemas for its API
 * version, which a reader of the source could not.
 *
 * What only the source can show stays source checks: the app settings the code reads
 * (src/config/settings.ts), the Cosmos DB paths the queries filter on, azure.yaml and
 * main.parameters.json.
 *
 * Not a deployment: region availability, quota, policy and the data planes' behaviour are only
 * found by `azd provision`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { appSettingNames } from '../../src/config/settings';
import { listingIndexedPaths } from '../../src/directory/directoryListing';
import { indexedPaths } from '../../src/store/cosmosStore';
import { matching } from '../support/matchers';
import { at, compileMainBicep, expression, findRepoRoot, flatten, jsonText, type FlatResource, type Json } from './armTemplate';

const repoRoot = findRepoRoot(__dirname);
const infraDir = path.join(repoRoot, 'infra');

// Restoring the compiler from NuGet the first time, then compiling: seconds, not milliseconds.
const compileTimeout = 240_000;

let compiled: ReturnType<typeof compileMainBicep>;
let resources: FlatResource[];
let outputs: Record<string, string>;

beforeAll(() => {
  compiled = compileMainBicep(repoRoot);
  ({ resources, outputs } = flatten(compiled.template));
}, compileTimeout);

const ofType = (type: string): FlatResource[] => resources.filter((r) => r.type === type);
const only = (type: string): FlatResource => {
  const found = ofType(type);
  expect({ type, count: found.length }).toEqual({ type, count: 1 });
  return found[0] as FlatResource;
};
/** The expression a resource property will have, e.g. "'FC1'" or "parameters('entraAudience')". */
const prop = (resource: FlatResource, dotted: string): string => expression(at(resource.body, dotted));
/** The last name segment of a (possibly child) resource: format('{0}/{1}', a, b) -> b. */
const leafName = (resource: FlatResource): string => {
  const name = prop(resource, 'name');
  const format = /^format\('\{0\}(?:\/\{\d\})+', (.*)\)$/.exec(name);
  if (format === null) return name;
  const args = splitArgs(format[1] ?? '');
  return args[args.length - 1] ?? name;
};
/** Splits a top-level argument list on commas, respecting quotes and brackets. */
function splitArgs(text: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text.charAt(i);
    if (ch === "'") quoted = !quoted;
    else if (!quoted && (ch === '(' || ch === '[')) depth += 1;
    else if (!quoted && (ch === ')' || ch === ']')) depth -= 1;
    else if (!quoted && depth === 0 && ch === ',') {
      args.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  args.push(text.slice(start).trim());
  return args;
}
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The id of a resource of this template, as the compiled template refers to it. */
const idOf = (resource: FlatResource): string => `resourceId('${resource.type}', ${prop(resource, 'name')})`;
/** reference(<id>, '<api-version>')<accessor>, any API version. */
const referenceTo = (resource: FlatResource, accessor: string): RegExp => new RegExp(`^reference\\(${escape(idOf(resource))}, '[\\d-]+(?:-preview)?'\\)${escape(accessor)}$`);

interface AppSetting {
  name: string;
  value: string;
}
const appSettings = (site: FlatResource): AppSetting[] => {
  const list = at(site.body, 'properties.siteConfig.appSettings');
  if (!Array.isArray(list)) return [];
  return list.map((item: Json) => ({ name: jsonText(at(item, 'name')), value: expression(at(item, 'value')) }));
};

// ---------------------------------------------------------------------------------------------
// azure.yaml: a tiny reader for the nested maps of scalars it uses (no YAML library here).

function readYamlServices(file: string): Map<string, Map<string, string>> {
  const services = new Map<string, Map<string, string>>();
  let inServices = false;
  let serviceIndent = -1;
  let current: Map<string, string> | undefined;
  let keyIndent = -1;
  for (const raw of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    const line = raw.replace(/\s+#.*$/, '').replace(/^\s*#.*$/, '');
    if (line.trim() === '') continue;
    const indent = line.length - line.trimStart().length;
    const m = /^\s*([\w.-]+)\s*:\s*(.*)$/.exec(line);
    if (indent === 0) {
      inServices = m?.[1] === 'services';
      current = undefined;
      serviceIndent = -1;
      continue;
    }
    if (!inServices || m === null) continue;
    const key = m[1] ?? '';
    const value = (m[2] ?? '').replace(/^['"]|['"]$/g, '');
    if (serviceIndent === -1 || indent === serviceIndent) {
      serviceIndent = indent;
      current = new Map();
      keyIndent = -1;
      services.set(key, current);
    } else if (current !== undefined && (keyIndent === -1 || indent === keyIndent)) {
      keyIndent = indent;
      current.set(key, value);
    }
  }
  return services;
}

// ---------------------------------------------------------------------------------------------
// The Cosmos DB paths the code's queries filter on, read from the source: every `c.<path>` in the
// WHERE clause of a SQL string under src/.

function listFiles(dir: string, suffix: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(full, suffix);
    return entry.name.endsWith(suffix) ? [full] : [];
  });
}

function queriedPaths(under = 'src'): { paths: string[]; files: string[] } {
  const paths = new Set<string>();
  const files = new Set<string>();
  for (const file of listFiles(path.join(repoRoot, under), '.ts')) {
    // The directory container's queries are read separately (below).
    if (under === 'src' && file.startsWith(path.join(repoRoot, 'src', 'directory'))) continue;
    const source = fs.readFileSync(file, 'utf8');
    for (const m of source.matchAll(/"(SELECT\b[^"]*)"|'(SELECT\b[^']*)'|`(SELECT\b[^`]*)`/g)) {
      files.add(path.relative(repoRoot, file).split(path.sep).join('/'));
      const where = /\bWHERE\b([\s\S]*)$/i.exec(m[1] ?? m[2] ?? m[3] ?? '')?.[1] ?? '';
      // `id` needs no included path: Cosmos DB always indexes it (and _ts) in consistent mode
      // (https://learn.microsoft.com/azure/cosmos-db/index-policy#include-exclude-paths).
      for (const field of where.matchAll(/\bc\.([A-Za-z_]\w*)/g)) if (field[1] !== 'id') paths.add(`/${field[1] ?? ''}/?`);
    }
    // Query strings built up piece by piece (checkConsistency.ts adds a tenant filter).
    for (const m of source.matchAll(/query \+= ['"`]\s*AND ([^'"`]*)['"`]/g)) {
      for (const field of (m[1] ?? '').matchAll(/\bc\.([A-Za-z_]\w*)/g)) paths.add(`/${field[1] ?? ''}/?`);
    }
  }
  return { paths: [...paths].sort(), files: [...files].sort() };
}

// ---------------------------------------------------------------------------------------------

describe('infra: infra/main.bicep compiled by the Bicep CLI (ARM JSON), not deployed', () => {
  it('compiles with no error or warning from the compiler or its linter', () => {
    expect(compiled.diagnostics.split('\n').filter((line) => /\) : (Error|Warning) /.test(line))).toEqual([]);
    expect(at(compiled.template, 'metadata._generator.name')).toBe('bicep');
    // Subscription scope, so that azd creates the resource group itself.
    expect(jsonText(compiled.template.$schema)).toMatch(/subscriptionDeploymentTemplate\.json#$/);
    expect(ofType('Microsoft.Resources/resourceGroups').map((rg) => prop(rg, 'name'))).toEqual(["format('rg-{0}', parameters('environmentName'))"]);
  });

  it('uses no registry modules: everything that deploys is in infra/', () => {
    const registry = listFiles(infraDir, '.bicep').filter((file) => /^\s*module\s+\w+\s+'(br[:/]|ts[:/])/m.test(fs.readFileSync(file, 'utf8')));
    expect(registry).toEqual([]);
  });

  it('main.parameters.json sets only declared parameters, from the azd environment, and every required one', () => {
    const json = JSON.parse(fs.readFileSync(path.join(infraDir, 'main.parameters.json'), 'utf8')) as { parameters?: Record<string, { value?: unknown }> };
    const supplied = json.parameters ?? {};
    const declared = at(compiled.template, 'parameters') as Record<string, { defaultValue?: unknown }>;
    expect(Object.keys(supplied).filter((name) => !(name in declared))).toEqual([]);
    expect(Object.keys(declared).filter((name) => !('defaultValue' in (declared[name] ?? {})) && !(name in supplied))).toEqual([]);
    expect(Object.fromEntries(Object.entries(supplied).map(([name, p]) => [name, p.value]))).toEqual({
      environmentName: '${AZURE_ENV_NAME}',
      location: '${AZURE_LOCATION}',
      entraTenantIds: '${ENTRA_TENANT_ID}',
      entraAudience: '${ENTRA_AUDIENCE}',
      entraAuthority: '${ENTRA_AUTHORITY}',
    });
  });

  it('azure.yaml deploys one service, api, as a Function App from the repository root, to the app tagged for it', () => {
    const services = readYamlServices(path.join(repoRoot, 'azure.yaml'));
    expect([...services.keys()]).toEqual(['api']);
    const api = services.get('api');
    expect(api?.get('host')).toBe('function');
    expect(api?.get('language')).toMatch(/^(ts|typescript)$/);
    expect(api?.get('project')).toMatch(/^\.\/?$/);
    // azd finds the app to deploy the service to by this tag, and the environment's resources by azd-env-name.
    const tags = prop(only('Microsoft.Web/sites'), 'tags');
    expect(tags).toMatch(/^union\(\{"azd-env-name":"\[parameters\('environmentName'\)\]"\}, createObject\('azd-service-name', '([^']+)'\)\)$/);
    expect(/'azd-service-name', '([^']+)'/.exec(tags)?.[1]).toBe([...services.keys()][0]);
  });

  it("azure.yaml's remoteBuild agrees with .funcignore (azd refuses a mismatch at deploy time)", () => {
    // azd (Flex Consumption, js/ts): remoteBuild true requires .funcignore to exclude node_modules,
    // remoteBuild false forbids it; unset follows .funcignore.
    const remoteBuild = readYamlServices(path.join(repoRoot, 'azure.yaml')).get('api')?.get('remoteBuild');
    const funcignore = path.join(repoRoot, '.funcignore');
    if (remoteBuild === undefined || !fs.existsSync(funcignore)) return;
    const excludesNodeModules = fs
      .readFileSync(funcignore, 'utf8')
      .split(/\r?\n/)
      .some((line) => /^\/?node_modules(\/(\*\*)?)?\s*$/.test(line.trim()));
    expect({ remoteBuild, funcignoreExcludesNodeModules: excludesNodeModules }).toEqual({
      remoteBuild: String(excludesNodeModules),
      funcignoreExcludesNodeModules: excludesNodeModules,
    });
  });

  it('the Function App is Linux on Flex Consumption (FC1), Node.js 22, HTTPS only, TLS 1.2', () => {
    const plan = only('Microsoft.Web/serverfarms');
    expect([prop(plan, 'sku.name'), prop(plan, 'sku.tier'), prop(plan, 'properties.reserved')]).toEqual(["'FC1'", "'FlexConsumption'", 'true']);
    const site = only('Microsoft.Web/sites');
    expect(prop(site, 'kind')).toBe("'functionapp,linux'");
    expect(prop(site, 'properties.serverFarmId')).toBe(idOf(plan));
    expect(prop(site, 'properties.httpsOnly')).toBe('true');
    expect(prop(site, 'properties.siteConfig.minTlsVersion')).toBe("'1.2'");
    expect({ name: prop(site, 'properties.functionAppConfig.runtime.name'), version: prop(site, 'properties.functionAppConfig.runtime.version') }).toEqual({
      name: "'node'",
      version: "'22'",
    });
    expect(Object.keys((at(site.body, 'properties.functionAppConfig.scaleAndConcurrency') ?? {}) as object).sort()).toEqual(['instanceMemoryMB', 'maximumInstanceCount']);
  });

  it('the app runs as one user-assigned identity, created by this template, and reads its package from blob storage with it', () => {
    const identity = only('Microsoft.ManagedIdentity/userAssignedIdentities');
    const site = only('Microsoft.Web/sites');
    expect(prop(site, 'identity.type')).toBe("'UserAssigned'");
    expect(Object.keys((at(site.body, 'identity.userAssignedIdentities') ?? {}) as object)).toEqual([`[format('{0}', ${idOf(identity)})]`]);

    const storage = only('Microsoft.Storage/storageAccounts');
    const container = only('Microsoft.Storage/storageAccounts/blobServices/containers');
    expect(prop(site, 'properties.functionAppConfig.deployment.storage.type')).toBe("'blobContainer'");
    expect(prop(site, 'properties.functionAppConfig.deployment.storage.value')).toMatch(
      new RegExp(`^format\\('\\{0\\}\\{1\\}', ${referenceTo(storage, '.primaryEndpoints.blob').source.slice(1, -1)}, ${escape(leafName(container))}\\)$`),
    );
    expect(prop(site, 'properties.functionAppConfig.deployment.storage.authentication.type')).toBe("'UserAssignedIdentity'");
    expect(prop(site, 'properties.functionAppConfig.deployment.storage.authentication.userAssignedIdentityResourceId')).toBe(idOf(identity));
  });

  it('every role the identity needs is granted before the app is created', () => {
    // The api module waits for the rbac module, which holds every role assignment: so the first
    // start of the app already has its data-plane rights.
    const deployments = ofType('Microsoft.Resources/deployments');
    const api = deployments.find((d) => prop(d, 'name') === "'api'");
    expect((at(api?.body, 'dependsOn') as string[]).some((d) => d.includes("'Microsoft.Resources/deployments', 'rbac')"))).toBe(true);
    const assignments = resources.filter((r) => r.type === 'Microsoft.Authorization/roleAssignments' || r.type === 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments');
    expect(assignments.length).toBeGreaterThan(0);
    expect([...new Set(assignments.map((r) => r.module))]).toEqual(['rbac']);
    expect(ofType('Microsoft.Web/sites').map((r) => r.module)).toEqual(['api']);
  });

  it('the identity holds the storage, monitoring and Cosmos DB data roles, on those resources only', () => {
    const identity = only('Microsoft.ManagedIdentity/userAssignedIdentities');
    const principal = referenceTo(identity, '.principalId');
    const storage = only('Microsoft.Storage/storageAccounts');
    const insights = only('Microsoft.Insights/components');
    const scopeName = new Map([
      [idOf(storage), 'storage account'],
      [idOf(insights), 'Application Insights'],
    ]);
    const granted = ofType('Microsoft.Authorization/roleAssignments').map((r) => ({
      scope: scopeName.get(prop(r, 'scope')) ?? prop(r, 'scope'),
      role: /^subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', '([0-9a-f-]+)'\)$/.exec(prop(r, 'properties.roleDefinitionId'))?.[1],
      toIdentity: principal.test(prop(r, 'properties.principalId')),
      principalType: prop(r, 'properties.principalType'),
    }));
    const toIdentity = { toIdentity: true, principalType: "'ServicePrincipal'" };
    expect(granted).toEqual([
      // Storage Blob Data Owner, Storage Table Data Contributor, Storage Queue Data Contributor (rbac.bicep says why these)
      { scope: 'storage account', role: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b', ...toIdentity },
      { scope: 'storage account', role: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3', ...toIdentity },
      { scope: 'storage account', role: '974c5e8b-45b9-4653-ba55-5f855dd0fb88', ...toIdentity },
      // Monitoring Metrics Publisher: Entra ID-authenticated telemetry
      { scope: 'Application Insights', role: '3913510d-42f4-4e42-8a64-420c390055eb', ...toIdentity },
    ]);

    const account = only('Microsoft.DocumentDB/databaseAccounts');
    const cosmosRole = only('Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments');
    expect(prop(cosmosRole, 'properties.roleDefinitionId')).toBe(`format('{0}/sqlRoleDefinitions/{1}', ${idOf(account)}, '00000000-0000-0000-0000-000000000002')`);
    expect(prop(cosmosRole, 'properties.scope')).toBe(idOf(account));
    expect(prop(cosmosRole, 'properties.principalId')).toMatch(principal);
  });

  it('sets every app setting the code reads (src/config/settings.ts), and none that Flex rejects or that hold a key', () => {
    // The two names the code reads that Azure deliberately does not set as such:
    // - COSMOS_KEY: absent on purpose (SPEC.md section 5: "COSMOS_KEY (absent: managed identity)");
    //   the account has local (key) auth disabled, so a key could not work anyway.
    // - AzureWebJobsStorage: the host's identity-based form AzureWebJobsStorage__accountName (+
    //   __credential, __clientId) replaces the connection string, which would need shared keys.
    const mustBeAbsent = new Set(['COSMOS_KEY']);
    const satisfiedBy = new Map([['AzureWebJobsStorage', 'AzureWebJobsStorage__accountName']]);
    const names = appSettings(only('Microsoft.Web/sites')).map((s) => s.name);
    const missing = [...appSettingNames]
      .filter((name) => !mustBeAbsent.has(name))
      .map((name) => satisfiedBy.get(name) ?? name)
      .filter((name) => !names.includes(name));
    expect(missing).toEqual([]);
    const forbidden = [
      ...mustBeAbsent,
      ...satisfiedBy.keys(),
      // Flex Consumption rejects these: the runtime is in functionAppConfig, content in blob storage.
      'FUNCTIONS_WORKER_RUNTIME',
      'WEBSITE_NODE_DEFAULT_VERSION',
      'FUNCTIONS_EXTENSION_VERSION',
      'WEBSITE_RUN_FROM_PACKAGE',
      'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
      'WEBSITE_CONTENTSHARE',
      'APPINSIGHTS_INSTRUMENTATIONKEY',
    ];
    expect(names.filter((n) => forbidden.includes(n))).toEqual([]);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it('wires each app setting to its source', () => {
    const identity = only('Microsoft.ManagedIdentity/userAssignedIdentities');
    const clientId = referenceTo(identity, '.clientId').source.slice(1, -1);
    const settings = Object.fromEntries(appSettings(only('Microsoft.Web/sites')).map((s) => [s.name, s.value]));
    expect(settings).toEqual({
      AzureWebJobsStorage__accountName: prop(only('Microsoft.Storage/storageAccounts'), 'name'),
      AzureWebJobsStorage__credential: "'managedidentity'",
      AzureWebJobsStorage__clientId: matching(new RegExp(`^${clientId}$`)),
      APPLICATIONINSIGHTS_CONNECTION_STRING: matching(referenceTo(only('Microsoft.Insights/components'), '.ConnectionString')),
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: matching(new RegExp(`^format\\('ClientId=\\{0\\};Authorization=AAD', ${clientId}\\)$`)),
      // The deploying cloud's login endpoint unless the parameter says otherwise.
      ENTRA_AUTHORITY: "if(empty(parameters('entraAuthority')), environment().authentication.loginEndpoint, parameters('entraAuthority'))",
      // Never empty in Azure: the deploying tenant unless the parameter lists tenants.
      ENTRA_TENANT_ID: "if(empty(parameters('entraTenantIds')), tenant().tenantId, parameters('entraTenantIds'))",
      ENTRA_AUDIENCE: "parameters('entraAudience')",
      // DefaultAzureCredential (@azure/identity) picks the user-assigned identity by this variable.
      AZURE_CLIENT_ID: matching(new RegExp(`^${clientId}$`)),
      COSMOS_ENDPOINT: matching(referenceTo(only('Microsoft.DocumentDB/databaseAccounts'), '.documentEndpoint')),
      COSMOS_DATABASE: "parameters('cosmosDatabaseName')",
    });
  });

  it('host storage refuses shared keys and anonymous blob access', () => {
    const storage = only('Microsoft.Storage/storageAccounts');
    expect({
      allowSharedKeyAccess: prop(storage, 'properties.allowSharedKeyAccess'),
      allowBlobPublicAccess: prop(storage, 'properties.allowBlobPublicAccess'),
      minimumTlsVersion: prop(storage, 'properties.minimumTlsVersion'),
      supportsHttpsTrafficOnly: prop(storage, 'properties.supportsHttpsTrafficOnly'),
    }).toEqual({ allowSharedKeyAccess: 'false', allowBlobPublicAccess: 'false', minimumTlsVersion: "'TLS1_2'", supportsHttpsTrafficOnly: 'true' });
    expect(prop(only('Microsoft.Storage/storageAccounts/blobServices/containers'), 'properties.publicAccess')).toBe("'None'");
  });

  it('Cosmos DB is NoSQL, serverless, Session, TLS 1.2, with key auth off, and the database the app is told', () => {
    const account = only('Microsoft.DocumentDB/databaseAccounts');
    expect({
      kind: prop(account, 'kind'),
      capabilities: at(account.body, 'properties.capabilities'),
      consistency: prop(account, 'properties.consistencyPolicy.defaultConsistencyLevel'),
      tls: prop(account, 'properties.minimalTlsVersion'),
      disableLocalAuth: prop(account, 'properties.disableLocalAuth'),
      disableKeyBasedMetadataWriteAccess: prop(account, 'properties.disableKeyBasedMetadataWriteAccess'),
    }).toEqual({
      kind: "'GlobalDocumentDB'",
      capabilities: [{ name: 'EnableServerless' }],
      consistency: "'Session'",
      tls: "'Tls12'",
      disableLocalAuth: 'true',
      disableKeyBasedMetadataWriteAccess: 'true',
    });
    const database = only('Microsoft.DocumentDB/databaseAccounts/sqlDatabases');
    expect([leafName(database), prop(database, 'properties.resource.id')]).toEqual(["parameters('cosmosDatabaseName')", "parameters('cosmosDatabaseName')"]);
  });

  it('the containers directory and memberships are partitioned on /pk and index only the paths the queries filter on', () => {
    const containers = Object.fromEntries(
      ofType('Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers').map((c) => [
        prop(c, 'properties.resource.id'),
        {
          name: leafName(c),
          partitionKey: at(c.body, 'properties.resource.partitionKey'),
          defaultTtl: at(c.body, 'properties.resource.defaultTtl'),
          indexingPolicy: at(c.body, 'properties.resource.indexingPolicy'),
        },
      ]),
    );
    const policy = (includedPaths: string[]) => ({
      indexingMode: 'consistent',
      automatic: true,
      includedPaths: includedPaths.map((p) => ({ path: p })),
      // Everything else, far-object snapshots included.
      excludedPaths: [{ path: '/*' }],
    });
    const partitionKey = { paths: ['/pk'], kind: 'Hash', version: 2 };

    const queried = queriedPaths();
    expect(queried.files).toEqual([
      'src/changes/changeReads.ts',
      'src/membership/anchors.ts',
      'src/membership/closure.ts',
      'src/membership/closureCheck.ts',
      'src/membership/membershipRepository.ts',
      'src/membership/pendingDeletions.ts',
      'src/membership/reconciler.ts',
      'src/subscriptions/subscriptionStore.ts',
      // Its other query reads the whole directory container with no filter (it needs no index).
      'src/tools/anchorBackfill.ts',
      'src/tools/checkConsistency.ts',
    ]);
    expect(queried.paths).toEqual(['/atMs/?', '/farType/?', '/groupId/?', '/kind/?', '/objectId/?', '/pk/?', '/tenantId/?']);
    // The directory is read by id and partition key, except the listing queries of GET /users and
    // /groups, which build their WHERE clause from the columns listingIndexedPaths names.
    const directoryQueries = queriedPaths('src/directory');
    expect(directoryQueries.files).toEqual(['src/directory/directoryListing.ts']);
    const directoryPaths = [...new Set([...directoryQueries.paths, ...listingIndexedPaths])].sort();
    expect(directoryPaths).toEqual(['/displayName/?', '/groupTypes/[]/?', '/mail/?', '/mailEnabled/?', '/mailNickname/?', '/pk/?', '/securityEnabled/?', '/userPrincipalName/?']);
    // What the local host and tests create (ensureCosmosResources) indexes the same paths.
    expect(indexedPaths).toEqual({ directory: directoryPaths, memberships: queried.paths });

    const memberships = containers["'memberships'"];
    const sortedPaths = (c: typeof memberships): unknown => ({
      ...c,
      indexingPolicy: {
        ...(c?.indexingPolicy as object),
        includedPaths: ((at(c?.indexingPolicy, 'includedPaths') ?? []) as { path: string }[])
          .map((p) => p.path)
          .sort()
          .map((p) => ({ path: p })),
      },
    });
    expect({ directory: sortedPaths(containers["'directory'"]), memberships: sortedPaths(memberships) }).toEqual({
      directory: { name: "'directory'", partitionKey, defaultTtl: -1, indexingPolicy: policy(directoryPaths) },
      memberships: { name: "'memberships'", partitionKey, defaultTtl: -1, indexingPolicy: policy(queried.paths) },
    });
  });

  it('Application Insights is workspace-based, with local (key) auth off', () => {
    const insights = only('Microsoft.Insights/components');
    expect(prop(insights, 'properties.WorkspaceResourceId')).toBe(idOf(only('Microsoft.OperationalInsights/workspaces')));
    expect(prop(insights, 'properties.DisableLocalAuth')).toBe('true');
  });

  it('gives azd the outputs it writes to .env, API_BASE_URL pointing at the app', () => {
    expect(Object.keys(outputs).sort()).toEqual(['API_BASE_URL', 'AZURE_FUNCTION_APP_NAME', 'AZURE_LOCATION', 'AZURE_RESOURCE_GROUP', 'AZURE_TENANT_ID', 'COSMOS_DATABASE', 'COSMOS_ENDPOINT']);
    const site = only('Microsoft.Web/sites');
    expect(outputs.API_BASE_URL).toMatch(new RegExp(`^format\\('https://\\{0\\}', ${referenceTo(site, '.defaultHostName').source.slice(1, -1)}\\)$`));
    expect(outputs.COSMOS_ENDPOINT).toMatch(referenceTo(only('Microsoft.DocumentDB/databaseAccounts'), '.documentEndpoint'));
    expect(outputs.AZURE_FUNCTION_APP_NAME).toBe(prop(site, 'name'));
  });
});
