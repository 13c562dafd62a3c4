import type { ProxiedRequest } from '../support/faultProxy';
import { TestService } from '../support/testService';

/**
 * SPEC 6 on relation lists and single groups (issue 10): `$count=true`, the `/$count` segment
 * (casts included), `$filter` on the far objects, `$expand=members|owners` on a group, and the
 * visibility rules of SPEC 2 on all of them, through real HTTP against the embedded store.
 */
let service: TestService;
let group: { id: string };
let users: { id: string; userPrincipalName: string }[];
let child: { id: string };
let owner: { id: string };
beforeAll(async () => {
  service = await TestService.start();
  owner = await service.createUser({ displayName: 'Olga Owner' });
  group = await service.createGroup({ 'owners@odata.bind': [`https://graph.microsoft.com/v1.0/users/${owner.id}`] });
  users = [];
  for (const name of ['Alice Adams', 'alfred Ames', 'Bob Brown', "Dan O'Neil"]) users.push(await service.createUser({ displayName: name, mail: `${name.split(' ')[0]!.toLowerCase()}@mail.example` }));
  child = await service.createGroup({ displayName: 'Alpha Team', groupTypes: ['Unified'], mailEnabled: true, securityEnabled: false });
  for (const member of [...users, child]) {
    const added = await service.addMember(group.id, member.id);
    if (added.status !== 204) throw new Error(`setup: ${added.status} ${added.text}`);
  }
});
afterAll(() => service.stop());
afterEach(() => {
  service.proxy.rule = () => undefined;
  service.proxy.record = false;
});

const eventual = { ConsistencyLevel: 'eventual' };
const q = (filter: string) => `$filter=${encodeURIComponent(filter)}`;
type Entity = { id: string; displayName?: string } & Record<string, unknown>;
const entities = (value: unknown) => value as Entity[];
const names = (value: readonly Entity[]) => value.map((entity) => String(entity.displayName)).sort((a, b) => a.localeCompare(b));

async function count(path: string, headers: Record<string, string> = eventual): Promise<string> {
  const response = await service.request('GET', path, { headers });
  expect([path, response.status, response.headers.get('content-type')]).toEqual([path, 200, 'text/plain; charset=utf-8']);
  return response.text;
}

async function list(path: string, headers: Record<string, string> = {}): Promise<Entity[]> {
  const response = await service.request('GET', path, { headers });
  expect([path, response.status]).toEqual([path, 200]);
  return response.json.value;
}

describe('$count and /$count on relation lists', () => {
  it('answers the number as text/plain on every relation, after a cast (long or short) too', async () => {
    const member = users[0]!;
    expect(await count(`/v1.0/groups/${group.id}/members/$count`)).toBe('5');
    expect(await count(`/v1.0/groups/${group.id}/members/microsoft.graph.user/$count`)).toBe('4');
    expect(await count(`/beta/groups/${group.id}/members/graph.group/$count`)).toBe('1');
    expect(await count(`/v1.0/groups/${group.id}/owners/$count`)).toBe('1');
    expect(await count(`/v1.0/groups/${child.id}/memberOf/$count`)).toBe('1');
    expect(await count(`/v1.0/users/${member.id}/memberOf/$count`)).toBe('1');
    expect(await count(`/v1.0/users/${member.userPrincipalName}/joinedGroups/microsoft.graph.group/$count`)).toBe('1');
    const me = await service.userToken(member.id, ['GroupMember.Read.All', 'User.Read']);
    for (const path of ['/v1.0/me/memberOf/$count', '/v1.0/me/joinedGroups/$count']) {
      const response = await service.request('GET', path, { token: me, headers: eventual });
      expect([path, response.status, response.text]).toEqual([path, 200, '1']);
    }
  });

  it('$count=true adds @odata.count, the count of every match however the list is paged', async () => {
    const page = await service.request('GET', `/v1.0/groups/${group.id}/members?$count=true&$top=2`, { headers: eventual });
    expect(page.status).toBe(200);
    expect(page.json['@odata.count']).toBe(5);
    expect(page.json.value).toHaveLength(2);
    expect(page.json['@odata.nextLink']).toEqual(expect.stringContaining('%24skiptoken='));
    // The next page keeps counting the whole list.
    const next = await service.request('GET', String(page.json['@odata.nextLink']).slice(service.baseUrl.length), { headers: eventual });
    expect([next.status, next.json['@odata.count'], next.json.value.length]).toEqual([200, 5, 2]);
    const whole = await service.request('GET', `/v1.0/groups/${group.id}/members/microsoft.graph.user?$count=true`, { headers: eventual });
    expect([whole.json['@odata.count'], whole.json.value.length]).toEqual([4, 4]);
    const plain = await service.request('GET', `/v1.0/groups/${group.id}/members?$count=false`);
    expect(plain.status).toBe(200);
    expect(plain.json['@odata.count']).toBeUndefined();
  });

  it("answers Graph's 400 without ConsistencyLevel: eventual, and 404 for /$count/$count", async () => {
    for (const path of [`/v1.0/groups/${group.id}/members/$count`, `/v1.0/groups/${group.id}/owners?$count=true`, `/v1.0/users/${users[0]!.id}/memberOf/graph.group/$count`]) {
      const response = await service.request('GET', path);
      expect([path, response.status, response.json.error?.code, response.json.error?.message]).toEqual([path, 400, 'Request_BadRequest', '$count is not currently supported.']);
    }
    const doubled = await service.request('GET', `/v1.0/groups/${group.id}/members/$count/$count`, { headers: eventual });
    expect([doubled.status, doubled.json.error?.code]).toEqual([404, 'NotFound']);
    const bad = await service.request('GET', `/v1.0/groups/${group.id}/members?$count=yes`, { headers: eventual });
    expect([bad.status, bad.json.error?.message]).toEqual([400, "Invalid value 'yes' for $count: use true or false."]);
  });

  it('is one aggregate query on the relation partition, not a walk through the pages', async () => {
    const isPlan = (request: ProxiedRequest) => request.headers['x-ms-cosmos-is-query-plan-request'] !== undefined;
    service.proxy.seen.length = 0;
    service.proxy.record = true;
    expect(await count(`/v1.0/groups/${group.id}/members/microsoft.graph.user/$count`)).toBe('4');
    service.proxy.record = false;
    const seen = service.proxy.seen.filter((request) => request.path.includes('/docs'));
    const queries = seen.filter((request) => request.method === 'POST' && !isPlan(request));
    // The group's own point read, then the count query on the group-side partition.
    expect(queries).toHaveLength(1);
    expect(String(queries[0]?.headers['x-ms-documentdb-partitionkey'])).toBe(JSON.stringify([`${service.tenantId}|group|${group.id}`]));
    // The count query and the SDK's query plan, and two point reads: the group's own, and the
    // tenant's pending deletions (objects being deleted are not counted).
    expect([queries.length, seen.filter(isPlan).length]).toEqual([1, 1]);
    expect(seen.length - queries.length - 1).toBe(2);
  });
});

describe('$filter on relation lists', () => {
  it('filters members with eq (case-insensitive), startswith, and/or, on users and groups alike', async () => {
    const members = `/v1.0/groups/${group.id}/members`;
    expect(names(await list(`${members}?${q("displayName eq 'ALICE ADAMS'")}`))).toEqual(['Alice Adams']);
    expect(names(await list(`${members}?${q("startswith(displayName,'al')")}`))).toEqual(['alfred Ames', 'Alice Adams', 'Alpha Team']);
    expect(names(await list(`${members}/microsoft.graph.user?${q("startswith(displayName,'AL')")}`))).toEqual(['alfred Ames', 'Alice Adams']);
    expect(names(await list(`${members}?${q("startswith(displayName,'al') and mail eq 'alfred@mail.example' or displayName eq 'bob brown'")}`))).toEqual(['alfred Ames', 'Bob Brown']);
    expect(names(await list(`${members}?${q("groupTypes/any(c:c eq 'unified')")}`))).toEqual(['Alpha Team']);
    expect(names(await list(`${members}?${q('securityEnabled eq false')}`))).toEqual(['Alpha Team']);
    expect(names(await list(`${members}?${q(`id eq '${users[2]!.id}'`)}`))).toEqual(['Bob Brown']);
    expect(names(await list(`${members}?${q("displayName eq 'Dan O''Neil'")}`))).toEqual(["Dan O'Neil"]);
    // What would break out of a concatenated SQL string matches nothing instead.
    expect(await list(`${members}?${q("displayName eq 'x'' OR 1=1 OR ''x'")}`)).toEqual([]);
    expect(await count(`${members}/$count?${q("startswith(displayName,'al')")}`)).toBe('3');
    const counted = await service.request('GET', `${members}?${q("startswith(mail,'a')")}&$count=true&$top=1`, { headers: eventual });
    expect([counted.json['@odata.count'], counted.json.value.length]).toEqual([2, 1]);
    expect(names(await list(`/v1.0/users/${users[0]!.id}/memberOf?${q(`id eq '${group.id}'`)}`))).toHaveLength(1);
  });

  it('answers a 400 naming the bad part, and changes nothing', async () => {
    const before = await service.snapshotStore();
    const cases: [string, string, RegExp][] = [
      [`/v1.0/groups/${group.id}/members?${q("displayName eq 'x")}`, 'BadRequest', /unterminated string literal/],
      [`/v1.0/groups/${group.id}/members?${q("displayName eq 'x' and")}`, 'BadRequest', /Syntax error at position/],
      [`/v1.0/groups/${group.id}/members?${q("contains(displayName,'x')")}`, 'BadRequest', /unknown function with name 'contains'/],
      [`/v1.0/groups/${group.id}/members?${q("jobTitle eq 'x'")}`, 'Request_UnsupportedQuery', /property 'jobTitle' of resource 'DirectoryObject'/],
      [`/v1.0/groups/${group.id}/members/microsoft.graph.group?${q("userPrincipalName eq 'x'")}`, 'Request_UnsupportedQuery', /property 'userPrincipalName' of resource 'Group'/],
      [`/v1.0/users/${users[0]!.id}/memberOf?${q("startswith(userPrincipalName,'x')")}`, 'Request_UnsupportedQuery', /resource 'Group'/],
      [`/v1.0/groups/${group.id}/members?$orderby=displayName`, 'BadRequest', /Query option '\$orderby' is not supported/],
    ];
    for (const [path, code, message] of cases) {
      const response = await service.request('GET', path, { headers: eventual });
      expect([path, response.status, response.json.error?.code]).toEqual([path, 400, code]);
      expect(response.json.error?.message).toMatch(message);
    }
    expect(await service.snapshotStore()).toEqual(before);
  });
});

describe('$expand on a group', () => {
  it('adds the first 20 members, each as Graph shows it, and honours $select on both levels', async () => {
    const big = await service.createGroup();
    const many = await Promise.all(Array.from({ length: 22 }, () => service.createUser()));
    for (const user of many) expect((await service.addMember(big.id, user.id)).status).toBe(204);
    const response = await service.request('GET', `/v1.0/groups/${big.id}?$expand=members`);
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ id: big.id, '@odata.type': '#microsoft.graph.group', securityEnabled: true });
    expect(response.json['@odata.context']).toMatch(/\/v1\.0\/\$metadata#groups\(members\(\)\)\/\$entity$/);
    expect(response.json.members).toHaveLength(20);
    for (const member of entities(response.json.members)) expect([member['@odata.type'], typeof member.id, typeof member.userPrincipalName]).toEqual(['#microsoft.graph.user', 'string', 'string']);
    expect(new Set(entities(response.json.members).map((member) => member.id)).size).toBe(20);

    const selected = await service.request('GET', `/v1.0/groups/${group.id}?$select=displayName&$expand=members($select=displayName)`);
    expect(selected.status).toBe(200);
    expect(Object.keys(selected.json).sort()).toEqual(['@odata.context', '@odata.type', 'displayName', 'id', 'members']);
    expect(selected.json['@odata.context']).toMatch(/#groups\(displayName,members\(displayName\)\)\/\$entity$/);
    expect(names(entities(selected.json.members))).toEqual(['alfred Ames', 'Alice Adams', 'Alpha Team', 'Bob Brown', "Dan O'Neil"]);
    for (const member of entities(selected.json.members)) expect(Object.keys(member).sort()).toEqual(['@odata.type', 'displayName', 'id']);

    const owners = await service.request('GET', `/v1.0/groups/${group.id}?$expand=OWNERS`);
    expect([owners.status, entities(owners.json.owners).map((entity) => entity.id)]).toEqual([200, [owner.id]]);
    const empty = await service.request('GET', `/v1.0/groups/${child.id}?$expand=owners`);
    expect([empty.status, empty.json.owners]).toEqual([200, []]);
  });

  it('refuses any other $expand with a 400 naming it, on groups and elsewhere', async () => {
    for (const [path, message] of [
      [`/v1.0/groups/${group.id}?$expand=memberOf`, /'memberOf'/],
      [`/v1.0/groups/${group.id}?$expand=members,owners`, /'members,owners'/],
      [`/v1.0/groups/${group.id}?$expand=members($top=1)`, /'members\(\$top=1\)'/],
      [`/v1.0/users/${users[0]!.id}?$expand=memberOf`, /'\$expand'/],
    ] as const) {
      const response = await service.request('GET', path);
      expect([path, response.status, response.json.error?.code]).toEqual([path, 400, 'BadRequest']);
      expect(response.json.error?.message).toMatch(message);
    }
  });

  it('costs one query more than the group read', async () => {
    const isPlan = (request: ProxiedRequest) => request.headers['x-ms-cosmos-is-query-plan-request'] !== undefined;
    service.proxy.seen.length = 0;
    service.proxy.record = true;
    const response = await service.request('GET', `/v1.0/groups/${group.id}?$expand=members`);
    service.proxy.record = false;
    expect(response.status).toBe(200);
    const seen = service.proxy.seen.filter((request) => request.path.includes('/docs'));
    // One query (at most 20 items) and its query plan; the group's point read and the tenant's
    // pending deletions, read beside the query.
    const queries = seen.filter((request) => request.method === 'POST' && !isPlan(request)).length;
    expect([queries, seen.filter(isPlan).length]).toEqual([1, 1]);
    expect(seen.length - queries - 1).toBe(2);
  });
});

describe('HiddenMembership', () => {
  let hidden: { id: string };
  let insider: { id: string };
  let outsiderToken: string;
  beforeAll(async () => {
    insider = await service.createUser();
    const outsider = await service.createUser();
    hidden = await service.createGroup({ visibility: 'HiddenMembership' });
    for (const member of [insider, users[0]!]) {
      const added = await service.addMember(hidden.id, member.id);
      if (added.status !== 204) throw new Error(`setup: ${added.status} ${added.text}`);
    }
    outsiderToken = await service.userToken(outsider.id, ['GroupMember.Read.All', 'User.Read.All']);
  });

  it("refuses an outsider the hidden group's member count and expansion: 403", async () => {
    for (const path of [`/v1.0/groups/${hidden.id}/members/$count`, `/v1.0/groups/${hidden.id}/members?$count=true`, `/v1.0/groups/${hidden.id}?$expand=members`]) {
      const response = await service.request('GET', path, { token: outsiderToken, headers: eventual });
      expect([path, response.status, response.json.error?.code]).toEqual([path, 403, 'Authorization_RequestDenied']);
    }
  });

  it('counts only the groups a caller may see in memberOf; an insider and an admin see the hidden one', async () => {
    const path = `/v1.0/users/${users[0]!.id}/memberOf`;
    const outsider = await service.request('GET', `${path}/$count`, { token: outsiderToken, headers: eventual });
    expect([outsider.status, outsider.text]).toEqual([200, '1']);
    const outsiderPage = await service.request('GET', `${path}?$count=true&$top=1`, { token: outsiderToken, headers: eventual });
    expect([outsiderPage.json['@odata.count']]).toEqual([1]);
    const insiderToken = await service.userToken(insider.id, ['GroupMember.Read.All', 'User.Read.All']);
    const seenByInsider = await service.request('GET', `${path}/$count`, { token: insiderToken, headers: eventual });
    expect(seenByInsider.text).toBe('2');
    expect(await count(`${path}/$count`)).toBe('2');
    const expanded = await service.request('GET', `/v1.0/groups/${hidden.id}?$expand=members($select=id)`, { token: insiderToken });
    expect([
      expanded.status,
      entities(expanded.json.members)
        .map((entity) => entity.id)
        .sort(),
    ]).toEqual([200, [insider.id, users[0]!.id].sort()]);
  });
});

describe('@odata.context of relation lists (SPEC 6: it names the selected properties)', () => {
  it('names the entity set of a cast and the $select properties, as Graph does', async () => {
    const context = async (path: string) => {
      const response = await service.request('GET', path);
      expect([path, response.status]).toEqual([path, 200]);
      return response.json['@odata.context'].replace(`${service.baseUrl}/v1.0/$metadata#`, '');
    };
    expect(await context(`/v1.0/groups/${group.id}/members`)).toBe('directoryObjects');
    expect(await context(`/v1.0/groups/${group.id}/members/microsoft.graph.user`)).toBe('users');
    expect(await context(`/v1.0/groups/${group.id}/members/graph.group`)).toBe('groups');
    expect(await context(`/v1.0/groups/${group.id}/members?$select=displayName,id`)).toBe('directoryObjects(displayName,id)');
    expect(await context(`/v1.0/groups/${group.id}/members/microsoft.graph.user?$select=mail`)).toBe('users(mail)');
    expect(await context(`/v1.0/users/${users[0]!.id}/memberOf/microsoft.graph.group?$select=displayName`)).toBe('groups(displayName)');
    expect(await context(`/v1.0/groups/${group.id}/transitiveMembers/microsoft.graph.group`)).toBe('groups');
  });
});
