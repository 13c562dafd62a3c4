import { randomUUID } from 'node:crypto';
import { roles, TestService } from '../support/testService';

let service: TestService;
beforeAll(async () => {
  service = await TestService.start();
});
afterAll(() => service.stop());

const ref = (id: string, host = 'https://graph.microsoft.com/v1.0', collection = 'directoryObjects') => ({ '@odata.id': `${host}/${collection}/${id}` });
const duplicateMessage = "One or more added object references already exist for the following modified properties: 'members'.";

describe('S1 POST /groups/{id}/members/$ref', () => {
  it('adds a user: 204 with no body, both directions stored', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    const response = await service.addMember(group.id, user.id);
    expect(response.status).toBe(204);
    expect(response.text).toBe('');
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: true });
  });

  it('adds a group to a security group', async () => {
    const [parent, child] = [await service.createGroup(), await service.createGroup()];
    expect((await service.addMember(parent.id, child.id)).status).toBe(204);
    const memberOf = await service.request('GET', `/v1.0/groups/${child.id}/memberOf`);
    expect(memberOf.json.value.map((group: { id: string }) => group.id)).toEqual([parent.id]);
  });

  it.each([
    ['v1.0 directoryObjects', (id: string) => ref(id)],
    ['beta users', (id: string) => ref(id, 'https://graph.microsoft.com/beta', 'users')],
    ['US Government host', (id: string) => ref(id, 'https://graph.microsoft.us/v1.0')],
    ['China host', (id: string) => ref(id, 'https://microsoftgraph.chinacloudapi.cn/v1.0')],
    ['relative directoryObjects', (id: string) => ({ '@odata.id': `directoryObjects/${id}` })],
    ['upper-case GUID', (id: string) => ref(id.toUpperCase())],
    ['seed form with id and @odata.type', (id: string) => ({ '@odata.type': '#microsoft.graph.directoryObject', id, deletedDateTime: '2016-12-31T23:58:50.3020202+00:00' })],
    ['seed form with id only', (id: string) => ({ id })],
  ])('accepts the %s reference form', async (_form, body) => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    const response = await service.request('POST', `/v1.0/groups/${group.id}/members/$ref`, { body: body(user.id) });
    expect(response.status).toBe(204);
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: true });
  });

  it("accepts this service's own base URL in @odata.id", async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    const response = await service.request('POST', `/v1.0/groups/${group.id}/members/$ref`, { body: ref(user.id, `${service.baseUrl}/v1.0`, 'users') });
    expect(response.status).toBe(204);
  });

  it.each([
    ['neither @odata.id nor id', {}],
    ['a foreign host', { '@odata.id': `https://evil.example/v1.0/directoryObjects/${randomUUID()}` }],
    ['an unknown collection', { '@odata.id': `https://graph.microsoft.com/v1.0/devices/${randomUUID()}` }],
    ['a non-GUID id in @odata.id', { '@odata.id': 'https://graph.microsoft.com/v1.0/directoryObjects/abc' }],
    ['@odata.id that is not a string', { '@odata.id': 42 }],
    ['a seed property of the wrong type', { id: randomUUID(), unseenCount: 'eleven' }],
    ['an @odata.type that is not a directory object', { id: randomUUID(), '@odata.type': '#microsoft.graph.device' }],
    ['a JSON array', [1]],
  ])('400 for %s, storing nothing', async (_case, body) => {
    const group = await service.createGroup();
    const before = await service.snapshotStore();
    const response = await service.request('POST', `/v1.0/groups/${group.id}/members/$ref`, { body });
    expect(response.status).toBe(400);
    expect(['Request_BadRequest', 'BadRequest']).toContain(response.json.error.code);
    expect(await service.snapshotStore()).toEqual(before);
  });

  it('404 when @odata.type does not fit the object (no such object of that type)', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    const response = await service.request('POST', `/v1.0/groups/${group.id}/members/$ref`, { body: { id: user.id, '@odata.type': '#microsoft.graph.group' } });
    expect(response.status).toBe(404);
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: false, memberSide: false });
  });

  it("400 with Graph's exact message for a duplicate", async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    await service.addMember(group.id, user.id);
    const response = await service.addMember(group.id, user.id);
    expect(response.status).toBe(400);
    expect(response.json.error).toMatchObject({ code: 'Request_BadRequest', message: duplicateMessage });
  });

  it("404 for a missing group or member, and for another tenant's objects", async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    const missing = randomUUID();
    const noGroup = await service.addMember(missing, user.id);
    expect(noGroup.status).toBe(404);
    expect(noGroup.json.error).toMatchObject({ code: 'Request_ResourceNotFound', message: `Resource '${missing}' does not exist or one of its queried reference-property objects are not present.` });
    expect((await service.addMember(group.id, missing)).status).toBe(404);
    const otherTenant = await service.appToken(['GroupMember.ReadWrite.All'], service.otherTenantId);
    expect((await service.addMember(group.id, user.id, { token: otherTenant })).status).toBe(404);
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: false, memberSide: false });
  });

  it('400 for a non-GUID group id', async () => {
    const user = await service.createUser();
    const response = await service.addMember('engineering', user.id);
    expect(response.status).toBe(400);
    expect(response.json.error.message).toBe("Invalid object identifier 'engineering'.");
  });
});

describe('membership rules (SPEC section 1)', () => {
  const expectRefused = async (groupId: string, memberId: string, message?: string) => {
    const before = await service.snapshotStore();
    const response = await service.addMember(groupId, memberId);
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('Request_BadRequest');
    if (message !== undefined) expect(response.json.error.message).toBe(message);
    expect(await service.snapshotStore()).toEqual(before);
  };

  it('Microsoft 365 groups hold users only', async () => {
    const unified = await service.createGroup({ groupTypes: ['Unified'], mailEnabled: true, securityEnabled: false });
    await expectRefused(unified.id, (await service.createGroup()).id);
    expect((await service.addMember(unified.id, (await service.createUser()).id)).status).toBe(204);
  });

  it('no nesting into role-assignable groups', async () => {
    const assignable = await service.createGroup({ isAssignableToRole: true });
    await expectRefused(assignable.id, (await service.createGroup()).id, 'Nesting is currently not supported for groups that can be assigned to a role.');
  });

  it('no manual members in dynamic groups', async () => {
    const dynamic = await service.createGroup({ groupTypes: ['DynamicMembership'], membershipRule: 'user.department -eq "Sales"', membershipRuleProcessingState: 'On' });
    await expectRefused(dynamic.id, (await service.createUser()).id);
  });

  it('no members added to distribution lists', async () => {
    const distribution = await service.createGroup({ mailEnabled: true, securityEnabled: false });
    await expectRefused(distribution.id, (await service.createUser()).id);
  });

  it('no group into itself', async () => {
    const group = await service.createGroup();
    await expectRefused(group.id, group.id);
  });

  it('no nesting that closes a cycle, however deep', async () => {
    const chain = [await service.createGroup(), await service.createGroup(), await service.createGroup(), await service.createGroup()];
    for (let index = 0; index + 1 < chain.length; index += 1) expect((await service.addMember(chain[index]!.id, chain[index + 1]!.id)).status).toBe(204);
    await expectRefused(chain[3]!.id, chain[0]!.id);
    await expectRefused(chain[2]!.id, chain[0]!.id);
    await expectRefused(chain[1]!.id, chain[0]!.id);
    // A diamond is not a cycle.
    expect((await service.addMember(chain[0]!.id, chain[3]!.id)).status).toBe(204);
  });
});

describe('S2 POST /groups/{id}/memberOf/$ref', () => {
  it.each(['/$ref', ''])('nests the group into the referenced group (%s): 201 + the parent group', async (suffix) => {
    const [parent, child] = [await service.createGroup({ description: 'parent' }), await service.createGroup()];
    const response = await service.request('POST', `/beta/groups/${child.id}/memberOf${suffix}`, { body: ref(parent.id) });
    expect(response.status).toBe(201);
    expect(response.json).toMatchObject({ '@odata.type': '#microsoft.graph.group', id: parent.id, description: 'parent' });
    expect(response.json['@odata.context']).toBe(`${service.baseUrl}/beta/$metadata#groups/$entity`);
    expect(response.headers.get('location')).toBe(`${service.baseUrl}/beta/groups/${parent.id}`);
    expect(await service.storedEdges(parent.id, child.id)).toEqual({ groupSide: true, memberSide: true });
  });

  it('accepts the seed example body with an id added', async () => {
    const [parent, child] = [await service.createGroup(), await service.createGroup()];
    const response = await service.request('POST', `/beta/groups/${child.id}/memberOf`, {
      body: { '@odata.type': '#microsoft.graph.directoryObject', id: parent.id, deletedDateTime: '2016-12-31T23:58:50.3020202+00:00' },
    });
    expect(response.status).toBe(201);
  });

  it('404 when {groupId} is a user', async () => {
    const [parent, user] = [await service.createGroup(), await service.createUser()];
    expect((await service.request('POST', `/v1.0/groups/${user.id}/memberOf/$ref`, { body: ref(parent.id) })).status).toBe(404);
  });
});

describe('S3 POST /me/joinedGroups/{id}/memberOf/$ref', () => {
  it('nests a group the caller is a direct member of: 201', async () => {
    const caller = await service.createUser();
    const [parent, mine] = [await service.createGroup(), await service.createGroup()];
    await service.addMember(mine.id, caller.id);
    const token = await service.userToken(caller.id, ['GroupMember.ReadWrite.All'], [roles.groupsAdministrator]);
    const response = await service.request('POST', `/v1.0/me/joinedGroups/${mine.id}/memberOf/$ref`, { token, body: ref(parent.id) });
    expect(response.status).toBe(201);
    expect(response.json.id).toBe(parent.id);
    expect(await service.storedEdges(parent.id, mine.id)).toEqual({ groupSide: true, memberSide: true });
  });

  it('404 when the caller is not a member of {groupId}', async () => {
    const caller = await service.createUser();
    const [parent, notMine] = [await service.createGroup(), await service.createGroup()];
    const token = await service.userToken(caller.id, ['GroupMember.ReadWrite.All'], [roles.groupsAdministrator]);
    const response = await service.request('POST', `/v1.0/me/joinedGroups/${notMine.id}/memberOf`, { token, body: ref(parent.id) });
    expect(response.status).toBe(404);
    expect(await service.storedEdges(parent.id, notMine.id)).toEqual({ groupSide: false, memberSide: false });
  });

  it('400 for an application token', async () => {
    const response = await service.request('POST', `/v1.0/me/joinedGroups/${randomUUID()}/memberOf/$ref`, { body: ref(randomUUID()) });
    expect(response.status).toBe(400);
    expect(response.json.error.message).toBe('/me request is only valid with delegated authentication flow.');
  });
});

describe('S4 POST /me/joinedGroups/$ref', () => {
  it.each(['/$ref', ''])('adds the signed-in user (%s): 201 + the group', async (suffix) => {
    const caller = await service.createUser();
    const group = await service.createGroup();
    const token = await service.userToken(caller.id, ['GroupMember.ReadWrite.All'], [roles.userAdministrator]);
    const response = await service.request('POST', `/beta/me/joinedGroups${suffix}`, { token, body: ref(group.id) });
    expect(response.status).toBe(201);
    expect(response.json.id).toBe(group.id);
    expect(response.headers.get('location')).toBe(`${service.baseUrl}/beta/groups/${group.id}`);
    expect(await service.storedEdges(group.id, caller.id)).toEqual({ groupSide: true, memberSide: true });
  });

  it('lets anyone with the permission join a public Microsoft 365 group, but not a private one', async () => {
    const caller = await service.createUser();
    const open = await service.createGroup({ groupTypes: ['Unified'], mailEnabled: true, securityEnabled: false, visibility: 'Public' });
    const closed = await service.createGroup({ groupTypes: ['Unified'], mailEnabled: true, securityEnabled: false, visibility: 'Private' });
    const token = await service.userToken(caller.id, ['GroupMember.ReadWrite.All']);
    expect((await service.request('POST', '/v1.0/me/joinedGroups/$ref', { token, body: ref(open.id) })).status).toBe(201);
    const refused = await service.request('POST', '/v1.0/me/joinedGroups/$ref', { token, body: ref(closed.id) });
    expect(refused.status).toBe(403);
    expect(await service.storedEdges(closed.id, caller.id)).toEqual({ groupSide: false, memberSide: false });
  });

  it('400 for an application token', async () => {
    const response = await service.request('POST', '/v1.0/me/joinedGroups/$ref', { body: ref(randomUUID()) });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('BadRequest');
  });
});

describe('S5 POST /users/{id}/joinedGroups/$ref', () => {
  it('adds the user by id: 201 + the group', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    const response = await service.request('POST', `/v1.0/users/${user.id}/joinedGroups/$ref`, { body: ref(group.id) });
    expect(response.status).toBe(201);
    expect(response.json.id).toBe(group.id);
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: true });
  });

  it('adds the user by userPrincipalName, without /$ref', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    const response = await service.request('POST', `/v1.0/users/${user.userPrincipalName}/joinedGroups`, { body: { id: group.id } });
    expect(response.status).toBe(201);
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: true });
  });

  it('404 for an unknown userPrincipalName; 400 for a malformed id', async () => {
    const group = await service.createGroup();
    expect((await service.request('POST', '/v1.0/users/ghost@contoso.example/joinedGroups/$ref', { body: ref(group.id) })).status).toBe(404);
    expect((await service.request('POST', '/v1.0/users/ghost/joinedGroups/$ref', { body: ref(group.id) })).status).toBe(400);
  });

  it('refuses a group reference that is a user (404)', async () => {
    const [other, user] = [await service.createUser(), await service.createUser()];
    expect((await service.request('POST', `/v1.0/users/${user.id}/joinedGroups/$ref`, { body: ref(other.id) })).status).toBe(404);
  });
});

describe('authorization (SPEC section 2)', () => {
  it('delegated: the permission alone is not enough without owning the group', async () => {
    const [caller, user, group] = [await service.createUser(), await service.createUser(), await service.createGroup()];
    const response = await service.addMember(group.id, user.id, { token: await service.userToken(caller.id, ['GroupMember.ReadWrite.All']) });
    expect(response.status).toBe(403);
    expect(response.json.error).toMatchObject({ code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' });
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: false, memberSide: false });
  });

  it('delegated: an owner may add members', async () => {
    const [owner, user] = [await service.createUser(), await service.createUser()];
    const group = await service.createGroup({ 'owners@odata.bind': [`https://graph.microsoft.com/v1.0/users/${owner.id}`] });
    expect((await service.addMember(group.id, user.id, { token: await service.userToken(owner.id, ['Group.ReadWrite.All']) })).status).toBe(204);
  });

  it.each(
    Object.entries({
      globalAdministrator: roles.globalAdministrator,
      groupsAdministrator: roles.groupsAdministrator,
      userAdministrator: roles.userAdministrator,
      directoryWriters: roles.directoryWriters,
    }),
  )('delegated: %s in wids may add to any group', async (_role, roleId) => {
    const [caller, user, group] = [await service.createUser(), await service.createUser(), await service.createGroup()];
    expect((await service.addMember(group.id, user.id, { token: await service.userToken(caller.id, ['Directory.AccessAsUser.All'], [roleId]) })).status).toBe(204);
  });

  it.each([['Group.Read.All'], ['User.ReadWrite.All'], ['GroupMember.Read.All']])('403 for a delegated caller with only %s', async (scope) => {
    const [caller, user, group] = [await service.createUser(), await service.createUser(), await service.createGroup()];
    expect((await service.addMember(group.id, user.id, { token: await service.userToken(caller.id, [scope], [roles.globalAdministrator]) })).status).toBe(403);
  });

  it.each([
    ['GroupMember.ReadWrite.All', 204],
    ['Group.ReadWrite.All', 204],
    ['Directory.ReadWrite.All', 204],
    ['Directory.AccessAsUser.All', 403],
    ['Group.Read.All', 403],
  ])('application role %s: %i', async (role, status) => {
    const [user, group] = [await service.createUser(), await service.createGroup()];
    expect((await service.addMember(group.id, user.id, { token: await service.appToken([role]) })).status).toBe(status);
  });

  it('role-assignable groups: only Global or Privileged Role Administrators, and apps with RoleManagement.ReadWrite.Directory', async () => {
    const group = await service.createGroup({ isAssignableToRole: true });
    const caller = await service.createUser();
    const add = async (token: string) => (await service.addMember(group.id, (await service.createUser()).id, { token })).status;
    expect(await add(await service.userToken(caller.id, ['GroupMember.ReadWrite.All'], [roles.groupsAdministrator]))).toBe(403);
    expect(await add(await service.userToken(caller.id, ['GroupMember.ReadWrite.All'], [roles.globalAdministrator]))).toBe(204);
    expect(await add(await service.userToken(caller.id, ['GroupMember.ReadWrite.All'], [roles.privilegedRoleAdministrator]))).toBe(204);
    expect(await add(await service.appToken(['GroupMember.ReadWrite.All']))).toBe(403);
    expect(await add(await service.appToken(['GroupMember.ReadWrite.All', 'RoleManagement.ReadWrite.Directory']))).toBe(204);
  });
});
