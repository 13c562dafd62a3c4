import { randomUUID } from 'node:crypto';
import { PageIterator, type PageCollection } from '@microsoft/microsoft-graph-client';
import { GraphSdkService } from '../support/graphSdkService';
import type { TestService } from '../support/testService';

/**
 * The Microsoft Graph JavaScript client, unmodified, pointed at the local host. It sends the
 * bearer token only over https, so the host serves TLS with a generated certificate that this
 * test trusts by pinning it, not by turning checks off.
 */
let sdk: GraphSdkService;
let service: TestService;
beforeAll(async () => {
  sdk = await GraphSdkService.start();
  service = sdk.service;
});
afterAll(() => sdk.stop());

// The SDK types what it answers as `any`; these are the shapes the tests read.
type Entity = { id: string; userPrincipalName?: string };
type Page = { value: Entity[] };

const graphClient = (token: string) => sdk.client(token);

describe('Microsoft Graph JavaScript client', () => {
  it('S1: adds a member with the documented call, then reads it back', async () => {
    const client = graphClient(await service.adminToken());
    const [group, user] = [await service.createGroup(), await service.createUser()];
    await client.api(`/groups/${group.id}/members/$ref`).post({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${user.id}` });
    const members = (await client.api(`/groups/${group.id}/members`).get()) as Page;
    expect(members.value.map((member) => member.id)).toEqual([user.id]);
  });

  it("S1: a duplicate surfaces as a GraphError with Graph's code and message", async () => {
    const client = graphClient(await service.adminToken());
    const [group, user] = [await service.createGroup(), await service.createUser()];
    const body = { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${user.id}` };
    await client.api(`/groups/${group.id}/members/$ref`).post(body);
    await expect(client.api(`/groups/${group.id}/members/$ref`).post(body)).rejects.toMatchObject({
      statusCode: 400,
      code: 'Request_BadRequest',
      message: "One or more added object references already exist for the following modified properties: 'members'.",
    });
  });

  it('S4: the signed-in user joins a group on the beta endpoint', async () => {
    const user = await service.createUser();
    const group = await service.createGroup({ groupTypes: ['Unified'], mailEnabled: true, securityEnabled: false, visibility: 'Public' });
    const client = graphClient(await service.userToken(user.id, ['GroupMember.ReadWrite.All', 'User.Read.All']));
    const joined = (await client
      .api('/me/joinedGroups/$ref')
      .version('beta')
      .post({ '@odata.id': `https://graph.microsoft.com/beta/groups/${group.id}` })) as Entity;
    expect(joined.id).toBe(group.id);
    const memberOf = (await client.api('/me/memberOf').get()) as Page;
    expect(memberOf.value.map((entry) => entry.id)).toEqual([group.id]);
  });

  it("reads: follows @odata.nextLink pages with the SDK's PageIterator", async () => {
    const client = graphClient(await service.adminToken());
    const group = await service.createGroup();
    const users = [];
    for (let index = 0; index < 5; index += 1) users.push(await service.createUser());
    for (const user of users) await service.addMember(group.id, user.id);
    const seen: string[] = [];
    const firstPage = (await client.api(`/groups/${group.id}/members`).top(2).get()) as PageCollection;
    const iterator = new PageIterator(client, firstPage, (member: { id: string }) => {
      seen.push(member.id);
      return true;
    });
    await iterator.iterate();
    expect(seen.sort()).toEqual(users.map((user) => user.id).sort());
  });

  it('reads: a user by id and by userPrincipalName', async () => {
    const client = graphClient(await service.adminToken());
    const user = await service.createUser();
    expect(((await client.api(`/users/${user.id}`).get()) as Entity).userPrincipalName).toBe(user.userPrincipalName);
    expect(((await client.api(`/users/${user.userPrincipalName}`).get()) as Entity).id).toBe(user.id);
    await expect(client.api(`/users/${randomUUID()}`).get()).rejects.toMatchObject({ statusCode: 404, code: 'Request_ResourceNotFound' });
  });
});
