import { randomUUID } from 'node:crypto';
import { TestService } from '../support/testService';

let service: TestService;
beforeAll(async () => {
  service = await TestService.start();
});
afterAll(() => service.stop());

describe('GET relationships', () => {
  it('pages members with $top and an absolute @odata.nextLink until every member is seen once', async () => {
    const group = await service.createGroup();
    const members = [];
    for (let index = 0; index < 5; index += 1) members.push(await service.createUser());
    for (const member of members) await service.addMember(group.id, member.id);
    const seen: string[] = [];
    let next: string | undefined = `/v1.0/groups/${group.id}/members?$top=2`;
    const links: string[] = [];
    while (next !== undefined) {
      const response = await service.request('GET', next);
      expect(response.status).toBe(200);
      expect(response.json['@odata.context']).toBe(`${service.baseUrl}/v1.0/$metadata#directoryObjects`);
      expect(response.json.value.length).toBeLessThanOrEqual(2);
      seen.push(...response.json.value.map((member: { id: string }) => member.id));
      const link = response.json['@odata.nextLink'];
      if (link !== undefined) links.push(link);
      next = link?.slice(service.baseUrl.length);
    }
    expect(links).toHaveLength(2); // three pages
    for (const link of links) {
      expect(link.startsWith(`${service.baseUrl}/v1.0/groups/${group.id}/members?`)).toBe(true);
      expect(new URL(link).searchParams.get('$top')).toBe('2');
    }
    expect(seen.sort()).toEqual(members.map((member) => member.id).sort());
  });

  it.each(['0', '1000', 'ten', '-1'])('400 for $top=%s', async (top) => {
    const group = await service.createGroup();
    const response = await service.request('GET', `/v1.0/groups/${group.id}/members?$top=${top}`);
    expect(response.status).toBe(400);
    expect(response.json.error.message).toBe(`Invalid page size specified: '${top}'. Must be between 1 and 999 inclusive.`);
  });

  it('400 for a $skiptoken it did not issue', async () => {
    const group = await service.createGroup();
    expect((await service.request('GET', `/v1.0/groups/${group.id}/members?$skiptoken=%%%`)).status).toBe(400);
  });

  it('filters by a type-cast segment, which never falls into an id', async () => {
    const group = await service.createGroup();
    const [user, child] = [await service.createUser(), await service.createGroup()];
    await service.addMember(group.id, user.id);
    await service.addMember(group.id, child.id);
    const users = await service.request('GET', `/v1.0/groups/${group.id}/members/microsoft.graph.user`);
    expect(users.json.value.map((member: { id: string }) => member.id)).toEqual([user.id]);
    const groups = await service.request('GET', `/v1.0/groups/${group.id}/members/microsoft.graph.group`);
    expect(groups.json.value.map((member: { id: string }) => member.id)).toEqual([child.id]);
    expect((await service.request('GET', `/v1.0/groups/${group.id}/members/microsoft.graph.device`)).status).toBe(404);
    // The short casts the Kiota-based SDKs send (SPEC section 3), any case.
    const shortUsers = await service.request('GET', `/v1.0/groups/${group.id}/members/graph.user`);
    expect(shortUsers.json.value.map((member: { id: string }) => member.id)).toEqual([user.id]);
    const shortGroups = await service.request('GET', `/beta/groups/${group.id}/members/Graph.Group`);
    expect(shortGroups.json.value.map((member: { id: string }) => member.id)).toEqual([child.id]);
    expect((await service.request('GET', `/v1.0/groups/${group.id}/members/graph.device`)).status).toBe(404);
  });

  it('lists memberOf and joinedGroups for users, by id, by UPN and as /me', async () => {
    const user = await service.createUser();
    const [first, second] = [await service.createGroup(), await service.createGroup()];
    await service.addMember(first.id, user.id);
    await service.addMember(second.id, user.id);
    const expected = [first.id, second.id].sort();
    const ids = (response: { json: { value: { id: string }[] } }) => response.json.value.map((group) => group.id).sort();
    expect(ids(await service.request('GET', `/v1.0/users/${user.id}/memberOf`))).toEqual(expected);
    expect(ids(await service.request('GET', `/beta/users/${user.userPrincipalName}/joinedGroups`))).toEqual(expected);
    const token = await service.userToken(user.id, ['User.Read.All']);
    expect(ids(await service.request('GET', '/v1.0/me/memberOf', { token }))).toEqual(expected);
    expect(ids(await service.request('GET', '/v1.0/me/joinedGroups/microsoft.graph.group', { token }))).toEqual(expected);
  });

  it('404 for the relationships of a missing group', async () => {
    expect((await service.request('GET', `/v1.0/groups/${randomUUID()}/members`)).status).toBe(404);
  });

  it('403 without a read permission', async () => {
    const group = await service.createGroup();
    expect((await service.request('GET', `/v1.0/groups/${group.id}/members`, { token: await service.appToken(['User.Read.All']) })).status).toBe(403);
    expect((await service.request('GET', `/v1.0/groups/${group.id}/members`, { token: await service.appToken(['GroupMember.Read.All']) })).status).toBe(200);
  });
});

describe('DELETE /groups/{id}/members/{memberId}/$ref', () => {
  it('removes both directions: 204, then 404 for a second removal', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    await service.addMember(group.id, user.id);
    const response = await service.request('DELETE', `/v1.0/groups/${group.id}/members/${user.id}/$ref`);
    expect(response.status).toBe(204);
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: false, memberSide: false });
    const again = await service.request('DELETE', `/v1.0/groups/${group.id}/members/${user.id}/$ref`);
    expect(again.status).toBe(404);
  });

  it('does not capture POST members/$ref, nor let DELETE fall into it', async () => {
    const group = await service.createGroup();
    const response = await service.request('DELETE', `/v1.0/groups/${group.id}/members/$ref`);
    expect(response.status).toBe(405);
  });

  it('400 for a non-GUID member id, 403 for a non-owner', async () => {
    const [group, user, caller] = [await service.createGroup(), await service.createUser(), await service.createUser()];
    await service.addMember(group.id, user.id);
    expect((await service.request('DELETE', `/v1.0/groups/${group.id}/members/bob/$ref`)).status).toBe(400);
    const token = await service.userToken(caller.id, ['GroupMember.ReadWrite.All']);
    expect((await service.request('DELETE', `/v1.0/groups/${group.id}/members/${user.id}/$ref`, { token })).status).toBe(403);
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: true });
  });
});

describe('query options', () => {
  it('reads OData option names case-insensitively', async () => {
    const group = await service.createGroup();
    for (let index = 0; index < 2; index += 1) await service.addMember(group.id, (await service.createUser()).id);
    const response = await service.request('GET', `/v1.0/groups/${group.id}/members?$TOP=1`);
    expect(response.json.value).toHaveLength(1);
    expect(response.json['@odata.nextLink']).toBeDefined();
  });

  it('400 for an unsupported query option', async () => {
    const group = await service.createGroup();
    expect((await service.request('GET', `/v1.0/groups/${group.id}/members?$orderby=displayName`)).status).toBe(400);
  });
});
