import { GraphSdkService } from '../support/graphSdkService';
import type { TestService } from '../support/testService';

/**
 * SPEC 6 through the Microsoft Graph JavaScript client, unmodified, over https: PATCH, DELETE and
 * owners add/remove with the documented calls, and the errors as the client surfaces them.
 */
let sdk: GraphSdkService;
let service: TestService;
beforeAll(async () => {
  sdk = await GraphSdkService.start();
  service = sdk.service;
});
afterAll(() => sdk.stop());

type Entity = { id: string; displayName?: string; description?: string | null; userPrincipalName?: string };
type Page = { value: Entity[] };

const bind = (collection: string, id: string) => `https://graph.microsoft.com/v1.0/${collection}/${id}`;

describe('Microsoft Graph JavaScript client: the directory lifecycle', () => {
  it('PATCH /users/{id} changes the user, as GET and the list show', async () => {
    const client = sdk.client(await service.adminToken());
    const user = await service.createUser();
    const newName = `renamed.${user.userPrincipalName}`;
    await client.api(`/users/${user.id}`).patch({ displayName: 'Ada Lovelace', userPrincipalName: newName, accountEnabled: false });
    const read = (await client.api(`/users/${user.id}`).get()) as Entity & { accountEnabled: boolean };
    expect(read).toMatchObject({ displayName: 'Ada Lovelace', userPrincipalName: newName, accountEnabled: false });
    expect(((await client.api(`/users/${newName}`).get()) as Entity).id).toBe(user.id);
    const listed = (await client.api('/users').filter(`id eq '${user.id}'`).get()) as Page;
    expect(listed.value.map((entry) => [entry.id, entry.displayName])).toEqual([[user.id, 'Ada Lovelace']]);
  });

  it('PATCH /groups/{id} changes properties and binds members and owners', async () => {
    const client = sdk.client(await service.adminToken());
    const [group, member, owner] = [await service.createGroup(), await service.createUser(), await service.createUser()];
    await client.api(`/groups/${group.id}`).patch({ description: 'Readers', 'members@odata.bind': [bind('directoryObjects', member.id)], 'owners@odata.bind': [bind('users', owner.id)] });
    expect(((await client.api(`/groups/${group.id}`).get()) as Entity).description).toBe('Readers');
    expect(((await client.api(`/groups/${group.id}/members`).get()) as Page).value.map((entry) => entry.id)).toEqual([member.id]);
    expect(((await client.api(`/groups/${group.id}/owners`).get()) as Page).value.map((entry) => entry.id)).toEqual([owner.id]);
  });

  it("a read-only property surfaces as a GraphError with Graph's message", async () => {
    const client = sdk.client(await service.adminToken());
    const group = await service.createGroup();
    await expect(client.api(`/groups/${group.id}`).patch({ createdDateTime: '2020-01-01T00:00:00Z' })).rejects.toMatchObject({
      statusCode: 400,
      code: 'Request_BadRequest',
      message: "Property 'createdDateTime' is read-only and cannot be set.",
    });
  });

  it('DELETE /users/{id} and /groups/{id}: 204, then 404', async () => {
    const client = sdk.client(await service.adminToken());
    const [group, user] = [await service.createGroup(), await service.createUser()];
    await service.addMember(group.id, user.id);
    await client.api(`/users/${user.id}`).delete();
    await expect(client.api(`/users/${user.id}`).get()).rejects.toMatchObject({ statusCode: 404, code: 'Request_ResourceNotFound' });
    expect(((await client.api(`/groups/${group.id}/members`).get()) as Page).value).toEqual([]);
    await client.api(`/groups/${group.id}`).delete();
    await expect(client.api(`/groups/${group.id}`).get()).rejects.toMatchObject({ statusCode: 404, code: 'Request_ResourceNotFound' });
    await expect(client.api(`/groups/${group.id}`).delete()).rejects.toMatchObject({ statusCode: 404, code: 'Request_ResourceNotFound' });
  });

  it('owners: add with POST owners/$ref, a duplicate is the 400, remove with DELETE owners/{id}/$ref', async () => {
    const client = sdk.client(await service.adminToken());
    const [group, first, second] = [await service.createGroup(), await service.createUser(), await service.createUser()];
    await client.api(`/groups/${group.id}/owners/$ref`).post({ '@odata.id': bind('directoryObjects', first.id) });
    await client.api(`/groups/${group.id}/owners/$ref`).post({ '@odata.id': bind('users', second.id) });
    await expect(client.api(`/groups/${group.id}/owners/$ref`).post({ '@odata.id': bind('users', second.id) })).rejects.toMatchObject({
      statusCode: 400,
      code: 'Request_BadRequest',
      message: "One or more added object references already exist for the following modified properties: 'owners'.",
    });
    await client.api(`/groups/${group.id}/owners/${first.id}/$ref`).delete();
    expect(((await client.api(`/groups/${group.id}/owners`).get()) as Page).value.map((entry) => entry.id)).toEqual([second.id]);
    await expect(client.api(`/groups/${group.id}/owners/${first.id}/$ref`).delete()).rejects.toMatchObject({ statusCode: 404, code: 'Request_ResourceNotFound' });
  });

  it('a filtered list with $count, and a relation /$count, as the client sends them (ConsistencyLevel: eventual)', async () => {
    const client = sdk.client(await service.adminToken());
    const prefix = `Count${Date.now()}`;
    const groups = [await service.createGroup({ displayName: `${prefix} A` }), await service.createGroup({ displayName: `${prefix} B` }), await service.createGroup({ displayName: `${prefix} C` })];
    const page = (await client.api('/groups').header('ConsistencyLevel', 'eventual').filter(`startswith(displayName,'${prefix}')`).count(true).top(2).orderby('displayName').get()) as Page & {
      '@odata.count': number;
      '@odata.nextLink'?: string;
    };
    expect(page['@odata.count']).toBe(3);
    expect(page.value.map((entry) => entry.displayName)).toEqual([`${prefix} A`, `${prefix} B`]);
    expect(page['@odata.nextLink']).toBeDefined();
    const [user] = [await service.createUser()];
    await service.addMember(groups[0]!.id, user.id);
    const count = (await client.api(`/groups/${groups[0]!.id}/members/$count`).header('ConsistencyLevel', 'eventual').get()) as unknown;
    expect(String(count)).toBe('1');
    await expect(client.api('/groups').filter(`startswith(displayName,'${prefix}')`).count(true).get()).rejects.toMatchObject({ statusCode: 400 });
  });
});
