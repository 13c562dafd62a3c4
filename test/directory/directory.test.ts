import { randomUUID } from 'node:crypto';
import { TestService } from '../support/testService';

let service: TestService;
beforeAll(async () => {
  service = await TestService.start();
});
afterAll(() => service.stop());

const newNickname = () => `n${randomUUID().slice(0, 8)}`;

describe('POST /users', () => {
  it('creates a user: 201, Location, the Graph entity, and passwordProfile never stored', async () => {
    const nickname = newNickname();
    const response = await service.request('POST', '/v1.0/users', {
      body: {
        displayName: 'Ada Lovelace',
        userPrincipalName: `${nickname}@contoso.example`,
        accountEnabled: true,
        mailNickname: nickname,
        passwordProfile: { password: 'Secr3t!Secr3t!', forceChangePasswordNextSignIn: true },
      },
    });
    expect(response.status).toBe(201);
    expect(response.json).toMatchObject({ '@odata.type': '#microsoft.graph.user', displayName: 'Ada Lovelace', userPrincipalName: `${nickname}@contoso.example` });
    expect(response.json.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('location')).toBe(`${service.baseUrl}/v1.0/users/${response.json.id}`);
    expect(response.json['@odata.context']).toBe(`${service.baseUrl}/v1.0/$metadata#users/$entity`);
    expect(response.text).not.toContain('Secr3t');
    const read = await service.request('GET', `/v1.0/users/${response.json.id}`);
    expect(read.status).toBe(200);
    expect(read.text).not.toContain('passwordProfile');
  });

  it('takes a caller-chosen GUID id, and finds the user by userPrincipalName', async () => {
    const id = randomUUID();
    const upn = `${newNickname()}@contoso.example`;
    expect((await service.request('POST', '/v1.0/users', { body: { id, displayName: 'Mirror', userPrincipalName: upn } })).status).toBe(201);
    const byUpn = await service.request('GET', `/v1.0/users/${encodeURIComponent(upn.toUpperCase())}`);
    expect(byUpn.status).toBe(200);
    expect(byUpn.json.id).toBe(id);
    expect((await service.request('GET', `/v1.0/users/nobody@contoso.example`)).status).toBe(404);
  });

  it('refuses a duplicate userPrincipalName and a duplicate id, storing nothing', async () => {
    const existing = await service.createUser();
    const before = await service.snapshotStore();
    const sameUpn = await service.request('POST', '/v1.0/users', { body: { displayName: 'Twin', userPrincipalName: existing.userPrincipalName.toUpperCase() } });
    expect(sameUpn.status).toBe(400);
    expect(sameUpn.json.error).toMatchObject({ code: 'Request_BadRequest', message: 'Another object with the same value for property userPrincipalName already exists.' });
    const sameId = await service.request('POST', '/v1.0/users', { body: { id: existing.id, displayName: 'Twin', userPrincipalName: `${newNickname()}@contoso.example` } });
    expect(sameId.status).toBe(400);
    expect(sameId.json.error.message).toBe('Another object with the same value for property id already exists.');
    expect(await service.snapshotStore()).toEqual(before);
  });

  it.each([
    ['missing displayName', { userPrincipalName: 'a@contoso.example' }, "Invalid value specified for property 'displayName' of resource 'User'."],
    ['missing userPrincipalName', { displayName: 'A' }, "Invalid value specified for property 'userPrincipalName' of resource 'User'."],
    ['displayName of the wrong type', { displayName: 42, userPrincipalName: 'a@contoso.example' }, "Invalid value specified for property 'displayName' of resource 'User'."],
    ['accountEnabled as a string', { displayName: 'A', userPrincipalName: 'a@contoso.example', accountEnabled: 'yes' }, "Invalid value specified for property 'accountEnabled' of resource 'User'."],
    ['a non-GUID id', { id: 'abc', displayName: 'A', userPrincipalName: 'a@contoso.example' }, "Invalid value specified for property 'id' of resource 'User'."],
    ['a malformed userPrincipalName', { displayName: 'A', userPrincipalName: 'no-at-sign' }, "Invalid value specified for property 'userPrincipalName' of resource 'User'."],
    [
      'an unknown property',
      { displayName: 'A', userPrincipalName: 'a@contoso.example', favouriteColour: 'blue' },
      "Property 'favouriteColour' does not exist as a declared property or extension property.",
    ],
  ])('400 for %s, storing nothing', async (_case, body, message) => {
    const before = await service.snapshotStore();
    const response = await service.request('POST', '/v1.0/users', { body });
    expect(response.status).toBe(400);
    expect(response.json.error).toMatchObject({ code: 'Request_BadRequest', message });
    expect(await service.snapshotStore()).toEqual(before);
  });

  it('needs User.ReadWrite.All or Directory.ReadWrite.All', async () => {
    const response = await service.request('POST', '/v1.0/users', {
      token: await service.appToken(['Group.ReadWrite.All']),
      body: { displayName: 'A', userPrincipalName: `${newNickname()}@contoso.example` },
    });
    expect(response.status).toBe(403);
  });
});

describe('POST /groups', () => {
  it('creates a group with the seed properties it was given, and makes a delegated creator an owner', async () => {
    const creator = await service.createUser();
    const token = await service.userToken(creator.id, ['Group.Create', 'Group.Read.All']);
    const response = await service.request('POST', '/beta/groups', {
      token,
      body: { displayName: 'Research', mailNickname: 'research', mailEnabled: false, securityEnabled: true, description: 'R&D', classification: 'internal', theme: 'Blue' },
    });
    expect(response.status).toBe(201);
    expect(response.json).toMatchObject({ '@odata.type': '#microsoft.graph.group', displayName: 'Research', classification: 'internal', theme: 'Blue', groupTypes: [] });
    expect(response.headers.get('location')).toBe(`${service.baseUrl}/beta/groups/${response.json.id}`);
    const owners = await service.request('GET', `/v1.0/groups/${response.json.id}/owners`, { token });
    expect(owners.json.value.map((owner: { id: string }) => owner.id)).toEqual([creator.id]);
  });

  it('binds owners and members at creation, both directions stored', async () => {
    const [owner, member] = [await service.createUser(), await service.createUser()];
    const response = await service.request('POST', '/v1.0/groups', {
      body: {
        displayName: 'Bound',
        mailNickname: newNickname(),
        mailEnabled: false,
        securityEnabled: true,
        'owners@odata.bind': [`https://graph.microsoft.com/v1.0/users/${owner.id}`],
        'members@odata.bind': [`https://graph.microsoft.com/v1.0/directoryObjects/${member.id}`],
      },
    });
    expect(response.status).toBe(201);
    expect(await service.storedEdges(response.json.id, member.id)).toEqual({ groupSide: true, memberSide: true });
    const owners = await service.request('GET', `/v1.0/groups/${response.json.id}/owners`);
    expect(owners.json.value.map((entry: { id: string }) => entry.id)).toEqual([owner.id]);
  });

  it('refuses more than 20 links, and a link to a missing object, storing nothing', async () => {
    const before = await service.snapshotStore();
    const links = Array.from({ length: 21 }, () => `https://graph.microsoft.com/v1.0/directoryObjects/${randomUUID()}`);
    const tooMany = await service.request('POST', '/v1.0/groups', { body: { displayName: 'X', mailNickname: 'x', mailEnabled: false, securityEnabled: true, 'members@odata.bind': links } });
    expect(tooMany.status).toBe(400);
    const missingId = randomUUID();
    const missing = await service.request('POST', '/v1.0/groups', {
      body: { displayName: 'X', mailNickname: 'x', mailEnabled: false, securityEnabled: true, 'members@odata.bind': [`https://graph.microsoft.com/v1.0/directoryObjects/${missingId}`] },
    });
    expect(missing.status).toBe(404);
    expect(missing.json.error.message).toBe(`Resource '${missingId}' does not exist or one of its queried reference-property objects are not present.`);
    expect(await service.snapshotStore()).toEqual(before);
  });

  // SPEC 6 and 8: the binds of a creation are all or nothing like a PATCH's, where "one bad or
  // duplicate link" is Graph's 400 and adds nothing. Graph refuses the same user linked twice at
  // creation (microsoftgraph/contoso-airlines-teams-sample#1: 400 Request_BadRequest "… can only be
  // present once as an add/remove change.").
  it('refuses the same member linked twice, creating no group', async () => {
    const member = await service.createUser();
    const before = await service.snapshotStore();
    const response = await service.request('POST', '/v1.0/groups', {
      body: {
        displayName: 'Twice',
        mailNickname: newNickname(),
        mailEnabled: false,
        securityEnabled: true,
        'members@odata.bind': [`https://graph.microsoft.com/v1.0/directoryObjects/${member.id}`, `https://graph.microsoft.com/v1.0/users/${member.id}`],
      },
    });
    expect([response.status, response.json?.error?.code]).toEqual([400, 'Request_BadRequest']);
    expect(response.json.error.message).toBe("One or more added object references already exist for the following modified properties: 'members'.");
    // Owners likewise.
    const owners = await service.request('POST', '/v1.0/groups', {
      body: {
        displayName: 'Twice owned',
        mailNickname: newNickname(),
        mailEnabled: false,
        securityEnabled: true,
        'owners@odata.bind': [`https://graph.microsoft.com/v1.0/users/${member.id}`, `https://graph.microsoft.com/v1.0/users/${member.id.toUpperCase()}`],
      },
    });
    expect([owners.status, owners.json.error?.message]).toEqual([400, "One or more added object references already exist for the following modified properties: 'owners'."]);
    expect(await service.snapshotStore()).toEqual(before);
  });

  it.each([
    ['missing mailNickname', { displayName: 'X', mailEnabled: false, securityEnabled: true }, 'mailNickname'],
    ['mailEnabled as a string', { displayName: 'X', mailNickname: 'x', mailEnabled: 'false', securityEnabled: true }, 'mailEnabled'],
    ['unseenCount as a string (seed type Int32)', { displayName: 'X', mailNickname: 'x', mailEnabled: false, securityEnabled: true, unseenCount: '3' }, 'unseenCount'],
    ['an unknown groupTypes value', { displayName: 'X', mailNickname: 'x', mailEnabled: false, securityEnabled: true, groupTypes: ['Whatever'] }, 'groupTypes'],
    ['DynamicMembership without a rule', { displayName: 'X', mailNickname: 'x', mailEnabled: false, securityEnabled: true, groupTypes: ['DynamicMembership'] }, 'membershipRule'],
  ])('400 for %s', async (_case, body, property) => {
    const response = await service.request('POST', '/v1.0/groups', { body });
    expect(response.status).toBe(400);
    expect(response.json.error.message).toBe(`Invalid value specified for property '${property}' of resource 'Group'.`);
  });

  it('400 for a property the group type does not have', async () => {
    const response = await service.request('POST', '/v1.0/groups', { body: { displayName: 'X', mailNickname: 'x', mailEnabled: false, securityEnabled: true, jobTitle: 'x' } });
    expect(response.status).toBe(400);
    expect(response.json.error.message).toBe("Property 'jobTitle' does not exist as a declared property or extension property.");
  });
});

describe('reads and tenancy', () => {
  it('GET /me returns the signed-in user', async () => {
    const user = await service.createUser();
    const response = await service.request('GET', '/v1.0/me', { token: await service.userToken(user.id, ['User.Read.All']) });
    expect(response.status).toBe(200);
    expect(response.json.id).toBe(user.id);
  });

  it("hides another tenant's objects (404), whatever ids it guesses", async () => {
    const group = await service.createGroup();
    const user = await service.createUser();
    const otherAdmin = await service.appToken(['Directory.ReadWrite.All'], service.otherTenantId);
    expect((await service.request('GET', `/v1.0/groups/${group.id}`, { token: otherAdmin })).status).toBe(404);
    expect((await service.request('GET', `/v1.0/users/${user.id}`, { token: otherAdmin })).status).toBe(404);
    expect((await service.request('GET', `/v1.0/users/${user.userPrincipalName}`, { token: otherAdmin })).status).toBe(404);
    // The same UPN is free in another tenant.
    const twin = await service.request('POST', '/v1.0/users', { token: otherAdmin, body: { displayName: 'Twin', userPrincipalName: user.userPrincipalName } });
    expect(twin.status).toBe(201);
  });

  it('$select on a single object answers those properties and names them in @odata.context (SPEC 6)', async () => {
    const group = await service.createGroup({ displayName: 'Selected', description: 'selected' });
    const response = await service.request('GET', `/v1.0/groups/${group.id}?$select=displayName,description`);
    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      '@odata.context': `${service.baseUrl}/v1.0/$metadata#groups(displayName,description)/$entity`,
      '@odata.type': '#microsoft.graph.group',
      id: group.id,
      displayName: 'Selected',
      description: 'selected',
    });
    const user = await service.createUser();
    const me = await service.request('GET', '/beta/me?$SELECT=userPrincipalName', { token: await service.userToken(user.id, ['User.Read.All']) });
    expect(me.json).toEqual({
      '@odata.context': `${service.baseUrl}/beta/$metadata#users(userPrincipalName)/$entity`,
      '@odata.type': '#microsoft.graph.user',
      id: user.id,
      userPrincipalName: user.userPrincipalName,
    });
  });

  it('an unsupported query option on a single object is a 400 naming it, never silently ignored ($expand but on a group included)', async () => {
    const group = await service.createGroup();
    const user = await service.createUser();
    for (const [path, option] of [
      [`/v1.0/users/${user.id}?$expand=memberOf`, '$expand'],
      [`/v1.0/groups/${group.id}?$top=1`, '$top'],
      [`/v1.0/users/${user.id}?$top=1`, '$top'],
      [`/v1.0/users/${user.userPrincipalName}?$filter=id eq '1'`, '$filter'],
    ] as const) {
      const response = await service.request('GET', path);
      expect({ status: response.status, code: response.json.error.code, message: response.json.error.message }).toEqual({
        status: 400,
        code: 'BadRequest',
        message: `Query option '${option}' is not supported on this resource.`,
      });
    }
  });

  it('GET /groups/{id} of a user id is a 404', async () => {
    const user = await service.createUser();
    expect((await service.request('GET', `/v1.0/groups/${user.id}`)).status).toBe(404);
  });
});
