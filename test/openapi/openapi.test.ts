import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpFunctions } from '../../functions/catalog';
import { graphRoute, optionalRef } from '../../functions/httpFunction';
import { apiAppIdPlaceholder, connectorClientIdPlaceholder, connectorFiles, perConnectorRedirectUri } from '../../src/openapi/connector';
import { buildOpenApiDocument, operatorPlaceholders, placeholderHost } from '../../src/openapi/document';
import { expandRoute } from '../../src/openapi/routes';
import { caseFoldPattern } from '../../src/openapi/schemaConversion';
import { servedOpenApiDocument } from '../../src/openapi/served';
import { anyString, matching } from '../support/matchers';
import type { SchemaObject, SwaggerDocument } from '../../src/openapi/swagger';
import { connectorFolder, repositoryRoot } from '../../src/openapi/writeConnector';
import { roles, TestService, type TestResponse } from '../support/testService';
import { fillsTemplate, firstDifference, isSentenceCase, isTitleCase, operationsOf, parametersOf, propertiesOf, responsesOf, schemaProblems, type DocumentedOperation } from './swaggerChecks';
import { validateSwagger } from './validateSwagger';
import { Receiver } from '../changes/receiver';

/** Parses, dereferences and validates against the Swagger 2.0 schema; rejects with what is wrong. */
const validated = validateSwagger;

const generated = buildOpenApiDocument(httpFunctions);
const connectorDirectory = connectorFolder(repositoryRoot(__dirname));
const committed = (name: string) => readFileSync(join(connectorDirectory, name), 'utf8');

let service: TestService;
let servedText: TestResponse;
let served: SwaggerDocument;
/** A webhook receiver on loopback for the subscription operations (test/changes/receiver.ts). */
let receiver: Receiver;
beforeAll(async () => {
  service = await TestService.start();
  receiver = await Receiver.start();
  servedText = await service.request('GET', '/openapi.json', { token: null });
  served = await validated(servedText.json);
});
afterAll(async () => {
  await receiver.close();
  await service.stop();
});

describe('GET /openapi.json', () => {
  it('is anonymous, JSON, and names the host and scheme the request used', () => {
    expect(servedText.status).toBe(200);
    expect(servedText.headers.get('content-type')).toMatch(/^application\/json/);
    expect(servedText.json.host).toBe(new URL(service.baseUrl).host);
    expect(servedText.json.schemes).toEqual(['http']);
  });

  it('follows X-Forwarded-Proto and X-Forwarded-Host, as links do', async () => {
    const response = await service.request('GET', '/openapi.json', {
      token: null,
      headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'membership.contoso.example' },
    });
    expect(response.json.host).toBe('membership.contoso.example');
    expect(response.json.schemes).toEqual(['https']);
  });

  it('is valid Swagger 2.0 (swagger-parser validate)', async () => {
    await expect(validated(servedText.json)).resolves.toBeDefined();
  });

  it('is the connector definition but for host and schemes', () => {
    expect({ ...servedText.json, host: placeholderHost, schemes: ['https'] }).toEqual(JSON.parse(committed('apiDefinition.swagger.json')));
  });

  it('is built once per process, not per request', () => {
    const first = servedOpenApiDocument(httpFunctions, 'https://a.example');
    const second = servedOpenApiDocument(httpFunctions, 'http://b.example:8080');
    expect(second.paths).toBe(first.paths);
    expect(second.definitions).toBe(first.definitions);
    expect([first.host, second.host]).toEqual(['a.example', 'b.example:8080']);
  });
});

describe('the generator', () => {
  it('writes route templates as Swagger paths: v1.0, the $ref form, casts as variants, no catch-all', () => {
    expect(expandRoute(graphRoute(`users/{userId}/joinedGroups/${optionalRef}`))).toEqual([{ path: '/v1.0/users/{userId}/joinedGroups/$ref', variant: false, bareRefAccepted: true }]);
    expect(expandRoute(graphRoute('me/{relation:regex(^(memberOf|joinedGroups)$)}/{cast:regex(^microsoft\\.graph\\.(user|group)$)?}')).map(({ path, variant }) => [path, variant])).toEqual([
      ['/v1.0/me/memberOf', false],
      ['/v1.0/me/memberOf/microsoft.graph.user', true],
      ['/v1.0/me/memberOf/microsoft.graph.group', true],
      ['/v1.0/me/joinedGroups', false],
      ['/v1.0/me/joinedGroups/microsoft.graph.user', true],
      ['/v1.0/me/joinedGroups/microsoft.graph.group', true],
    ]);
    expect(expandRoute('{*path}')).toEqual([]);
    expect(() => expandRoute(graphRoute('groups/{id:regex(^[0-9]+$)}'))).toThrow(/cannot document|not a list of literal segments/);
  });

  it('keeps case-insensitive patterns case-insensitive without the flag', () => {
    const folded = caseFoldPattern('^[0-9a-f]{8}-[0-9a-f]{4}$');
    expect(folded).toBe('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}$');
    expect(new RegExp(folded).test('ABCDEF01-ab12')).toBe(true);
    expect(caseFoldPattern('^id\\x41$')).toBe('^[iI][dD]\\x41$');
  });

  it("reads each function's metadata from its definition, and refuses a function without it or a path no route serves", () => {
    const byName = (name: string) => httpFunctions.find((definition) => definition.name === name)!;
    expect(generated.paths['/v1.0/groups/{groupId}']?.get).toMatchObject({ operationId: byName('getGroup').openApi![0]!.operationId, summary: byName('getGroup').openApi![0]!.summary });
    const extra = { ...httpFunctions[0]!, name: 'listThings', route: graphRoute('things'), methods: ['GET'] as const, openApi: undefined };
    expect(() => buildOpenApiDocument([...httpFunctions, extra])).toThrow(/'listThings'.*has no openApi metadata/);
    expect(() => buildOpenApiDocument([...httpFunctions, { ...extra, openApi: [] }])).toThrow(/'listThings'.*has no openApi metadata/);
    const moved = httpFunctions.map((definition) => (definition.name === 'getGroup' ? { ...definition, route: graphRoute('teams/{groupId}') } : definition));
    expect(() => buildOpenApiDocument(moved)).toThrow(/'getGroup': its openApi entry GetGroup .* is not a path and method it serves/);
    const partial = httpFunctions.map((definition) => (definition.name === 'listMyRelations' ? { ...definition, openApi: definition.openApi!.slice(0, 1) } : definition));
    expect(() => buildOpenApiDocument(partial)).toThrow(/'listMyRelations' serves \/v1\.0\/me\/joinedGroups, which its openApi metadata does not document/);
  });
});

describe('connector/', () => {
  it('apiDefinition.swagger.json is valid Swagger 2.0 (swagger-parser validate)', async () => {
    await expect(validated(JSON.parse(committed('apiDefinition.swagger.json')))).resolves.toBeDefined();
  });

  it.each(Object.keys(connectorFiles(httpFunctions)))('%s is what `npm run connector` writes, byte for byte', (name) => {
    const drift = firstDifference(committed(name), connectorFiles(httpFunctions)[name]!);
    expect(drift === undefined ? 'in step' : `connector/${name} is out of date (${drift}): run npm run connector`).toBe('in step');
  });

  it('holds only the generated files', () => {
    expect(readdirSync(connectorDirectory).sort()).toEqual(Object.keys(connectorFiles(httpFunctions)).sort());
  });

  it('regenerates deterministically, pretty-printed with a final newline', () => {
    const [first, second] = [connectorFiles(httpFunctions), connectorFiles(httpFunctions)];
    expect(second).toEqual(first);
    for (const text of Object.values(first)) expect(text.endsWith('\n') && !text.endsWith('\n\n')).toBe(true);
    expect(first['apiDefinition.swagger.json']).toBe(`${JSON.stringify(JSON.parse(first['apiDefinition.swagger.json']!), null, 2)}\n`);
  });

  it('signs in with Microsoft Entra ID (aad) through a per-connector redirect URI', () => {
    type ApiProperties = { properties: { connectionParameters: { token: { type: string; oAuthSettings: { scopes: string[] } } } } };
    const { token } = (JSON.parse(committed('apiProperties.json')) as ApiProperties).properties.connectionParameters;
    expect(token.type).toBe('oauthSetting');
    expect(token.oAuthSettings).toMatchObject({
      identityProvider: 'aad',
      redirectMode: 'GlobalPerConnector',
      customParameters: { loginUri: { value: 'https://login.microsoftonline.com' }, tenantId: { value: 'common' } },
    });
    expect(token.oAuthSettings.scopes).toEqual([expect.stringMatching(/^api:\/\/.+\/\.default$/)]);
  });

  it('readme.md tells how to import, register the app (per-connector redirect URI, multi-tenant for common), and retry', () => {
    const readme = committed('readme.md');
    expect(readme).toContain('paconn create --api-def apiDefinition.swagger.json --api-prop apiProperties.json');
    expect(readme).toContain(perConnectorRedirectUri);
    expect(perConnectorRedirectUri).toBe('https://global.consent.azure-apim.net/redirect/{connectorId}');
    expect(readme).toMatch(/multi-tenant\): `apiProperties\.json` signs in with tenant\s+ID `common`/);
    expect(readme).toContain('Idempotency-Key');
    for (const { operation } of operationsOf(generated)) expect(readme).toContain(`(\`${operation.operationId}\`)`);
  });

  it('readme.md lists every placeholder the files hold', () => {
    const readme = committed('readme.md');
    const files = committed('apiProperties.json') + committed('apiDefinition.swagger.json');
    const placeholders = [connectorClientIdPlaceholder, apiAppIdPlaceholder, placeholderHost, ...Object.values(operatorPlaceholders)];
    for (const placeholder of placeholders) expect([placeholder, files.includes(placeholder), readme.includes(placeholder)]).toEqual([placeholder, true, true]);
  });
});

describe('connector rules', () => {
  let definition: SwaggerDocument;
  beforeAll(async () => {
    definition = await validated(JSON.parse(committed('apiDefinition.swagger.json')));
  });

  it("is Swagger '2.0' with JSON in and out", () => {
    expect(definition.swagger).toBe('2.0');
    expect([definition.consumes, definition.produces]).toEqual([['application/json'], ['application/json']]);
  });

  it('has unique PascalCase operationIds', () => {
    const ids = operationsOf(definition).map(({ operation }) => operation.operationId);
    expect(ids.filter((id) => !/^[A-Z][A-Za-z0-9]*$/.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('has summaries in the certification wording (sentence case; letters, digits, spaces, parentheses) and descriptions that end with a period', () => {
    const bad = operationsOf(definition).flatMap(({ operation }) => [
      ...(isSentenceCase(operation.summary) && /^[A-Za-z0-9() ]{1,80}$/.test(operation.summary) ? [] : [`summary '${operation.summary}'`]),
      ...(operation.description.endsWith('.') ? [] : [`description of ${operation.operationId}`]),
    ]);
    expect(bad).toEqual([]);
  });

  it('gives every parameter a Title Case x-ms-summary and a description', () => {
    const bad = operationsOf(definition).flatMap(({ operation }) =>
      parametersOf(operation)
        .filter((parameter) => !isTitleCase(parameter['x-ms-summary'] ?? '') || !parameter.description)
        .map((parameter) => `${operation.operationId} ${parameter.name}: '${parameter['x-ms-summary']}'`),
    );
    expect(bad).toEqual([]);
  });

  it('gives every body and response property a Title Case x-ms-summary and a description', () => {
    const bad: string[] = [];
    for (const { operation } of operationsOf(definition)) {
      const schemas: [string, SchemaObject | undefined][] = [
        ...parametersOf(operation).map((parameter): [string, SchemaObject | undefined] => [`${operation.operationId} body`, parameter.schema]),
        ...Object.entries(responsesOf(operation)).map(([status, response]): [string, SchemaObject | undefined] => [`${operation.operationId} ${status}`, response.schema]),
      ];
      for (const [where, schema] of schemas) {
        if (schema === undefined) continue;
        for (const property of propertiesOf(schema, where)) {
          if (!isTitleCase(property.schema['x-ms-summary'] ?? '')) bad.push(`${property.at}: '${property.schema['x-ms-summary']}'`);
          if (!property.schema.description) bad.push(`${property.at}: no description`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('asks for the OAuth token on every operation but health and the document itself', () => {
    expect(definition.securityDefinitions['oauth2-auth']).toMatchObject({ type: 'oauth2', authorizationUrl: 'https://login.microsoftonline.com/common/oauth2/authorize' });
    expect(definition.security).toEqual([{ 'oauth2-auth': [] }]);
    const anonymous = operationsOf(definition)
      .filter(({ operation }) => operation.security !== undefined)
      .map(({ path }) => path);
    expect(anonymous.sort()).toEqual(['/health', '/openapi.json']);
  });

  it('takes Idempotency-Key on the membership adds and client-request-id on every POST, both advanced', () => {
    for (const { operation } of operationsOf(definition).filter(({ method }) => method === 'post')) {
      const headers = parametersOf(operation).filter((parameter) => parameter.in === 'header');
      const names = headers.map((parameter) => parameter.name);
      expect(names).toContain('client-request-id');
      expect(names.includes('Idempotency-Key')).toBe(operation.operationId.startsWith('Add'));
      expect(headers.every((parameter) => parameter['x-ms-visibility'] === 'advanced')).toBe(true);
    }
  });

  it('encodes every path parameter once (x-ms-url-encoding single)', () => {
    const pathParameters = operationsOf(definition).flatMap(({ operation }) =>
      parametersOf(operation)
        .filter((parameter) => parameter.in === 'path')
        .map((parameter) => [operation.operationId, parameter.name, parameter['x-ms-url-encoding']]),
    );
    expect(pathParameters.length).toBeGreaterThan(10);
    expect(pathParameters.filter(([, , encoding]) => encoding !== 'single')).toEqual([]);
  });

  it('names a website, a privacy policy and categories from the certification list, and a contact', () => {
    const metadata = Object.fromEntries(definition['x-ms-connector-metadata'].map(({ propertyName, propertyValue }) => [propertyName, propertyValue]));
    expect(Object.keys(metadata)).toEqual(['Website', 'Privacy policy', 'Categories']);
    expect([URL.canParse(metadata.Website!), URL.canParse(metadata['Privacy policy']!)]).toEqual([true, true]);
    const certificationCategories = [
      'AI',
      'Business Management',
      'Business Intelligence',
      'Collaboration',
      'Commerce',
      'Communication',
      'Content and Files',
      'Finance',
      'Data',
      'Human Resources',
      'Internet of Things',
      'IT Operations',
      'Lifestyle and Entertainment',
      'Marketing',
      'Productivity',
      'Sales and CRM',
      'Security',
      'Social Media',
      'Website',
    ];
    expect(metadata.Categories!.split(';').filter((category) => !certificationCategories.includes(category))).toEqual([]);
    expect(definition.info.contact).toEqual({ name: anyString(), url: metadata.Website, email: matching(/^[^@\s]+@[^@\s]+\.[a-z]+$/) });
  });

  it('offers a group picker on every group ID, filled by a list of groups that needs no other input', () => {
    const groupIds = operationsOf(definition).flatMap(({ operation }) =>
      parametersOf(operation)
        .filter((parameter) => parameter.name === 'groupId')
        .map((parameter) => ({ operation, parameter })),
    );
    expect(groupIds.length).toBeGreaterThan(5);
    for (const { parameter } of groupIds) {
      expect(parameter['x-ms-dynamic-values']).toEqual({ operationId: 'ListMyJoinedGroups', 'value-collection': 'value', 'value-path': 'id', 'value-title': 'displayName' });
    }
    const source = operationsOf(definition).find(({ operation }) => operation.operationId === 'ListMyJoinedGroups')!;
    expect(source.method).toBe('get');
    expect(parametersOf(source.operation).filter((parameter) => parameter.required)).toEqual([]);
    const listed = responsesOf(source.operation)['200']!.schema!.properties!.value!;
    expect(listed.type).toBe('array');
    expect(Object.keys(listed.items!.properties!)).toEqual(expect.arrayContaining(['id', 'displayName']));
  });
});

describe('the connector as a client uses it', () => {
  it("group picker: lists the signed-in user's groups by name, and a picked ID works in an action", async () => {
    const [user, group] = await Promise.all([service.createUser(), service.createGroup({ displayName: 'Picker Readers' })]);
    expect((await service.addMember(group.id, user.id)).status).toBe(204);
    const parameter = served.parameters.groupId!;
    const picker = parameter['x-ms-dynamic-values']!;
    const source = operationsOf(served).find(({ operation }) => operation.operationId === picker.operationId)!;
    const token = await asUser(user.id);
    const listed = await send(source.method, { path: source.path, token });
    expect(listed.status).toBe(200);
    const choices = (listed.json[picker['value-collection']] as Record<string, unknown>[]).map((item) => [item[picker['value-path']], item[picker['value-title']]]);
    expect(choices).toEqual([[group.id, 'Picker Readers']]);
    const getGroup = operationsOf(served).find(({ operation }) => operation.operationId === 'GetGroup')!;
    const picked = await send(getGroup.method, { path: getGroup.path.replace('{groupId}', encodeURIComponent(String(choices[0]![0]))), token: await service.userToken(user.id, ['Group.Read.All']) });
    expect([picked.status, picked.json.id]).toEqual([200, group.id]);
  });

  it("path values encoded once: a UPN with #, ' and ^ reaches the user and adds it to a group", async () => {
    const userPrincipalName = `o'neil#ops^${randomUUID().slice(0, 6)}@contoso.example`;
    const [user, group] = await Promise.all([service.createUser({ userPrincipalName }), service.createGroup()]);
    // encodeURIComponent leaves ' as it is; a stricter encoder writes %27: both are one encoding.
    for (const encoded of [encodeURIComponent(userPrincipalName), encodeURIComponent(userPrincipalName).replace(/'/g, '%27')]) {
      const found = await send('get', { path: `/v1.0/users/${encoded}` });
      expect([found.status, found.json.id, found.json.userPrincipalName]).toEqual([200, user.id, userPrincipalName]);
    }
    const added = await send('post', { path: `/v1.0/users/${encodeURIComponent(userPrincipalName)}/joinedGroups/$ref`, body: { id: group.id } });
    expect(added.status).toBe(201);
    const members = await send('get', { path: `/v1.0/groups/${group.id}/members` });
    expect(members.json.value.map((member: { id: string }) => member.id)).toEqual([user.id]);
  });
});

/** Each documented operation made real: the data it needs, then the request a client would send. */
interface Call {
  readonly path: string;
  readonly body?: unknown;
  readonly token?: string | null;
}

const odataId = (collection: string, id: string) => `https://graph.microsoft.com/v1.0/${collection}/${id}`;
/** A signed-in user who may change any group's members (Global Administrator). */
const asUser = (userId: string) => service.userToken(userId, ['GroupMember.ReadWrite.All'], [roles.globalAdministrator]);
async function groupWithMembers(): Promise<{ id: string; userId: string; childId: string; parentId: string }> {
  const [group, user, child, parent] = await Promise.all([service.createGroup(), service.createUser(), service.createGroup(), service.createGroup()]);
  for (const response of [await service.addMember(group.id, user.id), await service.addMember(group.id, child.id), await service.addMember(parent.id, group.id)]) {
    if (response.status !== 204) throw new Error(`arranging members: ${response.status} ${response.text}`);
  }
  return { id: group.id, userId: user.id, childId: child.id, parentId: parent.id };
}
async function memberUser(): Promise<{ userId: string; groupId: string }> {
  const [user, group] = await Promise.all([service.createUser(), service.createGroup()]);
  await service.addMember(group.id, user.id);
  return { userId: user.id, groupId: group.id };
}

const subscriptionBody = (resource = 'groups') => ({ resource, changeType: 'updated', notificationUrl: receiver.url(), expirationDateTime: new Date(Date.now() + 3_600_000).toISOString() });
async function createdSubscription(): Promise<string> {
  const response = await service.request('POST', '/v1.0/subscriptions', { body: subscriptionBody() });
  if (response.status !== 201) throw new Error(`arranging a subscription: ${response.status} ${response.text}`);
  return response.json.id;
}

/** The four transitive actions (SPEC 7) on a group, a user and /me, each about a nested membership. */
function memberActionScenarios(): Record<string, () => Promise<Call>> {
  const entries: [string, () => Promise<Call>][] = [];
  for (const who of ['Group', 'User', 'My'] as const) {
    for (const action of ['checkMemberGroups', 'checkMemberObjects', 'getMemberGroups', 'getMemberObjects'] as const) {
      entries.push([
        `${who}${action[0]!.toUpperCase()}${action.slice(1)}`,
        async () => {
          const arranged = await groupWithMembers();
          const body =
            action === 'checkMemberGroups' ? { groupIds: [arranged.id, arranged.parentId] } : action === 'checkMemberObjects' ? { ids: [arranged.parentId] } : { securityEnabledOnly: false };
          if (who === 'Group') return { path: `/v1.0/groups/${arranged.childId}/${action}`, body };
          if (who === 'User') return { path: `/v1.0/users/${arranged.userId}/${action}`, body };
          return { path: `/v1.0/me/${action}`, body, token: await asUser(arranged.userId) };
        },
      ]);
    }
  }
  return Object.fromEntries(entries);
}

const scenarios: Record<string, () => Promise<Call>> = {
  AddMember: async () => {
    const [group, user] = await Promise.all([service.createGroup(), service.createUser()]);
    return { path: `/v1.0/groups/${group.id}/members/$ref`, body: { '@odata.id': odataId('directoryObjects', user.id) } };
  },
  AddMemberOf: async () => {
    const [child, parent] = await Promise.all([service.createGroup(), service.createGroup()]);
    return { path: `/v1.0/groups/${child.id}/memberOf/$ref`, body: { '@odata.type': '#microsoft.graph.group', id: parent.id } };
  },
  AddMyJoinedGroupMemberOf: async () => {
    const [{ userId, groupId }, parent] = await Promise.all([memberUser(), service.createGroup()]);
    return { path: `/v1.0/me/joinedGroups/${groupId}/memberOf/$ref`, body: { '@odata.id': odataId('groups', parent.id) }, token: await asUser(userId) };
  },
  AddMyJoinedGroup: async () => {
    const [user, group] = await Promise.all([service.createUser(), service.createGroup()]);
    return { path: '/v1.0/me/joinedGroups/$ref', body: { id: group.id }, token: await asUser(user.id) };
  },
  AddUserJoinedGroup: async () => {
    const [user, group] = await Promise.all([service.createUser(), service.createGroup()]);
    return { path: `/v1.0/users/${user.userPrincipalName}/joinedGroups/$ref`, body: { '@odata.id': odataId('groups', group.id) } };
  },
  CreateUser: async () => {
    const alias = `u${randomUUID().slice(0, 8)}`;
    return { path: '/v1.0/users', body: { displayName: alias, userPrincipalName: `${alias}@contoso.example`, givenName: 'Ada', usageLocation: 'GB' } };
  },
  CreateGroup: async () => {
    const owner = await service.createUser();
    const alias = `g${randomUUID().slice(0, 8)}`;
    return {
      path: '/v1.0/groups',
      body: { displayName: alias, mailNickname: alias, mailEnabled: true, securityEnabled: false, groupTypes: ['Unified'], visibility: 'Public', 'owners@odata.bind': [odataId('users', owner.id)] },
    };
  },
  GetUser: async () => ({ path: `/v1.0/users/${(await service.createUser({ jobTitle: 'Engineer' })).id}` }),
  GetGroup: async () => ({ path: `/v1.0/groups/${(await service.createGroup({ description: 'Readers' })).id}` }),
  GetMe: async () => ({ path: '/v1.0/me', token: await asUser((await service.createUser()).id) }),
  GetDirectoryObject: async () => ({ path: `/v1.0/directoryObjects/${(await service.createGroup({ description: 'Any type' })).id}` }),
  GetDirectoryObjectsByIds: async () => {
    const [user, group] = await Promise.all([service.createUser(), service.createGroup()]);
    return { path: '/v1.0/directoryObjects/getByIds', body: { ids: [user.id, group.id, randomUUID()], types: ['user', 'group'] } };
  },
  ListUsers: async () => ({ path: `/v1.0/users?$filter=${encodeURIComponent(`id eq '${(await service.createUser()).id}'`)}&$select=displayName` }),
  GetGroupsDelta: async () => ({ path: `/v1.0/groups/delta?$filter=${encodeURIComponent(`id eq '${(await service.createGroup({ description: 'Tracked' })).id}'`)}` }),
  ListGroups: async () => ({ path: `/v1.0/groups?$filter=${encodeURIComponent(`startswith(displayName,'${(await service.createGroup()).id.slice(0, 4)}') or securityEnabled eq true`)}&$top=2` }),
  ListGroupMembers: async () => ({ path: `/v1.0/groups/${(await groupWithMembers()).id}/members?$top=1` }),
  ListGroupMemberUsers: async () => ({ path: `/v1.0/groups/${(await groupWithMembers()).id}/members/microsoft.graph.user` }),
  ListGroupMemberGroups: async () => ({ path: `/v1.0/groups/${(await groupWithMembers()).id}/members/microsoft.graph.group?$select=displayName` }),
  ListGroupOwners: async () => {
    const owner = await service.createUser();
    return { path: `/v1.0/groups/${(await service.createGroup({ 'owners@odata.bind': [odataId('users', owner.id)] })).id}/owners` };
  },
  ListGroupMemberOf: async () => ({ path: `/v1.0/groups/${(await groupWithMembers()).id}/memberOf` }),
  ListUserMemberOf: async () => ({ path: `/v1.0/users/${(await memberUser()).userId}/memberOf` }),
  ListUserJoinedGroups: async () => ({ path: `/v1.0/users/${(await memberUser()).userId}/joinedGroups` }),
  ListMyMemberOf: async () => ({ path: '/v1.0/me/memberOf', token: await asUser((await memberUser()).userId) }),
  ListMyJoinedGroups: async () => ({ path: '/v1.0/me/joinedGroups', token: await asUser((await memberUser()).userId) }),
  RemoveMember: async () => {
    const { userId, groupId } = await memberUser();
    return { path: `/v1.0/groups/${groupId}/members/${userId}/$ref` };
  },
  ListGroupTransitiveMembers: async () => ({ path: `/v1.0/groups/${(await groupWithMembers()).parentId}/transitiveMembers?$top=2` }),
  ListGroupTransitiveMemberOf: async () => ({ path: `/v1.0/groups/${(await groupWithMembers()).childId}/transitiveMemberOf` }),
  ListUserTransitiveMemberOf: async () => ({ path: `/v1.0/users/${(await groupWithMembers()).userId}/transitiveMemberOf` }),
  ListMyTransitiveMemberOf: async () => ({ path: '/v1.0/me/transitiveMemberOf', token: await asUser((await groupWithMembers()).userId) }),
  ...memberActionScenarios(),
  UpdateUser: async () => ({ path: `/v1.0/users/${(await service.createUser()).id}`, body: { displayName: 'Renamed', jobTitle: 'Engineer' } }),
  UpdateGroup: async () => {
    const member = await service.createUser();
    return { path: `/v1.0/groups/${(await service.createGroup()).id}`, body: { description: 'Changed', 'members@odata.bind': [odataId('users', member.id)] } };
  },
  DeleteUser: async () => ({ path: `/v1.0/users/${(await memberUser()).userId}` }),
  DeleteGroup: async () => ({ path: `/v1.0/groups/${(await groupWithMembers()).id}` }),
  CreateOwner: async () => {
    const [group, user] = await Promise.all([service.createGroup(), service.createUser()]);
    return { path: `/v1.0/groups/${group.id}/owners/$ref`, body: { '@odata.id': odataId('directoryObjects', user.id) } };
  },
  RemoveOwner: async () => {
    const [first, second] = await Promise.all([service.createUser(), service.createUser()]);
    const group = await service.createGroup({ 'owners@odata.bind': [odataId('users', first.id), odataId('users', second.id)] });
    return { path: `/v1.0/groups/${group.id}/owners/${second.id}/$ref` };
  },
  GetHealth: async () => ({ path: '/health', token: null }),
  Batch: async () => ({ path: '/v1.0/$batch', body: { requests: [{ id: '1', method: 'GET', url: `/groups/${(await service.createGroup()).id}` }] } }),
  GetOpenApi: async () => ({ path: '/openapi.json', token: null }),
  // Change notifications (functions/subscriptions.ts), validated against a receiver on loopback.
  OnGroupMemberAddedOrRemoved: async () => ({ path: '/v1.0/subscriptions', body: subscriptionBody() }),
  ListSubscriptions: async () => ({ path: '/v1.0/subscriptions' }),
  GetSubscription: async () => ({ path: `/v1.0/subscriptions/${await createdSubscription()}` }),
  RenewSubscription: async () => ({ path: `/v1.0/subscriptions/${await createdSubscription()}`, body: { expirationDateTime: new Date(Date.now() + 7_200_000).toISOString() } }),
  DeleteSubscription: async () => ({ path: `/v1.0/subscriptions/${await createdSubscription()}` }),
  ReauthorizeSubscription: async () => ({ path: `/v1.0/subscriptions/${await createdSubscription()}/reauthorize` }),
};

/** A request the operation must refuse, the statuses it may answer, and a check that nothing was stored. */
interface Refusal {
  readonly call: Call;
  readonly statuses: readonly number[];
  readonly unchanged?: () => Promise<void>;
}

const expectNotFound = async (path: string) => expect([path, (await send('get', { path })).status]).toEqual([path, 404]);

/**
 * The two creates have no object in their path: they are refused for what their body names
 * instead (a UPN that is taken; an owner that does not exist), and must not have created the
 * object they were asked for.
 */
const bodyRefusals: Record<string, () => Promise<Refusal>> = {
  // A batch names no object: a malformed one (an absolute inner URL) is refused whole.
  Batch: async () => {
    const group = await service.createGroup();
    const user = await service.createUser();
    const url = `https://graph.microsoft.com/v1.0/groups/${group.id}/members/$ref`;
    return {
      call: { path: '/v1.0/$batch', body: { requests: [{ id: '1', method: 'POST', url, headers: { 'Content-Type': 'application/json' }, body: { id: user.id } }] } },
      statuses: [400],
      unchanged: async () => expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: false, memberSide: false }),
    };
  },
  // The lists name no object: a $filter on a property they cannot filter is their refusal.
  ListUsers: async () => ({ call: { path: `/v1.0/users?$filter=${encodeURIComponent("jobTitle eq 'x'")}` }, statuses: [400] }),
  ListGroups: async () => ({ call: { path: `/v1.0/groups?$filter=${encodeURIComponent("displayName eq 'x' and")}` }, statuses: [400] }),
  // A subscription to a group that does not exist: 404, and no subscription.
  OnGroupMemberAddedOrRemoved: async () => {
    const before = (await service.request('GET', '/v1.0/subscriptions')).json.value as unknown[];
    return {
      call: { path: '/v1.0/subscriptions', body: subscriptionBody(`groups/${randomUUID()}/members`) },
      statuses: [404],
      unchanged: async () => expect(((await service.request('GET', '/v1.0/subscriptions')).json.value as unknown[]).length).toBe(before.length),
    };
  },
  // The list takes no query options (as Graph's): one is its refusal.
  ListSubscriptions: async () => ({ call: { path: '/v1.0/subscriptions?$filter=id%20eq%20%27x%27' }, statuses: [400] }),
  // Delta names no object either: an id filter with a non-GUID id is its refusal.
  GetGroupsDelta: async () => ({ call: { path: `/v1.0/groups/delta?$filter=${encodeURIComponent("id eq 'x'")}` }, statuses: [400] }),
  // getByIds names no object in its path, and leaves unknown ids out: a non-GUID id is its refusal.
  GetDirectoryObjectsByIds: async () => ({ call: { path: '/v1.0/directoryObjects/getByIds', body: { ids: [randomUUID(), 'not-a-guid'] } }, statuses: [400] }),
  CreateUser: async () => {
    const taken = await service.createUser();
    const id = randomUUID();
    return {
      call: { path: '/v1.0/users', body: { id, displayName: 'Second holder', userPrincipalName: taken.userPrincipalName } },
      statuses: [400],
      unchanged: () => expectNotFound(`/v1.0/users/${id}`),
    };
  },
  CreateGroup: async () => {
    const id = randomUUID();
    const alias = `g${randomUUID().slice(0, 8)}`;
    return {
      call: { path: '/v1.0/groups', body: { id, displayName: alias, mailNickname: alias, mailEnabled: false, securityEnabled: true, 'owners@odata.bind': [odataId('users', randomUUID())] } },
      statuses: [404],
      unchanged: () => expectNotFound(`/v1.0/groups/${id}`),
    };
  },
};

async function refusalFor(documented: DocumentedOperation): Promise<Refusal> {
  const byBody = bodyRefusals[documented.operation.operationId];
  if (byBody !== undefined) return byBody();
  const call = missingObjectCall(documented);
  // /me paths are refused because the default token is an application's (400).
  if (call.path === documented.path && !documented.path.startsWith('/v1.0/me')) {
    throw new Error(`${documented.operation.operationId} names no object in its path: give it an entry in bodyRefusals.`);
  }
  return { call, statuses: [400, 404] };
}

/** The request with every `{id}` an object that does not exist, and /me with an app token. */
function missingObjectCall(documented: DocumentedOperation): Call {
  const body = documented.method === 'post' ? { id: randomUUID() } : documented.method === 'patch' ? { displayName: 'Absent' } : undefined;
  return { path: documented.path.replace(/\{\w+\}/g, () => randomUUID()), ...(body === undefined ? {} : { body }) };
}

const send = (method: string, call: Call) =>
  service.request(method.toUpperCase(), call.path, {
    ...(call.token === undefined ? {} : { token: call.token }),
    ...(call.body === undefined ? {} : { body: call.body }),
  });

/** The served (dereferenced) operation: what a client that fetched /openapi.json reads. */
const servedOperation = ({ path, method }: DocumentedOperation) => served.paths[path]![method as 'get']!;

function expectDocumentedError(documented: DocumentedOperation, response: TestResponse, statuses: readonly number[]): void {
  const responses = responsesOf(servedOperation(documented));
  expect(statuses).toContain(response.status);
  expect(Object.keys(responses)).toContain(String(response.status));
  expect(schemaProblems(response.json, responses[String(response.status)]!.schema!)).toEqual([]);
}

describe.each(operationsOf(generated).map((documented) => [`${documented.operation.operationId}: ${documented.method.toUpperCase()} ${documented.path}`, documented] as const))(
  '%s',
  (_title, documented) => {
    const anonymous = documented.operation.security !== undefined;

    it('answers its documented success, with a body and headers as documented', async () => {
      const scenario = scenarios[documented.operation.operationId];
      expect(scenario).toBeDefined();
      const call = await scenario!();
      expect(fillsTemplate(call.path, documented.path)).toBe(true);
      const response = await send(documented.method, call);
      const responses = responsesOf(servedOperation(documented));
      const success = Object.keys(responses).filter((status) => status.startsWith('2'));
      expect(success).toHaveLength(1);
      expect({ status: response.status, body: response.json }).toMatchObject({ status: Number(success[0]) });
      const documentedResponse = responses[success[0]!]!;
      const bodyProblems =
        documentedResponse.schema === undefined ? (response.text === '' ? [] : [`a body where none is documented: ${response.text}`]) : schemaProblems(response.json, documentedResponse.schema);
      expect(bodyProblems).toEqual([]);
      for (const header of Object.keys(documentedResponse.headers ?? {})) expect([header, response.headers.get(header)]).toEqual([header, expect.any(String)]);
    });

    if (!anonymous) {
      it('answers a request without a token with the documented 401', async () => {
        const response = await send(documented.method, { ...missingObjectCall(documented), token: null });
        expectDocumentedError(documented, response, [401]);
        expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      });

      it('refuses a request naming what does not exist (or /me for an app) with a documented 400 or 404, and stores nothing', async () => {
        const refusal = await refusalFor(documented);
        expectDocumentedError(documented, await send(documented.method, refusal.call), refusal.statuses);
        await refusal.unchanged?.();
      });

      // A batch answers 200 with the store's 429 inside its responses (test/batch checks that).
      if (documented.operation.operationId !== 'Batch')
        it('answers a throttling store with the documented 429 and Retry-After', async () => {
          const call = await scenarios[documented.operation.operationId]!();
          service.proxy.rule = (request) => (request.path.includes('/docs') ? { kind: 'status', status: 429, retryAfterMs: 100 } : undefined);
          try {
            const response = await send(documented.method, call);
            expectDocumentedError(documented, response, [429]);
            expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
          } finally {
            service.proxy.rule = () => undefined;
          }
        });
    } else if (documented.operation.operationId === 'GetHealth') {
      it('answers an unreachable store with the documented 503', async () => {
        service.proxy.rule = () => ({ kind: 'reset' });
        try {
          expectDocumentedError(documented, await send(documented.method, { path: documented.path, token: null }), [503]);
        } finally {
          service.proxy.rule = () => undefined;
        }
      });
    }
  },
);

it('has a scenario for every documented operation, and no other', () => {
  expect(Object.keys(scenarios).sort()).toEqual(
    operationsOf(generated)
      .map(({ operation }) => operation.operationId)
      .sort(),
  );
});
