import { roles, TestService } from '../support/testService';

/**
 * SPEC 2: a HiddenMembership group's members, and its place in a member's memberOf, are visible
 * only to its owners and members, to the group-managing and privileged directory roles, to
 * applications with Directory.Read.All, and to the member itself.
 */
let service: TestService;
let hidden: { id: string };
let visible: { id: string };
let nested: { id: string };
let member: { id: string };
let otherMember: { id: string };
let owner: { id: string };
let outsider: { id: string };

const readScopes = ['GroupMember.Read.All', 'User.Read.All'];
const ids = (response: { json: { value: { id: string }[] } }) => response.json.value.map((entry) => entry.id).sort();

beforeAll(async () => {
  service = await TestService.start();
  [member, otherMember, owner, outsider] = [await service.createUser(), await service.createUser(), await service.createUser(), await service.createUser()];
  hidden = await service.createGroup({
    visibility: 'HiddenMembership',
    'owners@odata.bind': [`https://graph.microsoft.com/v1.0/users/${owner.id}`],
  });
  visible = await service.createGroup();
  nested = await service.createGroup();
  for (const [groupId, memberId] of [
    [hidden.id, member.id],
    [hidden.id, otherMember.id],
    [hidden.id, nested.id],
    [visible.id, member.id],
  ] as const) {
    const added = await service.addMember(groupId, memberId);
    if (added.status !== 204) throw new Error(`setup: adding ${memberId} to ${groupId} answered ${added.status}`);
  }
});
afterAll(() => service.stop());

describe('a caller who is neither owner nor member, with GroupMember.Read.All', () => {
  let token: string;
  beforeAll(async () => {
    token = await service.userToken(outsider.id, readScopes);
  });

  it('cannot list the hidden group members: 403', async () => {
    for (const path of [`/v1.0/groups/${hidden.id}/members`, `/beta/groups/${hidden.id}/members/microsoft.graph.user`]) {
      const response = await service.request('GET', path, { token });
      expect(response.status).toBe(403);
      expect(response.json.error.code).toBe('Authorization_RequestDenied');
    }
  });

  it('does not see the hidden group in a member memberOf or joinedGroups', async () => {
    for (const relation of ['memberOf', 'joinedGroups', 'memberOf/microsoft.graph.group']) {
      const response = await service.request('GET', `/v1.0/users/${member.id}/${relation}`, { token });
      expect(response.status).toBe(200);
      expect(ids(response)).toEqual([visible.id]);
    }
    const groupParents = await service.request('GET', `/v1.0/groups/${nested.id}/memberOf`, { token });
    expect(groupParents.status).toBe(200);
    expect(ids(groupParents)).toEqual([]);
  });

  it('still reads the group itself and its owners', async () => {
    expect((await service.request('GET', `/v1.0/groups/${hidden.id}`, { token })).status).toBe(200);
    expect(ids(await service.request('GET', `/v1.0/groups/${hidden.id}/owners`, { token }))).toEqual([owner.id]);
  });

  it('an app without Directory.Read.All sees no more', async () => {
    const app = await service.appToken(['GroupMember.Read.All', 'User.Read.All']);
    expect((await service.request('GET', `/v1.0/groups/${hidden.id}/members`, { token: app })).status).toBe(403);
    expect(ids(await service.request('GET', `/v1.0/users/${member.id}/memberOf`, { token: app }))).toEqual([visible.id]);
  });
});

describe('who does see it', () => {
  const everything = () => [member.id, nested.id, otherMember.id].sort();

  it.each([
    ['an owner', () => service.userToken(owner.id, readScopes)],
    ['another member', () => service.userToken(otherMember.id, readScopes)],
    ['a Groups Administrator', () => service.userToken(outsider.id, readScopes, [roles.groupsAdministrator])],
    ['a Privileged Role Administrator', () => service.userToken(outsider.id, readScopes, [roles.privilegedRoleAdministrator])],
    ['an app with Directory.Read.All', () => service.appToken(['Directory.Read.All'])],
  ])('%s: the members and the memberOf entry', async (_label, makeToken) => {
    const token = await makeToken();
    const members = await service.request('GET', `/v1.0/groups/${hidden.id}/members`, { token });
    expect(members.status).toBe(200);
    expect(ids(members)).toEqual(everything());
    expect(ids(await service.request('GET', `/v1.0/users/${member.id}/memberOf`, { token }))).toEqual([hidden.id, visible.id].sort());
    expect(ids(await service.request('GET', `/v1.0/groups/${nested.id}/memberOf`, { token }))).toEqual([hidden.id]);
  });

  it('the member itself, through /me and /users', async () => {
    const token = await service.userToken(member.id, readScopes);
    for (const path of ['/v1.0/me/memberOf', '/v1.0/me/joinedGroups', `/v1.0/users/${member.id}/joinedGroups`]) {
      expect(ids(await service.request('GET', path, { token }))).toEqual([hidden.id, visible.id].sort());
    }
  });
});

describe('paging over hidden entries', () => {
  it('walks every page to the end and yields exactly the visible groups', async () => {
    const user = await service.createUser();
    const expected: string[] = [];
    for (let index = 0; index < 7; index += 1) {
      const group = await service.createGroup(index % 3 === 0 ? {} : { visibility: 'HiddenMembership' });
      if (index % 3 === 0) expected.push(group.id);
      expect((await service.addMember(group.id, user.id)).status).toBe(204);
    }
    const token = await service.userToken(outsider.id, readScopes);
    const seen: string[] = [];
    let next: string | undefined = `/v1.0/users/${user.id}/memberOf?$top=2`;
    let pages = 0;
    while (next !== undefined) {
      const response = await service.request('GET', next, { token });
      expect(response.status).toBe(200);
      expect(response.json.value.length).toBeLessThanOrEqual(2);
      seen.push(...response.json.value.map((entry: { id: string }) => entry.id));
      const link: string | undefined = response.json['@odata.nextLink'];
      next = link?.slice(service.baseUrl.length);
      pages += 1;
    }
    // Seven edges in pages of two: four pages, short where hidden entries were taken out.
    expect(pages).toBe(4);
    expect(seen.sort()).toEqual(expected.sort());
  });
});

describe('the cost of hiding', () => {
  const storeRequests = (response: { headers: Headers }) => {
    const line = service.logs.find((entry) => entry.message === 'request' && (entry.details as { requestId: string }).requestId === response.headers.get('request-id'));
    if (line === undefined) throw new Error('no request log line for this response');
    return (line.details as { cosmosRequests: number }).cosmosRequests;
  };

  it('is at most two point reads per hidden group on the page, and nothing for a caller who sees them all', async () => {
    const user = await service.createUser();
    const hiddenCount = 6;
    for (let index = 0; index <= hiddenCount; index += 1) {
      const group = await service.createGroup(index === 0 ? {} : { visibility: 'HiddenMembership' });
      expect((await service.addMember(group.id, user.id)).status).toBe(204);
    }
    const path = `/v1.0/users/${user.id}/memberOf?$top=999`;
    const byRole = await service.request('GET', path, { token: await service.userToken(outsider.id, readScopes, [roles.userAdministrator]) });
    const byOutsider = await service.request('GET', path, { token: await service.userToken(outsider.id, readScopes) });
    expect(byRole.json.value).toHaveLength(hiddenCount + 1);
    expect(byOutsider.json.value).toHaveLength(1);
    expect(storeRequests(byOutsider) - storeRequests(byRole)).toBeLessThanOrEqual(2 * hiddenCount);
    expect(storeRequests(byOutsider)).toBeGreaterThan(storeRequests(byRole));
  });
});
