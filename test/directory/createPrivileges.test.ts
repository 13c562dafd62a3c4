import { randomUUID } from 'node:crypto';
import { roles, TestService } from '../support/testService';

/**
 * SPEC 2, "Privileged group properties": creating a role-assignable group takes what adding to one
 * takes, and an `id` in a create body is only for applications holding Directory.ReadWrite.All.
 */
let service: TestService;
let creatorId: string;
beforeAll(async () => {
  service = await TestService.start();
  creatorId = (await service.createUser()).id;
});
afterAll(() => service.stop());

const newNickname = () => `n${randomUUID().slice(0, 8)}`;

function groupBody(properties: Record<string, unknown> = {}): Record<string, unknown> {
  const nickname = newNickname();
  return { displayName: nickname, mailNickname: nickname, mailEnabled: false, securityEnabled: true, ...properties };
}

const bind = (id: string) => `https://graph.microsoft.com/v1.0/directoryObjects/${id}`;

describe('POST /groups with isAssignableToRole: true', () => {
  let victim: { id: string };
  beforeAll(async () => {
    victim = await service.createUser();
  });

  const roleAssignable = () => groupBody({ isAssignableToRole: true, 'members@odata.bind': [bind(victim.id)] });

  it.each([
    ['a delegated caller with only Group.Create', () => service.userToken(creatorId, ['Group.Create'])],
    ['a delegated Groups Administrator', () => service.userToken(creatorId, ['Group.ReadWrite.All'], [roles.groupsAdministrator])],
    ['an app with Group.Create only', () => service.appToken(['Group.Create'])],
    ['an app with Directory.ReadWrite.All but not RoleManagement.ReadWrite.Directory', () => service.appToken(['Directory.ReadWrite.All'])],
  ])('403 for %s, and nothing is stored', async (_label, token) => {
    const before = await service.snapshotStore();
    const response = await service.request('POST', '/v1.0/groups', { token: await token(), body: roleAssignable() });
    expect(response.status).toBe(403);
    expect(response.json.error).toMatchObject({ code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' });
    expect(await service.snapshotStore()).toEqual(before);
  });

  it.each([
    ['a delegated Privileged Role Administrator', () => service.userToken(creatorId, ['Group.Create'], [roles.privilegedRoleAdministrator])],
    ['a delegated Global Administrator', () => service.userToken(creatorId, ['Group.ReadWrite.All'], [roles.globalAdministrator])],
    ['an app with RoleManagement.ReadWrite.Directory', () => service.appToken(['Group.Create', 'RoleManagement.ReadWrite.Directory'])],
  ])('201 for %s, with the bound member', async (_label, token) => {
    const response = await service.request('POST', '/v1.0/groups', { token: await token(), body: roleAssignable() });
    expect(response.status).toBe(201);
    expect(response.json.isAssignableToRole).toBe(true);
    expect(await service.storedEdges(response.json.id, victim.id)).toEqual({ groupSide: true, memberSide: true });
  });

  it('a Group.Create caller still creates an ordinary group with members', async () => {
    const token = await service.userToken(creatorId, ['Group.Create']);
    const response = await service.request('POST', '/v1.0/groups', { token, body: groupBody({ 'members@odata.bind': [bind(victim.id)] }) });
    expect(response.status).toBe(201);
  });
});

describe("an 'id' in a create body", () => {
  const readOnly = { code: 'Request_BadRequest', message: "Property 'id' is read-only and cannot be set." };

  it.each([
    ['a delegated Group.Create caller', () => service.userToken(creatorId, ['Group.Create'])],
    ['a delegated caller with Directory.ReadWrite.All', () => service.userToken(creatorId, ['Directory.ReadWrite.All'], [roles.globalAdministrator])],
    ['an app with Group.ReadWrite.All', () => service.appToken(['Group.ReadWrite.All'])],
  ])('POST /groups: 400 for %s, and the id stays free', async (_label, token) => {
    const id = randomUUID();
    const before = await service.snapshotStore();
    const response = await service.request('POST', '/v1.0/groups', { token: await token(), body: groupBody({ id }) });
    expect(response.status).toBe(400);
    expect(response.json.error).toMatchObject(readOnly);
    expect(await service.snapshotStore()).toEqual(before);
    // The real object, mirrored later by a sync application, can still be created.
    expect((await service.request('POST', '/v1.0/groups', { token: await service.appToken(['Directory.ReadWrite.All']), body: groupBody({ id }) })).status).toBe(201);
  });

  it.each([
    ['a delegated User.ReadWrite.All caller', () => service.userToken(creatorId, ['User.ReadWrite.All'], [roles.userAdministrator])],
    ['an app with User.ReadWrite.All', () => service.appToken(['User.ReadWrite.All'])],
  ])('POST /users: 400 for %s, and nothing is stored', async (_label, token) => {
    const before = await service.snapshotStore();
    const response = await service.request('POST', '/v1.0/users', {
      token: await token(),
      body: { id: randomUUID(), displayName: 'Squatter', userPrincipalName: `${newNickname()}@contoso.example` },
    });
    expect(response.status).toBe(400);
    expect(response.json.error).toMatchObject(readOnly);
    expect(await service.snapshotStore()).toEqual(before);
  });

  it('an app with Directory.ReadWrite.All mirrors an Entra object id', async () => {
    const id = randomUUID();
    const token = await service.appToken(['Directory.ReadWrite.All']);
    const response = await service.request('POST', '/v1.0/users', { token, body: { id, displayName: 'Mirror', userPrincipalName: `${newNickname()}@contoso.example` } });
    expect(response.status).toBe(201);
    expect(response.json.id).toBe(id);
  });
});
