import { randomUUID } from 'node:crypto';
import type { ProxiedRequest } from '../support/faultProxy';
import { GraphSdkService } from '../support/graphSdkService';
import type { TestService } from '../support/testService';

/**
 * GET /users and GET /groups (SPEC 6; issue 10 items 1, 4 and 5) through real HTTP(S): every
 * filter form, paging, $select, $orderby, $search, $count and /$count, bad input, tenant
 * isolation, the store requests of a filtered page, and a listing write that fails.
 */
let sdk: GraphSdkService;
let service: TestService;
beforeAll(async () => {
  sdk = await GraphSdkService.start();
  service = sdk.service;
});
afterAll(() => sdk.stop());
afterEach(() => {
  service.proxy.rule = () => undefined;
  service.proxy.record = false;
});

const eventual = { ConsistencyLevel: 'eventual' };
type Entity = { id: string; displayName?: string; '@odata.type'?: string } & Record<string, unknown>;

/** A prefix no other test's objects share, so that a filter on it sees this test's objects only. */
const uniquePrefix = () => `L${randomUUID().slice(0, 8)}`;

async function list(path: string, headers: Record<string, string> = {}): Promise<Entity[]> {
  const response = await service.request('GET', path, { headers });
  expect(response.status).toBe(200);
  return response.json.value;
}

const q = (filter: string) => `$filter=${encodeURIComponent(filter)}`;
const names = (entities: readonly Entity[]) => entities.map((entity) => String(entity.displayName)).sort((a, b) => a.localeCompare(b));

describe('GET /users', () => {
  it('filters with eq and startswith on each property SPEC 6 names, case-insensitively, and answers Graph entities', async () => {
    const prefix = uniquePrefix();
    const alice = await service.createUser({ displayName: `${prefix} Alice`, userPrincipalName: `${prefix}alice@contoso.example`, mail: `${prefix}alice@mail.example` });
    const bob = await service.createUser({ displayName: `${prefix} Bob`, userPrincipalName: `${prefix}bob@contoso.example` });

    const all = await list(`/v1.0/users?${q(`startswith(displayName,'${prefix}')`)}`);
    expect(names(all)).toEqual([`${prefix} Alice`, `${prefix} Bob`]);
    expect(all.find((user) => user.id === alice.id)).toMatchObject({ '@odata.type': '#microsoft.graph.user', userPrincipalName: alice.userPrincipalName, accountEnabled: true });

    expect(names(await list(`/v1.0/users?${q(`displayName eq '${prefix.toUpperCase()} ALICE'`)}`))).toEqual([`${prefix} Alice`]);
    expect(names(await list(`/v1.0/users?${q(`id eq '${bob.id}'`)}`))).toEqual([`${prefix} Bob`]);
    expect(names(await list(`/v1.0/users?${q(`id eq ${bob.id.toUpperCase()}`)}`))).toEqual([`${prefix} Bob`]);
    expect(names(await list(`/v1.0/users?${q(`userPrincipalName eq '${bob.userPrincipalName}'`)}`))).toEqual([`${prefix} Bob`]);
    expect(names(await list(`/v1.0/users?${q(`mail eq '${prefix}alice@mail.example'`)}`))).toEqual([`${prefix} Alice`]);
    expect(names(await list(`/v1.0/users?${q(`mailNickname eq '${prefix.toLowerCase()}bob'`)}`))).toEqual([`${prefix} Bob`]);
    expect(names(await list(`/v1.0/users?${q(`startswith(userPrincipalName,'${prefix}AL')`)}`))).toEqual([`${prefix} Alice`]);
    expect(names(await list(`/v1.0/users?${q(`startswith(mail,'${prefix}')`)}`))).toEqual([`${prefix} Alice`]);
    expect(names(await list(`/v1.0/users?${q(`startswith(mailNickname,'${prefix}b')`)}`))).toEqual([`${prefix} Bob`]);
    expect(await list(`/v1.0/users?${q(`displayName eq '${prefix} Carol'`)}`)).toEqual([]);
  });

  it("takes '' as a quote inside a string literal, and the value travels as a parameter, never as SQL", async () => {
    const prefix = uniquePrefix();
    await service.createUser({ displayName: `${prefix} O'Neil` });
    expect(names(await list(`/v1.0/users?${q(`displayName eq '${prefix} O''Neil'`)}`))).toEqual([`${prefix} O'Neil`]);
    // What would break out of a concatenated SQL string matches nothing instead.
    expect(await list(`/v1.0/users?${q(`displayName eq '${prefix}'' OR 1=1 OR ''x'`)}`)).toEqual([]);
  });

  it('pages with $top and an opaque $skiptoken in @odata.nextLink, each object once, and honours $select', async () => {
    const prefix = uniquePrefix();
    const created = await Promise.all([1, 2, 3, 4, 5].map((n) => service.createUser({ displayName: `${prefix} ${n}` })));
    let path: string | undefined = `/v1.0/users?${q(`startswith(displayName,'${prefix}')`)}&$top=2&$select=displayName`;
    const seen: Entity[] = [];
    let pages = 0;
    const links: (string | undefined)[] = [];
    while (path !== undefined) {
      const response = await service.request('GET', path);
      expect(response.status).toBe(200);
      pages += 1;
      expect(response.json['@odata.context']).toMatch(/\/\$metadata#users\(displayName\)$/);
      const value = response.json.value as Entity[];
      expect(value.length).toBeLessThanOrEqual(2);
      for (const entity of value) expect(Object.keys(entity).sort()).toEqual(['@odata.type', 'displayName', 'id']);
      seen.push(...value);
      const next = response.json['@odata.nextLink'];
      links.push(next);
      path = next === undefined ? undefined : next.slice(service.baseUrl.length);
    }
    expect(pages).toBe(3);
    expect(links.map((link) => link?.includes('%24skiptoken='))).toEqual([true, true, undefined]);
    expect(seen.map((entity) => entity.id).sort()).toEqual(created.map((user) => user.id).sort());
  });

  it('$orderby=displayName asc and desc, with ConsistencyLevel: eventual', async () => {
    const prefix = uniquePrefix();
    for (const name of ['b', 'C', 'a']) await service.createUser({ displayName: `${prefix} ${name}` });
    const filter = q(`startswith(displayName,'${prefix}')`);
    expect((await list(`/v1.0/users?${filter}&$orderby=displayName`, eventual)).map((user) => user.displayName)).toEqual([`${prefix} a`, `${prefix} b`, `${prefix} C`]);
    expect((await list(`/v1.0/users?${filter}&$orderby=displayName%20desc`, eventual)).map((user) => user.displayName)).toEqual([`${prefix} C`, `${prefix} b`, `${prefix} a`]);
  });

  it('$search="displayName:…" finds a substring, case-insensitively; $count=true and /users/$count count the matches', async () => {
    const prefix = uniquePrefix();
    for (const name of ['Red Fox', 'Fox Red', 'Blue Jay']) await service.createUser({ displayName: `${prefix} ${name}` });
    const search = `$search=${encodeURIComponent(`"displayName:${prefix} fox"`)}`;
    expect(names(await list(`/v1.0/users?${search}`, eventual))).toEqual([`${prefix} Fox Red`]);
    const red = `$search=${encodeURIComponent('"displayName:RED"')}&${q(`startswith(displayName,'${prefix}')`)}`;
    const counted = await service.request('GET', `/v1.0/users?${red}&$count=true&$top=1`, { headers: eventual });
    expect(counted.status).toBe(200);
    expect(counted.json['@odata.count']).toBe(2);
    expect(counted.json.value).toHaveLength(1);
    const count = await service.request('GET', `/v1.0/users/$count?${q(`startswith(displayName,'${prefix}')`)}`, { headers: eventual });
    expect(count.status).toBe(200);
    expect(count.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(count.text).toBe('3');
  });

  it('$search with two clauses joined by OR or AND is never answered with a silent empty page', async () => {
    // Graph combines clauses ("displayName:a" OR "displayName:b", https://learn.microsoft.com/graph/search-query-parameter);
    // SPEC 6 names only the one-clause form, and an unsupported form must be a 400 naming $search. Either is
    // acceptable here; reading the whole text as one substring (an empty page for objects that match) is not.
    const prefix = uniquePrefix();
    for (const name of ['Red Fox', 'Blue Jay']) await service.createUser({ displayName: `${prefix} ${name}` });
    for (const [joiner, expected] of [
      ['OR', [`${prefix} Blue Jay`, `${prefix} Red Fox`]],
      ['AND', [`${prefix} Red Fox`]],
    ] as const) {
      const search = `"displayName:${prefix} Red" ${joiner} "displayName:${joiner === 'OR' ? `${prefix} Blue` : 'Fox'}"`;
      const response = await service.request('GET', `/v1.0/users?$search=${encodeURIComponent(search)}`, { headers: eventual });
      const outcome = response.status === 400 ? [joiner, 400, response.json.error?.message?.includes('$search')] : [joiner, response.status, names(response.json.value ?? [])];
      expect([
        [joiner, 400, true],
        [joiner, 200, [...expected]],
      ]).toContainEqual(outcome);
    }
  });

  it("answers Graph's 400 for $count, $orderby and $search without ConsistencyLevel: eventual", async () => {
    const cases: [string, string, string][] = [
      ['/v1.0/users?$count=true', 'Request_BadRequest', '$count is not currently supported.'],
      ['/v1.0/users/$count', 'Request_BadRequest', '$count is not currently supported.'],
      ['/v1.0/users?$orderby=displayName', 'Request_UnsupportedQuery', 'Sorting not supported for current query.'],
      [
        '/v1.0/users?$search="displayName:x"',
        'Request_UnsupportedQuery',
        "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
      ],
    ];
    for (const [path, code, message] of cases) {
      const response = await service.request('GET', path);
      expect([path, response.status, response.json.error?.code, response.json.error?.message]).toEqual([path, 400, code, message]);
    }
  });

  it('never lists another tenant’s users, nor counts them', async () => {
    const prefix = uniquePrefix();
    const otherAdmin = await service.appToken(['Directory.ReadWrite.All'], service.otherTenantId);
    await service.createUser({ displayName: `${prefix} other tenant` }, otherAdmin);
    await service.createUser({ displayName: `${prefix} this tenant` });
    expect(names(await list(`/v1.0/users?${q(`startswith(displayName,'${prefix}')`)}`))).toEqual([`${prefix} this tenant`]);
    const other = await service.request('GET', `/v1.0/users?${q(`startswith(displayName,'${prefix}')`)}`, { token: otherAdmin });
    expect(names(other.json.value as Entity[])).toEqual([`${prefix} other tenant`]);
    const count = await service.request('GET', `/v1.0/users/$count?${q(`startswith(displayName,'${prefix}')`)}`, { headers: eventual });
    expect(count.text).toBe('1');
  });

  it('needs a user-read permission', async () => {
    const denied = await service.request('GET', '/v1.0/users', { token: await service.appToken(['Group.Create']) });
    expect(denied.status).toBe(403);
    expect((await service.request('GET', '/v1.0/users', { token: await service.appToken(['User.Read.All']) })).status).toBe(200);
  });
});

describe('GET /groups', () => {
  it('filters on securityEnabled, mailEnabled and groupTypes/any, and and/or with OData precedence and parentheses', async () => {
    const prefix = uniquePrefix();
    const security = await service.createGroup({ displayName: `${prefix} security` });
    await service.createGroup({ displayName: `${prefix} unified`, groupTypes: ['Unified'], mailEnabled: true, securityEnabled: false, mailNickname: `${prefix}u` });
    await service.createGroup({ displayName: `${prefix} hidden`, groupTypes: ['Unified'], mailEnabled: true, securityEnabled: false, mailNickname: `${prefix}h`, visibility: 'HiddenMembership' });
    const mine = `startswith(displayName,'${prefix}')`;

    expect(names(await list(`/v1.0/groups?${q(mine)}`))).toEqual([`${prefix} hidden`, `${prefix} security`, `${prefix} unified`]);
    expect(names(await list(`/v1.0/groups?${q(`${mine} and securityEnabled eq true`)}`))).toEqual([`${prefix} security`]);
    expect(names(await list(`/v1.0/groups?${q(`${mine} and mailEnabled eq true`)}`))).toEqual([`${prefix} hidden`, `${prefix} unified`]);
    expect(names(await list(`/v1.0/groups?${q(`${mine} and groupTypes/any(c:c eq 'Unified')`)}`))).toEqual([`${prefix} hidden`, `${prefix} unified`]);
    expect(names(await list(`/v1.0/groups?${q(`startswith(mailNickname,'${prefix}U')`)}`))).toEqual([`${prefix} unified`]);
    expect(names(await list(`/v1.0/groups?${q(`id eq '${security.id}'`)}`))).toEqual([`${prefix} security`]);
    // and binds tighter than or: (mine and security) or (unified's name) — not mine and (… or …).
    const precedence = `${mine} and securityEnabled eq true or displayName eq '${prefix} unified'`;
    expect(names(await list(`/v1.0/groups?${q(precedence)}`))).toEqual([`${prefix} security`, `${prefix} unified`]);
    const grouped = `${mine} and (securityEnabled eq true or displayName eq '${prefix} unified')`;
    expect(names(await list(`/v1.0/groups?${q(grouped)}`))).toEqual([`${prefix} security`, `${prefix} unified`]);
    const narrowed = `(${mine} or displayName eq 'x') and groupTypes/any(g:g eq 'unified') and displayName eq '${prefix} hidden'`;
    expect(names(await list(`/v1.0/groups?${q(narrowed)}`))).toEqual([`${prefix} hidden`]);
  });

  it('a filtered page costs one store query (two with $count over more than a page), however many groups the tenant has', async () => {
    const prefix = uniquePrefix();
    await Promise.all(Array.from({ length: 30 }, (_, n) => service.createGroup({ displayName: `${prefix} ${n}` })));
    // The SDK also sends each query's text to the gateway for a query plan, in parallel with the
    // query itself (@azure/cosmos queryIterator fetchNextInternal): a metadata request, no data read.
    const isPlan = (request: ProxiedRequest) => request.headers['x-ms-cosmos-is-query-plan-request'] !== undefined;
    const storeRequests = async (path: string): Promise<{ queries: ProxiedRequest[]; plans: number }> => {
      service.proxy.seen.length = 0;
      service.proxy.record = true;
      const response = await service.request('GET', path, { headers: eventual });
      service.proxy.record = false;
      expect(response.status).toBe(200);
      const seen = service.proxy.seen.filter((request) => request.path.includes('/docs'));
      return { queries: seen.filter((request) => !isPlan(request)), plans: seen.filter(isPlan).length };
    };
    const page = await storeRequests(`/v1.0/groups?${q(`startswith(displayName,'${prefix}')`)}&$top=10`);
    expect([page.queries.length, page.plans]).toEqual([1, 1]);
    // A single-partition query on the tenant's listing partition.
    expect(String(page.queries[0]?.headers['x-ms-documentdb-partitionkey'])).toBe(JSON.stringify([`${service.tenantId}|list|groups`]));
    const counted = await storeRequests(`/v1.0/groups?${q(`startswith(displayName,'${prefix}')`)}&$top=10&$count=true&$orderby=displayName`);
    expect([counted.queries.length, counted.plans]).toEqual([2, 2]);
    // The whole answer fits one page: the page's length is the count, no count query.
    const single = await storeRequests(`/v1.0/groups?${q(`displayName eq '${prefix} 7'`)}&$count=true`);
    expect([single.queries.length, single.plans]).toEqual([1, 1]);
  });

  it('answers a 400 naming the bad part for bad input, and changes nothing', async () => {
    const before = await service.snapshotStore();
    const cases: [string, string, RegExp][] = [
      [`$filter=${encodeURIComponent("displayName eq 'x")}`, 'BadRequest', /unterminated string literal/],
      [`$filter=${encodeURIComponent('displayName eq')}`, 'BadRequest', /Syntax error at position 14/],
      [`$filter=${encodeURIComponent("(displayName eq 'x'")}`, 'BadRequest', /Syntax error/],
      [`$filter=${encodeURIComponent("displayName eq 'x' and")}`, 'BadRequest', /Syntax error/],
      [`$filter=${encodeURIComponent("contains(displayName,'x')")}`, 'BadRequest', /unknown function with name 'contains'/],
      [`$filter=${encodeURIComponent("description eq 'x'")}`, 'Request_UnsupportedQuery', /property 'description' of resource 'Group'/],
      [`$filter=${encodeURIComponent("displayName ne 'x'")}`, 'Request_UnsupportedQuery', /property 'displayName'/],
      [`$filter=${encodeURIComponent("startswith(userPrincipalName,'x')")}`, 'Request_UnsupportedQuery', /property 'userPrincipalName' of resource 'Group'/],
      [`$filter=${encodeURIComponent("securityEnabled eq 'yes'")}`, 'BadRequest', /Edm.Boolean/],
      [`$filter=${encodeURIComponent("groupTypes/all(c:c eq 'Unified')")}`, 'BadRequest', /'all'/],
      ['$orderby=createdDateTime', 'Request_UnsupportedQuery', /Unsupported sort property 'createdDateTime'/],
      [`$search=${encodeURIComponent(`"displayName:${'x'.repeat(300)}"`)}`, 'Request_BadRequest', /longer than 256 characters/],
      [`$search=${encodeURIComponent('"mail:x"')}`, 'Request_UnsupportedQuery', /search property 'mail'/],
      ['$top=0', 'Request_BadRequest', /Invalid page size specified: '0'/],
      ['$top=1000', 'Request_BadRequest', /Invalid page size specified: '1000'/],
      ['$skiptoken=%E2%9C%93', 'Request_BadRequest', /\$skiptoken is not valid/],
      ['$expand=members', 'BadRequest', /Query option '\$expand' is not supported/],
      ['$count=maybe', 'Request_BadRequest', /\$count/],
    ];
    for (const [query, code, message] of cases) {
      const response = await service.request('GET', `/v1.0/groups?${query}`, { headers: eventual });
      expect([query, response.status, response.json.error?.code]).toEqual([query, 400, code]);
      expect(response.json.error?.message).toMatch(message);
    }
    expect(await service.snapshotStore()).toEqual(before);
  });

  it('a listing write that fails answers 503 and leaves no user, no group, no owner edge and no listing; a retry then lists it', async () => {
    const prefix = uniquePrefix();
    const creator = await service.createUser({ displayName: `${prefix} creator` });
    const creatorToken = await service.userToken(creator.id, ['Group.ReadWrite.All', 'User.ReadWrite.All']);
    const before = await service.snapshotStore();
    const isListingWrite = (request: ProxiedRequest) =>
      request.method === 'POST' && String(request.headers['x-ms-documentdb-partitionkey']).includes('|list|') && request.headers['x-ms-documentdb-isquery'] === undefined;
    service.proxy.rule = (request) => (isListingWrite(request) ? { kind: 'status', status: 503 } : undefined);
    const userBody = { displayName: `${prefix} user`, userPrincipalName: `${prefix}user@contoso.example` };
    const groupBody = { displayName: `${prefix} group`, mailNickname: `${prefix}g`, mailEnabled: false, securityEnabled: true };
    const failedUser = await service.request('POST', '/v1.0/users', { body: userBody });
    const failedGroup = await service.request('POST', '/v1.0/groups', { token: creatorToken, body: groupBody });
    expect([failedUser.status, failedGroup.status]).toEqual([503, 503]);
    expect(failedGroup.headers.get('retry-after')).not.toBeNull();
    expect(await service.snapshotStore()).toEqual(before);

    // The check whether the failed write landed fails too: the listing is deleted first, then the object.
    const isListingRead = (request: ProxiedRequest) => request.method === 'GET' && String(request.headers['x-ms-documentdb-partitionkey']).includes('|list|');
    service.proxy.rule = (request) => (isListingWrite(request) || isListingRead(request) ? { kind: 'status', status: 503 } : undefined);
    expect((await service.request('POST', '/v1.0/users', { body: userBody })).status).toBe(503);
    expect((await service.request('POST', '/v1.0/groups', { token: creatorToken, body: groupBody })).status).toBe(503);
    expect(await service.snapshotStore()).toEqual(before);

    service.proxy.rule = () => undefined;
    expect((await service.request('POST', '/v1.0/users', { body: userBody })).status).toBe(201);
    expect((await service.request('POST', '/v1.0/groups', { token: creatorToken, body: groupBody })).status).toBe(201);
    expect(names(await list(`/v1.0/users?${q(`startswith(displayName,'${prefix}')`)}`))).toEqual([`${prefix} creator`, `${prefix} user`]);
    expect(names(await list(`/v1.0/groups?${q(`startswith(displayName,'${prefix}')`)}`))).toEqual([`${prefix} group`]);
  });
});

describe('Microsoft Graph JavaScript client', () => {
  it('lists groups with a filter and $count, following the SDK’s own request shape', async () => {
    const prefix = uniquePrefix();
    for (const n of [1, 2, 3]) await service.createGroup({ displayName: `${prefix} ${n}` });
    const token = await service.adminToken();
    const client = sdk.client(token);
    const page = (await client.api('/groups').header('ConsistencyLevel', 'eventual').filter(`startswith(displayName,'${prefix}')`).count(true).orderby('displayName desc').top(2).get()) as {
      '@odata.count': number;
      '@odata.nextLink'?: string;
      value: Entity[];
    };
    expect(page['@odata.count']).toBe(3);
    expect(page.value.map((group) => group.displayName)).toEqual([`${prefix} 3`, `${prefix} 2`]);
    expect(page['@odata.nextLink']).toContain('%24skiptoken=');
  });
});

describe('$filter on id', () => {
  it("is Graph's 400 for an id that is no GUID, and finds the object by its GUID, quoted or bare", async () => {
    const user = await service.createUser();
    const refused = await service.request('GET', `/v1.0/users?$filter=${encodeURIComponent("id eq 'not-a-guid'")}`);
    expect([refused.status, refused.json.error?.code, refused.json.error?.message]).toEqual([400, 'Request_BadRequest', "Invalid object identifier 'not-a-guid'."]);
    for (const literal of [`'${user.id}'`, user.id]) {
      const found = await service.request('GET', `/v1.0/users?$filter=${encodeURIComponent(`id eq ${literal}`)}`);
      expect([found.status, (found.json.value ?? []).map((entity: { id: string }) => entity.id)]).toEqual([200, [user.id]]);
    }
  });
});

describe('$select names', () => {
  it('are matched case-insensitively, as Graph does, and answered in the entity’s own spelling', async () => {
    const user = await service.createUser({ mail: 'casing@mail.example' });
    const single = await service.request('GET', `/v1.0/users/${user.id}?$select=DISPLAYNAME,Mail`);
    expect([
      single.status,
      Object.keys(single.json)
        .filter((name) => !name.startsWith('@'))
        .sort(),
    ]).toEqual([200, ['displayName', 'id', 'mail']]);
    expect(single.json.mail).toBe('casing@mail.example');
    const listed = await service.request('GET', `/v1.0/users?$filter=${encodeURIComponent(`id eq '${user.id}'`)}&$select=displayname`);
    expect([
      listed.status,
      Object.keys(listed.json.value[0] ?? {})
        .filter((name) => !name.startsWith('@'))
        .sort(),
    ]).toEqual([200, ['displayName', 'id']]);
  });
});
