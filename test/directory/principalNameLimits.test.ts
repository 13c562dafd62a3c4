import { TestService } from '../support/testService';

/**
 * A user segment may be a userPrincipalName (SPEC 1). Entra caps one at 113 characters with at
 * most 64 before the @; a longer segment is not an identifier at all (400), never a bare 500
 * from the store client.
 */
let service: TestService;
let groupId: string;
beforeAll(async () => {
  service = await TestService.start();
  groupId = (await service.createGroup()).id;
});
afterAll(() => service.stop());

const invalidIdentifier = (segment: string) => ({ code: 'Request_BadRequest', message: `Invalid object identifier '${segment}'.` });

describe('over-long userPrincipalName segments', () => {
  const huge = `${'a'.repeat(16_000)}@contoso.example`;
  const longLocalPart = `${'b'.repeat(65)}@contoso.example`;
  const longTotal = `${'c'.repeat(60)}@${'d'.repeat(50)}.example`;

  it.each([
    ['16,016 characters', huge],
    ['a 65-character local part', longLocalPart],
    ['114 characters in all', longTotal],
  ])('%s: 400 Invalid object identifier on every user route', async (_label, upn) => {
    expect(longTotal.length).toBe(119);
    for (const [method, path] of [
      ['GET', `/v1.0/users/${upn}`],
      ['GET', `/v1.0/users/${upn}/memberOf`],
      ['GET', `/beta/users/${upn}/joinedGroups`],
      ['POST', `/v1.0/users/${upn}/joinedGroups/$ref`],
    ] as const) {
      const response = await service.request(method, path, method === 'POST' ? { body: { id: groupId } } : {});
      expect({ path: path.slice(0, 40), status: response.status }).toEqual({ path: path.slice(0, 40), status: 400 });
      expect(response.json.error).toMatchObject(invalidIdentifier(upn));
    }
  });

  it('a UPN at the limits is looked up: 404 when unknown, 200 when it exists', async () => {
    const atLimit = `${'e'.repeat(64)}@${'f'.repeat(43)}.test`;
    expect(atLimit.length).toBe(113);
    expect((await service.request('GET', `/v1.0/users/${atLimit}`)).status).toBe(404);
    const created = await service.createUser({ userPrincipalName: atLimit });
    const read = await service.request('GET', `/v1.0/users/${atLimit}`);
    expect(read.status).toBe(200);
    expect(read.json.id).toBe(created.id);
  });

  it('an id-shaped segment of any other kind is still a 400, not a store call', async () => {
    const response = await service.request('GET', `/v1.0/groups/${'9'.repeat(5000)}`);
    expect(response.status).toBe(400);
  });
});
