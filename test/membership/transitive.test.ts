import { randomUUID } from 'node:crypto';
import { PageIterator, type PageCollection } from '@microsoft/microsoft-graph-client';
import { closureLimits, GroupClosure } from '../../src/membership/closure';
import { checkClosure } from '../../src/membership/closureCheck';
import { getCosmosStore } from '../../src/store/cosmosStore';
import { GraphSdkService } from '../support/graphSdkService';
import { roles, type TestService } from '../support/testService';
import { compareWithModel, createWorld, runRound, type EdgeModel } from './closureModel';

let sdk: GraphSdkService;
let service: TestService;
beforeAll(async () => {
  sdk = await GraphSdkService.start();
  service = sdk.service;
});
afterAll(() => sdk.stop());

const eventual = { headers: { ConsistencyLevel: 'eventual' } };
const idsOf = (response: { json: { value: { id: string }[] } }) => response.json.value.map((entity) => entity.id).sort();
const add = async (groupId: string, memberId: string) => {
  const response = await service.addMember(groupId, memberId);
  if (response.status !== 204) throw new Error(`add ${memberId} to ${groupId}: ${response.status} ${response.text}`);
};

/** A chain top <- ... <- bottom of `depth` groups, a user in the bottom one. */
async function chain(depth: number): Promise<{ groups: string[]; userId: string }> {
  const groups = await Promise.all(Array.from({ length: depth }, () => service.createGroup().then((group) => group.id)));
  const user = await service.createUser();
  for (let level = 1; level < depth; level += 1) await add(groups[level - 1]!, groups[level]!);
  await add(groups[depth - 1]!, user.id);
  return { groups, userId: user.id };
}

/** The closure documents of this test's tenant against the closure of the model's edges. */
async function closureDifferences(model: EdgeModel): Promise<string[]> {
  const closure = new GroupClosure((await getCosmosStore()).memberships);
  const stored = new Map((await closure.listAll(service.tenantId)).map((document) => [`${document.groupId}|${document.id}`, [...document.ids].sort().join(',')]));
  const problems: string[] = [];
  for (const group of model.groups) {
    const expected = {
      ancestors: [...model.above(group)].sort().join(','),
      descendants: [...model.below(group)]
        .filter((id) => model.members.has(id))
        .sort()
        .join(','),
    };
    for (const side of ['ancestors', 'descendants'] as const) {
      if ((stored.get(`${group}|${side}`) ?? '') !== expected[side]) problems.push(`${side} of ${group}`);
    }
  }
  return problems;
}

describe('transitive reads and checks through the Microsoft Graph JavaScript client', () => {
  it('lists transitiveMembers a page at a time with PageIterator, each object once across two paths', async () => {
    const client = sdk.client(await service.adminToken());
    const [top, left, right] = await Promise.all([service.createGroup(), service.createGroup(), service.createGroup()]);
    const users = await Promise.all(Array.from({ length: 3 }, () => service.createUser()));
    await add(top.id, left.id);
    await add(top.id, right.id);
    for (const user of users) {
      await add(left.id, user.id);
      await add(right.id, user.id);
    }
    const seen: string[] = [];
    const first = (await client.api(`/groups/${top.id}/transitiveMembers`).top(2).get()) as PageCollection;
    const iterator = new PageIterator(client, first, (entity: { id: string }) => {
      seen.push(entity.id);
      return true;
    });
    await iterator.iterate();
    expect(seen.sort()).toEqual([left.id, right.id, ...users.map((user) => user.id)].sort());
  });

  it('checkMemberGroups of 20 ids for a user ten levels down answers the subset, in the order asked', async () => {
    const client = sdk.client(await service.adminToken());
    const { groups, userId } = await chain(10);
    const strangers = await Promise.all(Array.from({ length: 10 }, () => service.createGroup().then((group) => group.id)));
    const asked = [...strangers.slice(0, 5), ...groups, ...strangers.slice(5)];
    const answer = (await client.api(`/users/${userId}/checkMemberGroups`).post({ groupIds: asked })) as { value: string[] };
    expect(answer.value).toEqual(groups);
    const memberOf = (await client.api(`/users/${userId}/transitiveMemberOf/microsoft.graph.group`).get()) as { value: { id: string }[] };
    expect(memberOf.value.map((group) => group.id).sort()).toEqual([...groups].sort());
  });
});

describe('transitive reads over HTTP (SPEC 7)', () => {
  it('keeps an ancestor reachable through another path when one path is removed, and drops it with the last', async () => {
    const [top, left, right, bottom] = await Promise.all(Array.from({ length: 4 }, () => service.createGroup()));
    const user = await service.createUser();
    await add(top!.id, left!.id);
    await add(top!.id, right!.id);
    await add(left!.id, bottom!.id);
    await add(right!.id, bottom!.id);
    await add(bottom!.id, user.id);
    expect(await service.request('DELETE', `/v1.0/groups/${left!.id}/members/${bottom!.id}/$ref`)).toMatchObject({ status: 204 });
    expect(idsOf(await service.request('GET', `/v1.0/users/${user.id}/transitiveMemberOf`))).toEqual([top!.id, right!.id, bottom!.id].sort());
    expect(idsOf(await service.request('GET', `/v1.0/groups/${top!.id}/transitiveMembers`))).toEqual([left!.id, right!.id, bottom!.id, user.id].sort());
    expect(await service.request('DELETE', `/v1.0/groups/${right!.id}/members/${bottom!.id}/$ref`)).toMatchObject({ status: 204 });
    expect(idsOf(await service.request('GET', `/v1.0/users/${user.id}/transitiveMemberOf`))).toEqual([bottom!.id]);
    expect(idsOf(await service.request('GET', `/v1.0/groups/${bottom!.id}/transitiveMemberOf`))).toEqual([]);
  });

  it('recomputes the closure when DELETE /groups/{id} removes a group in the middle of a chain', async () => {
    const { groups, userId } = await chain(3);
    const [top, middle, bottom] = groups as [string, string, string];
    expect(await service.request('DELETE', `/v1.0/groups/${middle}`)).toMatchObject({ status: 204 });
    expect(idsOf(await service.request('GET', `/v1.0/users/${userId}/transitiveMemberOf`))).toEqual([bottom]);
    expect(idsOf(await service.request('GET', `/v1.0/groups/${top}/transitiveMembers`))).toEqual([]);
    // Stored: the survivors' documents no longer name each other, the deleted group's are gone.
    const closure = new GroupClosure((await getCosmosStore()).memberships);
    expect((await closure.listAll(service.tenantId)).filter((document) => groups.includes(document.groupId) && document.ids.length > 0)).toEqual([]);
  });

  it('extends the closure when PATCH /groups/{id} binds a group with members@odata.bind', async () => {
    const { groups, userId } = await chain(2);
    const [parent, sibling] = await Promise.all([service.createGroup(), service.createGroup()]);
    const bind = [`https://graph.microsoft.com/v1.0/groups/${groups[0]}`, `https://graph.microsoft.com/v1.0/directoryObjects/${sibling.id}`];
    expect(await service.request('PATCH', `/v1.0/groups/${parent.id}`, { body: { 'members@odata.bind': bind } })).toMatchObject({ status: 204 });
    expect(idsOf(await service.request('GET', `/v1.0/users/${userId}/transitiveMemberOf`))).toEqual([parent.id, ...groups].sort());
    expect((await service.request('POST', `/v1.0/users/${userId}/checkMemberGroups`, { body: { groupIds: [parent.id, sibling.id] } })).json.value).toEqual([parent.id]);
    expect(idsOf(await service.request('GET', `/v1.0/groups/${parent.id}/transitiveMembers`))).toEqual([sibling.id, ...groups, userId].sort());
    const { memberships } = await getCosmosStore();
    expect((await checkClosure(memberships, { tenantId: service.tenantId })).mismatches).toEqual([]);
  });

  it('answers casts, $count and /$count with ConsistencyLevel, and refuses them without it', async () => {
    const { groups, userId } = await chain(3);
    const top = groups[0]!;
    expect((await service.request('GET', `/v1.0/groups/${top}/transitiveMembers/graph.user`)).json.value.map((entity: { id: string }) => entity.id)).toEqual([userId]);
    expect(idsOf(await service.request('GET', `/v1.0/groups/${top}/transitiveMembers/microsoft.graph.group`))).toEqual([groups[1]!, groups[2]!].sort());
    const counted = await service.request('GET', `/v1.0/groups/${top}/transitiveMembers?$count=true&$top=1`, eventual);
    expect([counted.json['@odata.count'], counted.json.value.length, typeof counted.json['@odata.nextLink']]).toEqual([3, 1, 'string']);
    const count = await service.request('GET', `/v1.0/users/${userId}/transitiveMemberOf/$count`, eventual);
    expect([count.status, count.headers.get('content-type'), count.text]).toEqual([200, 'text/plain; charset=utf-8', '3']);
    expect((await service.request('GET', `/v1.0/users/${userId}/transitiveMemberOf/$count`)).status).toBe(400);
    expect((await service.request('GET', `/v1.0/groups/${top}/transitiveMembers?$filter=displayName eq 'x'`)).status).toBe(400);
  });

  it('answers getMemberGroups (securityEnabledOnly), getMemberObjects and checkMemberObjects, and refuses more than 20 ids', async () => {
    const [security, unified] = await Promise.all([service.createGroup(), service.createGroup({ groupTypes: ['Unified'], mailEnabled: true, securityEnabled: false })]);
    const user = await service.createUser();
    await add(security.id, user.id);
    await add(unified.id, user.id);
    const post = (action: string, body: unknown) => service.request('POST', `/v1.0/users/${user.id}/${action}`, { body });
    expect((await post('getMemberGroups', { securityEnabledOnly: true })).json.value).toEqual([security.id]);
    expect((await post('getMemberObjects', { securityEnabledOnly: false })).json.value).toEqual([security.id, unified.id].sort());
    expect((await post('checkMemberObjects', { ids: [unified.id, randomUUID()] })).json.value).toEqual([unified.id]);
    const tooMany = await post('checkMemberGroups', { groupIds: Array.from({ length: 21 }, () => randomUUID()) });
    expect([tooMany.status, tooMany.json.error.message]).toEqual([400, "The number of values for property 'groupIds' exceeds the maximum of 20."]);
    expect((await post('checkMemberGroups', { groupIds: ['nope'] })).status).toBe(400);
    expect((await service.request('POST', `/v1.0/users/${randomUUID()}/checkMemberGroups`, { body: { groupIds: [security.id] } })).status).toBe(404);
  });

  it('answers 404 for a subject that does not exist, or is not of the type the path names, read beside the closure', async () => {
    const [group, user] = await Promise.all([service.createGroup(), service.createUser()]);
    await add(group.id, user.id);
    const missing = randomUUID();
    const notFound = (response: { status: number; json: { error?: { code?: string } } }) => [response.status, response.json.error?.code];
    for (const path of [
      `/v1.0/users/${missing}/transitiveMemberOf`,
      `/v1.0/groups/${missing}/transitiveMemberOf`,
      `/v1.0/groups/${missing}/transitiveMembers`,
      // A group's id under /users and a user's under /groups name no such object either.
      `/v1.0/users/${group.id}/transitiveMemberOf`,
      `/v1.0/groups/${user.id}/transitiveMemberOf`,
    ])
      expect(notFound(await service.request('GET', path))).toEqual([404, 'Request_ResourceNotFound']);
    for (const path of [`/v1.0/groups/${missing}/checkMemberGroups`, `/v1.0/groups/${user.id}/checkMemberGroups`, `/v1.0/users/${group.id}/checkMemberGroups`])
      expect(notFound(await service.request('POST', path, { body: { groupIds: [group.id] } }))).toEqual([404, 'Request_ResourceNotFound']);
    // The objects themselves still answer.
    expect(idsOf(await service.request('GET', `/v1.0/users/${user.id}/transitiveMemberOf`))).toEqual([group.id]);
  });

  it('hides a HiddenMembership group from outsiders and shows it to the member itself (/me)', async () => {
    const hidden = await service.createGroup({ visibility: 'HiddenMembership' });
    const [parent, user, outsider] = await Promise.all([service.createGroup(), service.createUser(), service.createUser()]);
    await add(parent.id, hidden.id);
    await add(hidden.id, user.id);
    const outsiderToken = await service.userToken(outsider.id, ['GroupMember.Read.All', 'User.Read.All']);
    const mine = await service.request('GET', '/v1.0/me/transitiveMemberOf', { token: await service.userToken(user.id, ['User.Read.All']) });
    expect(idsOf(mine)).toEqual([hidden.id, parent.id].sort());
    expect(idsOf(await service.request('GET', `/v1.0/users/${user.id}/transitiveMemberOf`, { token: outsiderToken }))).toEqual([parent.id]);
    expect((await service.request('POST', `/v1.0/users/${user.id}/checkMemberGroups`, { token: outsiderToken, body: { groupIds: [hidden.id, parent.id] } })).json.value).toEqual([parent.id]);
    // Below the parent: the hidden group is listed, its members are not opened to an outsider.
    expect(idsOf(await service.request('GET', `/v1.0/groups/${parent.id}/transitiveMembers`, { token: outsiderToken }))).toEqual([hidden.id]);
    const admin = await service.userToken(outsider.id, ['GroupMember.Read.All'], [roles.globalAdministrator]);
    expect(idsOf(await service.request('GET', `/v1.0/groups/${parent.id}/transitiveMembers`, { token: admin }))).toEqual([hidden.id, user.id].sort());
  });

  it('refuses a nesting whose closure update exceeds the bound with a 400, writing nothing', async () => {
    // The bound lowered for this test (the service runs in this process): a chain of four under
    // the member and two above the target is 4 + 1 + 2 + 1 = 8 documents, over a bound of 7.
    const limits = closureLimits as { maxDocumentsPerChange: number };
    const bound = limits.maxDocumentsPerChange;
    limits.maxDocumentsPerChange = 7;
    try {
      const below = await chain(5);
      const above = await chain(3);
      const before = await service.snapshotStore();
      const refused = await service.addMember(above.groups[2]!, below.groups[0]!);
      expect([refused.status, refused.json.error.code]).toEqual([400, 'Request_BadRequest']);
      expect(refused.json.error.message).toMatch(/would rewrite the nested-group closure of 8 groups.*at most 7 are allowed/);
      expect(await service.snapshotStore()).toEqual(before);
      // Within the bound (3 + 1 + 2 + 1 = 7 documents) the same shape of change is made.
      expect((await service.addMember(above.groups[2]!, below.groups[1]!)).status).toBe(204);
    } finally {
      limits.maxDocumentsPerChange = bound;
    }
  });
});

describe('consistency checker (npm run check-consistency)', () => {
  it('finds a closure document that differs from the edges, and --repair sets it back', async () => {
    const { groups, userId } = await chain(3);
    const { memberships } = await getCosmosStore();
    await new GroupClosure(memberships).overwrite(service.tenantId, groups[2]!, 'ancestors', [groups[0]!]);
    expect(idsOf(await service.request('GET', `/v1.0/users/${userId}/transitiveMemberOf`))).toEqual([groups[0]!, groups[2]!].sort());
    const found = await checkClosure(memberships, { tenantId: service.tenantId });
    expect(found.mismatches).toEqual([{ tenantId: service.tenantId, groupId: groups[2], side: 'ancestors', stored: 1, expected: 2 }]);
    expect((await checkClosure(memberships, { tenantId: service.tenantId, repair: true })).repaired).toBe(1);
    expect((await checkClosure(memberships, { tenantId: service.tenantId })).mismatches).toEqual([]);
    expect(idsOf(await service.request('GET', `/v1.0/users/${userId}/transitiveMemberOf`))).toEqual([...groups].sort());
  });
});

describe('model check: random DAGs, random adds and removals from concurrent clients', () => {
  it('answers every transitive list and check as the edges imply, and keeps the closure equal to the one recomputed from them', async () => {
    const model = await createWorld(service, 60, 140);
    const outcomes: string[] = [];
    const started = Date.now();
    for (let round = 0; round < 15; round += 1) outcomes.push(...(await runRound(service, model, 8)));
    console.log(`model check: ${outcomes.length} operations in ${Date.now() - started} ms`);
    expect(outcomes.filter((outcome) => outcome === 'added').length).toBeGreaterThan(40);
    expect(outcomes).toContain('removed');
    expect(await compareWithModel(service, model, 20)).toEqual([]);
    expect(await closureDifferences(model)).toEqual([]);
  }, 300_000);
});

describe('transitive lists and member actions: what a Graph client reads in the answer (SPEC 6, 7)', () => {
  // Graph names the cast's entity set in @odata.context: `…/transitiveMemberOf/microsoft.graph.group`
  // answers `$metadata#groups` (learn.microsoft.com/graph/api/user-list-transitivememberof, example 5).
  it('a cast names its entity set in @odata.context: #groups and #users, not #directoryObjects', async () => {
    const { groups, userId } = await chain(2);
    const memberOf = await service.request('GET', `/v1.0/users/${userId}/transitiveMemberOf/microsoft.graph.group`);
    const members = await service.request('GET', `/v1.0/groups/${groups[0]}/transitiveMembers/microsoft.graph.user`);
    expect([memberOf.status, memberOf.json['@odata.context']]).toEqual([200, `${service.baseUrl}/v1.0/$metadata#groups`]);
    expect([members.status, members.json['@odata.context']]).toEqual([200, `${service.baseUrl}/v1.0/$metadata#users`]);
  });

  // SPEC 6: "`$select` | honoured on single objects as on lists; `@odata.context` names the selected
  // properties"; Graph: `…/transitiveMemberOf/microsoft.graph.group?$select=displayName,id` answers
  // `$metadata#groups(displayName,id)` (user-list-transitivememberof, example 4).
  it('$select names the selected properties in @odata.context', async () => {
    const { groups, userId } = await chain(2);
    const plain = await service.request('GET', `/v1.0/groups/${groups[0]}/transitiveMembers?$select=displayName,id`);
    expect([plain.status, plain.json['@odata.context']]).toEqual([200, `${service.baseUrl}/v1.0/$metadata#directoryObjects(displayName,id)`]);
    const cast = await service.request('GET', `/v1.0/users/${userId}/transitiveMemberOf/microsoft.graph.group?$select=displayName,id`);
    expect([cast.status, cast.json['@odata.context']]).toEqual([200, `${service.baseUrl}/v1.0/$metadata#groups(displayName,id)`]);
  });

  // SPEC 6: "Unsupported query options are a 400 naming the option, on every route." The actions
  // take none; getByIds already refuses one this way.
  it.each([
    ['users', 'getMemberGroups', '$top=1', { securityEnabledOnly: false }, '$top'],
    ['groups', 'checkMemberGroups', "$filter=id eq 'x'", 'groupIds', '$filter'],
    ['users', 'checkMemberObjects', '$select=id', 'ids', '$select'],
    ['groups', 'getMemberObjects', '$foo=1', { securityEnabledOnly: false }, '$foo'],
  ])('POST /%s/{id}/%s?%s is a 400 naming the option, not a silent 200', async (collection, action, query, body, option) => {
    const { groups, userId } = await chain(2);
    const subject = collection === 'users' ? userId : groups[1]!;
    const payload = typeof body === 'string' ? { [body]: [groups[0]!] } : body;
    const response = await service.request('POST', `/v1.0/${collection}/${subject}/${action}?${query}`, { body: payload });
    expect([response.status, response.json?.error?.code]).toEqual([400, 'BadRequest']);
    expect(response.json.error.message).toContain(`'${option}'`);
  });
});
