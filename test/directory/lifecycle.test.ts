import { randomUUID } from 'node:crypto';
import { getCosmosStore } from '../../src/store/cosmosStore';
import { roles, TestService, type TestResponse } from '../support/testService';

/**
 * SPEC 6 over raw HTTP: PATCH and DELETE of users and groups, owners add/remove. Every refusal is
 * checked for its status, Graph code and message, and for leaving the store exactly as it was.
 */
let service: TestService;
beforeAll(async () => {
  service = await TestService.start();
});
afterAll(() => service.stop());

const bind = (collection: string, id: string) => `https://graph.microsoft.com/v1.0/${collection}/${id}`;
const patch = (path: string, body: unknown, token?: string) => service.request('PATCH', path, { body, ...(token === undefined ? {} : { token }) });

function expectError(response: TestResponse, status: number, code: string, message?: string): void {
  expect({ status: response.status, code: response.json?.error?.code, ...(message === undefined ? {} : { message: response.json?.error?.message }) }).toEqual({
    status,
    code,
    ...(message === undefined ? {} : { message }),
  });
}

/** Sends the request and checks that it was refused as given and that no document changed. */
async function expectRefused(send: () => Promise<TestResponse>, status: number, code: string, message?: string): Promise<void> {
  const before = await storeContents();
  expectError(await send(), status, code, message);
  expect(await storeContents()).toEqual(before);
}

/** Every document of both containers, content included (not only ids: a PATCH changes content). */
async function storeContents(): Promise<string[]> {
  const store = await getCosmosStore();
  const documents: string[] = [];
  for (const container of [store.directory, store.memberships]) {
    // The change log is left out: an edge written and then taken back was committed for a moment,
    // and its log says so (an add, then a removal; src/changes/changeLog.ts).
    const { resources } = await container.items.query<Record<string, unknown>>("SELECT * FROM c WHERE NOT IS_DEFINED(c.kind) OR c.kind != 'change'").fetchAll();
    for (const { _etag, _ts, _rid, _self, _attachments, ...content } of resources) documents.push(`${container.id}:${JSON.stringify(content)}`);
  }
  return documents.sort();
}

/**
 * The documents that name an object anywhere: as id, group, member or owner, or in a partition key,
 * but for its change log (kept 8 days, so that delta readers learn of the deletion).
 */
async function documentsNaming(id: string): Promise<string[]> {
  const store = await getCosmosStore();
  const found: string[] = [];
  for (const container of [store.directory, store.memberships]) {
    const { resources } = await container.items
      .query<{ pk: string; id: string }>({
        query: "SELECT c.pk, c.id FROM c WHERE (c.id = @id OR c.groupId = @id OR c.objectId = @id OR CONTAINS(c.pk, @id)) AND (NOT IS_DEFINED(c.kind) OR c.kind != 'change')",
        parameters: [{ name: '@id', value: id }],
      })
      .fetchAll();
    for (const resource of resources) found.push(`${container.id}:${resource.pk}:${resource.id}`);
  }
  return found.sort();
}

const ids = (response: TestResponse) => (response.json?.value ?? []).map((entry) => entry.id).sort();

describe('PATCH /users/{id}', () => {
  it('changes the writable properties (by id or by userPrincipalName); GET and GET /users show them; passwordProfile is not stored', async () => {
    const user = await service.createUser();
    const response = await patch(`/v1.0/users/${user.userPrincipalName}`, { displayName: 'Grace Hopper', jobTitle: 'Admiral', passwordProfile: { password: 'Secret-123' } });
    expect(response.status).toBe(204);
    expect(response.text).toBe('');
    const read = await service.request('GET', `/v1.0/users/${user.id}`);
    expect(read.json).toMatchObject({ displayName: 'Grace Hopper', jobTitle: 'Admiral', userPrincipalName: user.userPrincipalName });
    expect(read.json.passwordProfile).toBeUndefined();
    expect(JSON.stringify(await storeContents())).not.toContain('Secret-123');
    const listed = await service.request('GET', `/v1.0/users?$filter=${encodeURIComponent("displayName eq 'Grace Hopper'")}`);
    expect(ids(listed)).toEqual([user.id]);
  });

  it('moves the userPrincipalName: the new one finds the user, the old one is free again', async () => {
    const user = await service.createUser();
    const newName = `moved.${user.userPrincipalName}`;
    expect((await patch(`/v1.0/users/${user.id}`, { userPrincipalName: newName })).status).toBe(204);
    expect((await service.request('GET', `/v1.0/users/${newName}`)).json.id).toBe(user.id);
    expect((await service.request('GET', `/v1.0/users/${user.userPrincipalName}`)).status).toBe(404);
    const listed = await service.request('GET', `/v1.0/users?$filter=${encodeURIComponent(`userPrincipalName eq '${newName}'`)}`);
    expect(ids(listed)).toEqual([user.id]);
    const reuse = await service.request('POST', '/v1.0/users', { body: { displayName: 'Reuse', userPrincipalName: user.userPrincipalName } });
    expect(reuse.status).toBe(201);
  });

  it('a change of case keeps the one claim', async () => {
    const user = await service.createUser();
    expect((await patch(`/v1.0/users/${user.id}`, { userPrincipalName: user.userPrincipalName.toUpperCase() })).status).toBe(204);
    expect((await service.request('GET', `/v1.0/users/${user.userPrincipalName}`)).json.userPrincipalName).toBe(user.userPrincipalName.toUpperCase());
  });

  it("a renamed member shows its new displayName in the group's members page and in memberOf of a renamed group", async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    await service.addMember(group.id, user.id);
    expect((await patch(`/v1.0/users/${user.id}`, { displayName: 'After' })).status).toBe(204);
    expect((await service.request('GET', `/v1.0/groups/${group.id}/members`)).json.value.map((entry) => entry.displayName)).toEqual(['After']);
    expect((await patch(`/v1.0/groups/${group.id}`, { displayName: 'Group after' })).status).toBe(204);
    expect((await service.request('GET', `/v1.0/users/${user.id}/memberOf`)).json.value.map((entry) => entry.displayName)).toEqual(['Group after']);
  });

  it('an empty body changes nothing: 204', async () => {
    const user = await service.createUser();
    const before = await storeContents();
    expect((await patch(`/v1.0/users/${user.id}`, {})).status).toBe(204);
    expect(await storeContents()).toEqual(before);
  });

  it.each([
    ['an unknown property', { favouriteColour: 'blue' }, "Property 'favouriteColour' does not exist as a declared property or extension property."],
    ['id', { id: randomUUID() }, "Property 'id' is read-only and cannot be set."],
    ['createdDateTime', { displayName: 'x', createdDateTime: '2020-01-01T00:00:00Z' }, "Property 'createdDateTime' is read-only and cannot be set."],
    ['a number for displayName', { displayName: 5 }, "Invalid value specified for property 'displayName' of resource 'User'."],
    ['a string for accountEnabled', { accountEnabled: 'yes' }, "Invalid value specified for property 'accountEnabled' of resource 'User'."],
    ['a malformed userPrincipalName', { userPrincipalName: 'no-at-sign' }, "Invalid value specified for property 'userPrincipalName' of resource 'User'."],
    ['an unknown passwordProfile property', { passwordProfile: { pin: 1 } }, "Property 'passwordProfile.pin' does not exist as a declared property or extension property."],
  ])('400 for %s, nothing changed', async (_label, body, message) => {
    const user = await service.createUser();
    await expectRefused(async () => patch(`/v1.0/users/${user.id}`, body), 400, 'Request_BadRequest', message);
  });

  it('400 for a userPrincipalName another user holds, nothing changed', async () => {
    const [user, other] = [await service.createUser(), await service.createUser()];
    await expectRefused(
      async () => patch(`/v1.0/users/${user.id}`, { displayName: 'Not applied', userPrincipalName: other.userPrincipalName.toUpperCase() }),
      400,
      'Request_BadRequest',
      'Another object with the same value for property userPrincipalName already exists.',
    );
  });

  it('400 for a body that is not JSON, 404 for a user that does not exist, 404 for a group id', async () => {
    const [user, group] = [await service.createUser(), await service.createGroup()];
    await expectRefused(async () => service.request('PATCH', `/v1.0/users/${user.id}`, { rawBody: '{"displayName":', headers: { 'Content-Type': 'application/json' } }), 400, 'BadRequest');
    await expectRefused(async () => patch(`/v1.0/users/${randomUUID()}`, { displayName: 'x' }), 404, 'Request_ResourceNotFound');
    await expectRefused(async () => patch(`/v1.0/users/${group.id}`, { displayName: 'x' }), 404, 'Request_ResourceNotFound');
  });

  it('403 without User.ReadWrite.All or Directory.ReadWrite.All, nothing changed', async () => {
    const user = await service.createUser();
    for (const token of [await service.appToken(['Group.ReadWrite.All', 'User.Read.All']), await service.userToken(user.id, ['User.Read.All', 'Group.ReadWrite.All'])]) {
      await expectRefused(async () => patch(`/v1.0/users/${user.id}`, { displayName: 'x' }, token), 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
    }
  });
});

describe('PATCH /groups/{id}', () => {
  it('changes properties; GET and GET /groups show them', async () => {
    const group = await service.createGroup();
    const name = `Renamed ${randomUUID().slice(0, 8)}`;
    expect(
      (await patch(`/v1.0/groups/${group.id}`, { displayName: name, description: 'Readers', securityEnabled: true, groupTypes: ['DynamicMembership'], membershipRule: 'user.department -eq "x"' }))
        .status,
    ).toBe(204);
    expect((await service.request('GET', `/v1.0/groups/${group.id}`)).json).toMatchObject({ displayName: name, description: 'Readers', groupTypes: ['DynamicMembership'] });
    const listed = await service.request('GET', `/v1.0/groups?$filter=${encodeURIComponent(`displayName eq '${name}'`)}`);
    expect(ids(listed)).toEqual([group.id]);
    expect(listed.json.value[0]).toMatchObject({ description: 'Readers' });
  });

  it.each([
    ['an unknown property', { colour: 'red' }, "Property 'colour' does not exist as a declared property or extension property."],
    ['id', { id: randomUUID() }, "Property 'id' is read-only and cannot be set."],
    ['mailEnabled (fixed at creation)', { mailEnabled: true }, "Property 'mailEnabled' is read-only and cannot be set."],
    ['isAssignableToRole', { isAssignableToRole: true }, "Property 'isAssignableToRole' is read-only and cannot be set."],
    ['a string for securityEnabled', { securityEnabled: 'yes' }, "Invalid value specified for property 'securityEnabled' of resource 'Group'."],
    ['an unknown group type', { groupTypes: ['Team'] }, "Invalid value specified for property 'groupTypes' of resource 'Group'."],
    ['Unified added to a security group', { groupTypes: ['Unified'] }, "The 'Unified' group type cannot be added to or removed from an existing group."],
    ['DynamicMembership without a rule', { groupTypes: ['DynamicMembership'] }, "Invalid value specified for property 'membershipRule' of resource 'Group'."],
    ['visibility HiddenMembership after creation', { visibility: 'HiddenMembership' }, "Invalid value specified for property 'visibility' of resource 'Group'."],
    [
      '21 links',
      { 'members@odata.bind': Array.from({ length: 11 }, () => bind('users', randomUUID())), 'owners@odata.bind': Array.from({ length: 10 }, () => bind('users', randomUUID())) },
      "Invalid value specified for property 'members@odata.bind' of resource 'Group'.",
    ],
    [
      'a link that is no Graph URL',
      { 'members@odata.bind': ['https://example.com/v1.0/users/00000000-0000-4000-8000-000000000001'] },
      "Invalid object reference: 'example.com' is not a Microsoft Graph host.",
    ],
  ])('400 for %s, nothing changed', async (_label, body, message) => {
    const group = await service.createGroup();
    await expectRefused(async () => patch(`/v1.0/groups/${group.id}`, body), 400, 'Request_BadRequest', message);
  });

  it('404 for a group that does not exist, or a user id', async () => {
    const user = await service.createUser();
    await expectRefused(async () => patch(`/v1.0/groups/${randomUUID()}`, { description: 'x' }), 404, 'Request_ResourceNotFound');
    await expectRefused(async () => patch(`/v1.0/groups/${user.id}`, { description: 'x' }), 404, 'Request_ResourceNotFound');
    await expectRefused(async () => patch('/v1.0/groups/not-a-guid', { description: 'x' }), 400, 'Request_BadRequest', "Invalid object identifier 'not-a-guid'.");
  });

  describe('members@odata.bind and owners@odata.bind: all or nothing', () => {
    async function twentyLinks(): Promise<{ group: { id: string }; members: string[]; owners: string[] }> {
      const group = await service.createGroup();
      const members: string[] = [];
      for (let index = 0; index < 16; index += 1) members.push((await service.createUser()).id);
      members.push((await service.createGroup()).id);
      const owners = [(await service.createUser()).id, (await service.createUser()).id, (await service.createUser()).id];
      return { group, members, owners };
    }

    it('20 good links: every member and owner added in one PATCH, with the property change', async () => {
      const { group, members, owners } = await twentyLinks();
      const response = await patch(`/v1.0/groups/${group.id}`, {
        description: 'Bound',
        'members@odata.bind': members.map((id) => bind('directoryObjects', id)),
        'owners@odata.bind': owners.map((id) => bind('users', id)),
      });
      expect(response.status).toBe(204);
      expect(ids(await service.request('GET', `/v1.0/groups/${group.id}/members?$top=999`))).toEqual([...members].sort());
      expect(ids(await service.request('GET', `/v1.0/groups/${group.id}/owners`))).toEqual([...owners].sort());
      for (const member of members) expect(await service.storedEdges(group.id, member)).toEqual({ groupSide: true, memberSide: true });
      expect((await service.request('GET', `/v1.0/groups/${group.id}`)).json.description).toBe('Bound');
    });

    it.each([
      ['one member that does not exist', (members: string[]) => [...members.slice(0, 16), randomUUID()], 404, 'Request_ResourceNotFound', undefined],
      [
        'one member twice',
        (members: string[]) => [...members.slice(0, 16), members[0]!],
        400,
        'Request_BadRequest',
        "One or more added object references already exist for the following modified properties: 'members'.",
      ],
      ['one member of another tenant', (members: string[]) => [...members.slice(0, 16), 'OTHER'], 404, 'Request_ResourceNotFound', undefined],
    ])('%s among 20 links: nothing added, nothing changed', async (_label, membersOf, status, code, message) => {
      const { group, members, owners } = await twentyLinks();
      const foreign = (await service.createUser({}, await service.appToken(['Directory.ReadWrite.All'], service.otherTenantId))).id;
      const linked = membersOf(members).map((id) => (id === 'OTHER' ? foreign : id));
      await expectRefused(
        async () =>
          patch(`/v1.0/groups/${group.id}`, {
            description: 'Not applied',
            'members@odata.bind': linked.map((id) => bind('directoryObjects', id)),
            'owners@odata.bind': owners.map((id) => bind('users', id)),
          }),
        status,
        code,
        message,
      );
    });

    it('one member already there among 20 links: the duplicate 400, nothing added', async () => {
      const { group, members, owners } = await twentyLinks();
      expect((await service.addMember(group.id, members[5]!)).status).toBe(204);
      await expectRefused(
        async () => patch(`/v1.0/groups/${group.id}`, { 'members@odata.bind': members.map((id) => bind('directoryObjects', id)), 'owners@odata.bind': owners.map((id) => bind('users', id)) }),
        400,
        'Request_BadRequest',
        "One or more added object references already exist for the following modified properties: 'members'.",
      );
    });

    it('one owner already there: the duplicate 400 for owners; a group as owner: 404', async () => {
      const [group, owner, other] = [await service.createGroup(), await service.createUser(), await service.createGroup()];
      expect((await service.request('POST', `/v1.0/groups/${group.id}/owners/$ref`, { body: { '@odata.id': bind('users', owner.id) } })).status).toBe(204);
      await expectRefused(
        async () => patch(`/v1.0/groups/${group.id}`, { 'owners@odata.bind': [bind('users', owner.id)] }),
        400,
        'Request_BadRequest',
        "One or more added object references already exist for the following modified properties: 'owners'.",
      );
      await expectRefused(async () => patch(`/v1.0/groups/${group.id}`, { 'owners@odata.bind': [bind('directoryObjects', other.id)] }), 404, 'Request_ResourceNotFound');
    });

    it('the membership rules: a group into a Microsoft 365 group, a group into itself, a cycle, a dynamic group', async () => {
      const unified = await service.createGroup({ groupTypes: ['Unified'], mailEnabled: true, securityEnabled: false, visibility: 'Public' });
      const [parent, child, user] = [await service.createGroup(), await service.createGroup(), await service.createUser()];
      expect((await service.addMember(parent.id, child.id)).status).toBe(204);
      await expectRefused(
        async () => patch(`/v1.0/groups/${unified.id}`, { 'members@odata.bind': [bind('users', user.id), bind('groups', child.id)] }),
        400,
        'Request_BadRequest',
        'Only users can be members of a Microsoft 365 group.',
      );
      await expectRefused(async () => patch(`/v1.0/groups/${child.id}`, { 'members@odata.bind': [bind('groups', child.id)] }), 400, 'Request_BadRequest', 'A group cannot be a member of itself.');
      await expectRefused(async () => patch(`/v1.0/groups/${child.id}`, { 'members@odata.bind': [bind('users', user.id), bind('groups', parent.id)] }), 400, 'Request_BadRequest');
      // The rules apply to the group as the PATCH leaves it.
      await expectRefused(
        async () => patch(`/v1.0/groups/${child.id}`, { groupTypes: ['DynamicMembership'], membershipRule: 'user.department -eq "x"', 'members@odata.bind': [bind('users', user.id)] }),
        400,
        'Request_BadRequest',
        'Members of a group with dynamic membership cannot be added manually.',
      );
    });
  });

  describe('who may change a group', () => {
    it('403 for a delegated caller who neither owns the group nor manages groups, nothing changed; its owner may (and bind members)', async () => {
      const [group, owner, stranger, member] = [await service.createGroup(), await service.createUser(), await service.createUser(), await service.createUser()];
      expect((await service.request('POST', `/v1.0/groups/${group.id}/owners/$ref`, { body: { '@odata.id': bind('users', owner.id) } })).status).toBe(204);
      const strangerToken = await service.userToken(stranger.id, ['Group.ReadWrite.All']);
      await expectRefused(async () => patch(`/v1.0/groups/${group.id}`, { description: 'x', 'members@odata.bind': [bind('users', member.id)] }, strangerToken), 403, 'Authorization_RequestDenied');
      const ownerToken = await service.userToken(owner.id, ['Group.ReadWrite.All']);
      expect((await patch(`/v1.0/groups/${group.id}`, { description: 'By its owner', 'members@odata.bind': [bind('users', member.id)] }, ownerToken)).status).toBe(204);
      expect(ids(await service.request('GET', `/v1.0/groups/${group.id}/members`))).toEqual([member.id]);
      const adminToken = await service.userToken(stranger.id, ['Group.ReadWrite.All'], [roles.groupsAdministrator]);
      expect((await patch(`/v1.0/groups/${group.id}`, { description: 'By an administrator' }, adminToken)).status).toBe(204);
    });

    it('403 with GroupMember.ReadWrite.All only (changing a group takes Group.ReadWrite.All), nothing changed', async () => {
      const group = await service.createGroup();
      await expectRefused(async () => patch(`/v1.0/groups/${group.id}`, { description: 'x' }, await service.appToken(['GroupMember.ReadWrite.All'])), 403, 'Authorization_RequestDenied');
    });

    it('403 for a role-assignable group without RoleManagement.ReadWrite.Directory, nothing changed', async () => {
      const group = await service.createGroup({ isAssignableToRole: true });
      await expectRefused(async () => patch(`/v1.0/groups/${group.id}`, { description: 'x' }, await service.appToken(['Group.ReadWrite.All'])), 403, 'Authorization_RequestDenied');
    });
  });
});

describe('DELETE /users/{id} and /groups/{id}', () => {
  it('a user: every membership and ownership edge in both directions goes; GET, lists and pages no longer show it; its name is free', async () => {
    const [group, other, owned, user] = [await service.createGroup(), await service.createGroup(), await service.createGroup(), await service.createUser()];
    await service.addMember(group.id, user.id);
    await service.addMember(other.id, user.id);
    expect((await service.request('POST', `/v1.0/groups/${owned.id}/owners/$ref`, { body: { '@odata.id': bind('users', user.id) } })).status).toBe(204);
    expect((await documentsNaming(user.id)).length).toBeGreaterThan(4);

    const response = await service.request('DELETE', `/v1.0/users/${user.userPrincipalName}`);
    expect(response.status).toBe(204);
    expect(await documentsNaming(user.id)).toEqual([]);
    expect((await service.request('GET', `/v1.0/users/${user.id}`)).status).toBe(404);
    expect((await service.request('GET', `/v1.0/users/${user.userPrincipalName}`)).status).toBe(404);
    expect(ids(await service.request('GET', `/v1.0/users?$filter=${encodeURIComponent(`id eq '${user.id}'`)}`))).toEqual([]);
    expect(ids(await service.request('GET', `/v1.0/groups/${group.id}/members`))).toEqual([]);
    expect(ids(await service.request('GET', `/v1.0/groups/${owned.id}/owners`))).toEqual([]);
    expect((await service.addMember(group.id, user.id)).status).toBe(404);
    expect((await service.request('POST', '/v1.0/users', { body: { displayName: 'Again', userPrincipalName: user.userPrincipalName } })).status).toBe(201);
  });

  it('a group: its members, its owners and its own memberships go, in both directions', async () => {
    const [parent, group, child, user, owner] = [await service.createGroup(), await service.createGroup(), await service.createGroup(), await service.createUser(), await service.createUser()];
    await service.addMember(parent.id, group.id);
    await service.addMember(group.id, child.id);
    await service.addMember(group.id, user.id);
    expect((await service.request('POST', `/v1.0/groups/${group.id}/owners/$ref`, { body: { '@odata.id': bind('users', owner.id) } })).status).toBe(204);

    expect((await service.request('DELETE', `/v1.0/groups/${group.id}`)).status).toBe(204);
    expect(await documentsNaming(group.id)).toEqual([]);
    expect((await service.request('GET', `/v1.0/groups/${group.id}`)).status).toBe(404);
    expect(ids(await service.request('GET', `/v1.0/groups/${parent.id}/members`))).toEqual([]);
    expect(ids(await service.request('GET', `/v1.0/users/${user.id}/memberOf`))).toEqual([]);
    expect(ids(await service.request('GET', `/v1.0/groups/${child.id}/memberOf`))).toEqual([]);
    expect(ids(await service.request('GET', `/v1.0/groups?$filter=${encodeURIComponent(`id eq '${group.id}'`)}`))).toEqual([]);
    // The objects at the other ends are untouched.
    expect((await service.request('GET', `/v1.0/users/${owner.id}`)).status).toBe(200);
    expect((await service.request('DELETE', `/v1.0/groups/${group.id}`)).status).toBe(404);
  });

  it('404 for what does not exist (or is of the other type), 400 for a malformed id; nothing changed', async () => {
    const [user, group] = [await service.createUser(), await service.createGroup()];
    await expectRefused(async () => service.request('DELETE', `/v1.0/users/${randomUUID()}`), 404, 'Request_ResourceNotFound');
    await expectRefused(async () => service.request('DELETE', `/v1.0/users/${group.id}`), 404, 'Request_ResourceNotFound');
    await expectRefused(async () => service.request('DELETE', `/v1.0/groups/${user.id}`), 404, 'Request_ResourceNotFound');
    await expectRefused(async () => service.request('DELETE', '/v1.0/groups/12345'), 400, 'Request_BadRequest', "Invalid object identifier '12345'.");
  });

  it("403 for callers without the right, nothing changed; a group's owner may delete it", async () => {
    const [group, user, owner] = [await service.createGroup(), await service.createUser(), await service.createUser()];
    await expectRefused(async () => service.request('DELETE', `/v1.0/users/${user.id}`, { token: await service.appToken(['Group.ReadWrite.All']) }), 403, 'Authorization_RequestDenied');
    await expectRefused(async () => service.request('DELETE', `/v1.0/groups/${group.id}`, { token: await service.userToken(user.id, ['Group.ReadWrite.All']) }), 403, 'Authorization_RequestDenied');
    await expectRefused(async () => service.request('DELETE', `/v1.0/groups/${group.id}`, { token: await service.appToken(['GroupMember.ReadWrite.All']) }), 403, 'Authorization_RequestDenied');
    expect((await service.request('POST', `/v1.0/groups/${group.id}/owners/$ref`, { body: { '@odata.id': bind('users', owner.id) } })).status).toBe(204);
    expect((await service.request('DELETE', `/v1.0/groups/${group.id}`, { token: await service.userToken(owner.id, ['Group.ReadWrite.All']) })).status).toBe(204);
    expect(await documentsNaming(group.id)).toEqual([]);
  });
});

describe('DELETE /users/{id} by a delegated caller', () => {
  // https://learn.microsoft.com/graph/api/user-delete: User.ReadWrite.All, and "the calling user must be
  // assigned at least one of the following Microsoft Entra roles: User Administrator, Privileged
  // Authentication Administrator". The scope alone lets no ordinary user delete a colleague.
  it('403 for User.ReadWrite.All without a user-managing role, nothing changed; a User Administrator may', async () => {
    const [caller, victim] = [await service.createUser(), await service.createUser()];
    await expectRefused(async () => service.request('DELETE', `/v1.0/users/${victim.id}`, { token: await service.userToken(caller.id, ['User.ReadWrite.All']) }), 403, 'Authorization_RequestDenied');
    expect((await service.request('GET', `/v1.0/users/${victim.id}`)).status).toBe(200);
    const admin = await service.userToken(caller.id, ['User.ReadWrite.All'], [roles.userAdministrator]);
    expect((await service.request('DELETE', `/v1.0/users/${victim.id}`, { token: admin })).status).toBe(204);
  });
});

describe('owners: POST /groups/{id}/owners/$ref and DELETE /groups/{id}/owners/{ownerId}/$ref', () => {
  const addOwner = (groupId: string, body: unknown, token?: string) => service.request('POST', `/v1.0/groups/${groupId}/owners/$ref`, { body, ...(token === undefined ? {} : { token }) });
  const removeOwner = (groupId: string, ownerId: string, token?: string) => service.request('DELETE', `/v1.0/groups/${groupId}/owners/${ownerId}/$ref`, token === undefined ? {} : { token });

  it('adds (either reference form), lists, refuses a duplicate, removes, and keeps the last owner', async () => {
    const [group, first, second] = [await service.createGroup(), await service.createUser(), await service.createUser()];
    expect((await addOwner(group.id, { '@odata.id': bind('directoryObjects', first.id) })).status).toBe(204);
    expect((await addOwner(group.id, { id: second.id })).status).toBe(204);
    expect(ids(await service.request('GET', `/v1.0/groups/${group.id}/owners`))).toEqual([first.id, second.id].sort());
    await expectRefused(
      async () => addOwner(group.id, { '@odata.id': bind('users', first.id) }),
      400,
      'Request_BadRequest',
      "One or more added object references already exist for the following modified properties: 'owners'.",
    );
    expect((await removeOwner(group.id, first.id)).status).toBe(204);
    await expectRefused(async () => removeOwner(group.id, first.id), 404, 'Request_ResourceNotFound');
    await expectRefused(async () => removeOwner(group.id, second.id), 400, 'Request_BadRequest', 'The group must have at least one owner, hence this owner cannot be removed.');
    expect(ids(await service.request('GET', `/v1.0/groups/${group.id}/owners`))).toEqual([second.id]);
  });

  it('404 for an owner or group that does not exist, or a group as owner; 400 for a malformed reference; nothing changed', async () => {
    const [group, other] = [await service.createGroup(), await service.createGroup()];
    await expectRefused(async () => addOwner(group.id, { '@odata.id': bind('users', randomUUID()) }), 404, 'Request_ResourceNotFound');
    await expectRefused(async () => addOwner(group.id, { '@odata.id': bind('groups', other.id) }), 404, 'Request_ResourceNotFound');
    const user = await service.createUser();
    await expectRefused(async () => addOwner(randomUUID(), { id: user.id }), 404, 'Request_ResourceNotFound');
    await expectRefused(async () => addOwner(group.id, { '@odata.id': 'users' }), 400, 'Request_BadRequest');
    await expectRefused(async () => addOwner(group.id, {}), 400, 'Request_BadRequest');
    await expectRefused(async () => removeOwner(group.id, 'not-a-guid'), 400, 'Request_BadRequest', "Invalid object identifier 'not-a-guid'.");
  });

  it('only owners and the group-managing roles change owners: 403 for others, nothing changed', async () => {
    const [group, owner, stranger, next] = [await service.createGroup(), await service.createUser(), await service.createUser(), await service.createUser()];
    expect((await addOwner(group.id, { id: owner.id })).status).toBe(204);
    const strangerToken = await service.userToken(stranger.id, ['Group.ReadWrite.All']);
    await expectRefused(async () => addOwner(group.id, { id: stranger.id }, strangerToken), 403, 'Authorization_RequestDenied');
    await expectRefused(async () => removeOwner(group.id, owner.id, strangerToken), 403, 'Authorization_RequestDenied');
    await expectRefused(async () => addOwner(group.id, { id: next.id }, await service.appToken(['GroupMember.ReadWrite.All'])), 403, 'Authorization_RequestDenied');
    const ownerToken = await service.userToken(owner.id, ['Group.ReadWrite.All']);
    expect((await addOwner(group.id, { id: next.id }, ownerToken)).status).toBe(204);
    expect((await removeOwner(group.id, next.id, ownerToken)).status).toBe(204);
  });

  it('racing removals never take the last owner: of 2 owners removed at once one goes, the other is the 400; of 3, two go', async () => {
    for (let round = 0; round < 8; round += 1) {
      const group = await service.createGroup();
      const owners = [await service.createUser(), await service.createUser(), ...(round % 2 === 1 ? [await service.createUser()] : [])];
      for (const owner of owners) expect((await addOwner(group.id, { id: owner.id })).status).toBe(204);
      const responses = await Promise.all(owners.map((owner) => removeOwner(group.id, owner.id)));
      const statuses = responses.map((response) => response.status).sort((a, b) => a - b);
      expect({ round, statuses }).toEqual({ round, statuses: [...Array.from({ length: owners.length - 1 }, () => 204), 400] });
      const refused = responses.find((response) => response.status === 400)!;
      expect(refused.json?.error?.message).toBe('The group must have at least one owner, hence this owner cannot be removed.');
      const kept = ids(await service.request('GET', `/v1.0/groups/${group.id}/owners`));
      expect(kept).toEqual([owners[responses.indexOf(refused)]!.id]);
    }
  });

  it('a removed owner loses its right at once on this instance', async () => {
    const [group, first, second, member] = [await service.createGroup(), await service.createUser(), await service.createUser(), await service.createUser()];
    expect((await addOwner(group.id, { id: first.id })).status).toBe(204);
    expect((await addOwner(group.id, { id: second.id })).status).toBe(204);
    const firstToken = await service.userToken(first.id, ['GroupMember.ReadWrite.All']);
    // An add as owner: the owner edge is now cached by this instance.
    expect((await service.addMember(group.id, member.id, { token: firstToken })).status).toBe(204);
    expect((await removeOwner(group.id, first.id)).status).toBe(204);
    await expectRefused(async () => service.request('DELETE', `/v1.0/groups/${group.id}/members/${member.id}/$ref`, { token: firstToken }), 403, 'Authorization_RequestDenied');
  });
});

describe('a store fault midway through a PATCH with binds', () => {
  afterEach(() => {
    service.proxy.rule = () => undefined;
  });
  const partitionOf = (headers: Record<string, string | string[] | undefined>) => [headers['x-ms-documentdb-partitionkey'] ?? ''].flat().join(',');

  it('the owner edge cannot be written: 503 with Retry-After, and the member edges already written are taken back', async () => {
    const [group, owner, first, second] = [await service.createGroup(), await service.createUser(), await service.createUser(), await service.createUser()];
    const before = await storeContents();
    service.proxy.rule = (request) => (request.method === 'POST' && partitionOf(request.headers).includes('|owner|') ? { kind: 'status', status: 503 } : undefined);
    const response = await patch(`/v1.0/groups/${group.id}`, {
      description: 'Not applied',
      'members@odata.bind': [bind('users', first.id), bind('users', second.id)],
      'owners@odata.bind': [bind('users', owner.id)],
    });
    service.proxy.rule = () => undefined;
    expectError(response, 503, 'ServiceUnavailable');
    expect(response.headers.get('retry-after')).not.toBeNull();
    expect(await storeContents()).toEqual(before);
  });

  it("the group's own replace fails: 503, and the bound edges are taken back", async () => {
    const [group, member] = [await service.createGroup(), await service.createUser()];
    const before = await storeContents();
    service.proxy.rule = (request) => (request.method === 'PUT' && request.path.endsWith(`/docs/${group.id}`) ? { kind: 'status', status: 503 } : undefined);
    const response = await patch(`/v1.0/groups/${group.id}`, { description: 'Not applied', 'members@odata.bind': [bind('users', member.id)] });
    service.proxy.rule = () => undefined;
    expectError(response, 503, 'ServiceUnavailable');
    expect(await storeContents()).toEqual(before);
  });

  it('a user whose replace fails keeps its name: the new claim is taken back', async () => {
    const user = await service.createUser();
    const before = await storeContents();
    service.proxy.rule = (request) => (request.method === 'PUT' && request.path.endsWith(`/docs/${user.id}`) ? { kind: 'status', status: 503 } : undefined);
    const response = await patch(`/v1.0/users/${user.id}`, { userPrincipalName: `new.${user.userPrincipalName}` });
    service.proxy.rule = () => undefined;
    expectError(response, 503, 'ServiceUnavailable');
    expect(await storeContents()).toEqual(before);
  });
});
