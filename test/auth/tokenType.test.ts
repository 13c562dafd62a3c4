import { randomUUID } from 'node:crypto';
import { TestService } from '../support/testService';

/**
 * SPEC 2, "Who the caller is": an application token is one with `idtyp: app`, or, without
 * `idtyp`, one with no `scp` whose `oid` equals its `sub`; anything else without `scp` is a 401.
 * Only application tokens are judged by `roles`.
 */
let service: TestService;
let userId: string;
let groupId: string;
beforeAll(async () => {
  service = await TestService.start();
  userId = (await service.createUser()).id;
  groupId = (await service.createGroup()).id;
});
afterAll(() => service.stop());

const writeRoles = ['GroupMember.ReadWrite.All'];

async function addAs(token: string, memberId: string) {
  return service.addMember(groupId, memberId, { token });
}

describe('user tokens are never judged by roles', () => {
  it('a user token (idtyp: user) with roles and no scp is a 401 and adds nothing', async () => {
    const member = await service.createUser();
    // `scp: undefined` drops the claim the issuer would otherwise set for a user.
    const token = await service.token({ user: { id: userId }, claims: { scp: undefined, idtyp: 'user', roles: writeRoles } });
    const response = await addAs(token, member.id);
    expect(response.status).toBe(401);
    expect(response.json.error.code).toBe('InvalidAuthenticationToken');
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(await service.storedEdges(groupId, member.id)).toEqual({ groupSide: false, memberSide: false });
  });

  it('without idtyp, a token with roles and no scp whose oid is not its sub is a 401', async () => {
    const member = await service.createUser();
    const token = await service.token({ user: { id: userId }, claims: { scp: undefined, sub: randomUUID(), roles: writeRoles } });
    const response = await addAs(token, member.id);
    expect(response.status).toBe(401);
    expect(await service.storedEdges(groupId, member.id)).toEqual({ groupSide: false, memberSide: false });
  });

  it('a user token with both scp and roles is judged by scp alone', async () => {
    const member = await service.createUser();
    const token = await service.token({ user: { id: userId, scopes: ['User.Read'] }, claims: { idtyp: 'user', roles: ['Directory.ReadWrite.All'] } });
    const response = await addAs(token, member.id);
    expect(response.status).toBe(403);
    expect(response.json.error.code).toBe('Authorization_RequestDenied');
  });
});

describe('application tokens', () => {
  it('idtyp: app makes an application even when an scp is present: /me is refused as app-only', async () => {
    const token = await service.token({ user: { id: userId, scopes: ['User.Read.All'] }, claims: { idtyp: 'app', roles: ['User.Read.All'] } });
    const response = await service.request('GET', '/v1.0/me', { token });
    expect(response.status).toBe(400);
    expect(response.json.error.message).toBe('/me request is only valid with delegated authentication flow.');
  });

  it('without idtyp, no scp and oid equal to sub is an application judged by roles', async () => {
    const member = await service.createUser();
    const appObjectId = randomUUID();
    const token = await service.token({ claims: { idtyp: undefined, oid: appObjectId, sub: appObjectId, roles: writeRoles } });
    expect((await addAs(token, member.id)).status).toBe(204);
    expect(await service.storedEdges(groupId, member.id)).toEqual({ groupSide: true, memberSide: true });
  });
});
