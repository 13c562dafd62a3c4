import { randomUUID } from 'node:crypto';
import { getByIdsConcurrency, mapWithConcurrency } from '../../src/directory/directoryObjectReads';
import { TestService } from '../support/testService';

let service: TestService;
let user: { id: string; userPrincipalName: string };
let group: { id: string };
let otherTenantUser: { id: string };
beforeAll(async () => {
  service = await TestService.start();
  user = await service.createUser({ displayName: 'Grace Hopper' });
  group = await service.createGroup({ displayName: 'Compilers' });
  otherTenantUser = await service.createUser({}, await service.appToken(['Directory.ReadWrite.All'], service.otherTenantId));
});
afterAll(() => service.stop());

const getByIds = (body: unknown, options: { token?: string; query?: string; version?: string } = {}) =>
  service.request('POST', `/${options.version ?? 'v1.0'}/directoryObjects/getByIds${options.query ?? ''}`, { body, ...(options.token === undefined ? {} : { token: options.token }) });

describe('GET /directoryObjects/{id}', () => {
  it.each(['v1.0', 'beta'])('answers a user and a group of any type under %s, as #directoryObjects/$entity', async (version) => {
    const readUser = await service.request('GET', `/${version}/directoryObjects/${user.id.toUpperCase()}`);
    expect(readUser.status).toBe(200);
    expect(readUser.json).toMatchObject({
      '@odata.context': `${service.baseUrl}/${version}/$metadata#directoryObjects/$entity`,
      '@odata.type': '#microsoft.graph.user',
      id: user.id,
      displayName: 'Grace Hopper',
      userPrincipalName: user.userPrincipalName,
    });
    const readGroup = await service.request('GET', `/${version}/directoryObjects/${group.id}`);
    expect(readGroup.status).toBe(200);
    expect(readGroup.json).toMatchObject({ '@odata.type': '#microsoft.graph.group', id: group.id, displayName: 'Compilers', securityEnabled: true });
  });

  it('honours $select, naming it in the context', async () => {
    const response = await service.request('GET', `/v1.0/directoryObjects/${user.id}?$select=displayName`);
    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      '@odata.context': `${service.baseUrl}/v1.0/$metadata#directoryObjects(displayName)/$entity`,
      '@odata.type': '#microsoft.graph.user',
      id: user.id,
      displayName: 'Grace Hopper',
    });
  });

  it('400 for an unsupported query option, naming it', async () => {
    const response = await service.request('GET', `/v1.0/directoryObjects/${user.id}?$expand=memberOf`);
    expect(response.status).toBe(400);
    expect(response.json.error.message).toBe("Query option '$expand' is not supported on this resource.");
  });

  it('400 for a non-GUID id, GET of getByIds included', async () => {
    for (const id of ['not-a-guid', 'getByIds']) {
      const response = await service.request('GET', `/v1.0/directoryObjects/${id}`);
      expect(response.status).toBe(400);
      expect(response.json.error).toMatchObject({ code: 'Request_BadRequest', message: `Invalid object identifier '${id}'.` });
    }
  });

  it("404 for a missing object and for another tenant's", async () => {
    for (const id of [randomUUID(), otherTenantUser.id]) {
      const response = await service.request('GET', `/v1.0/directoryObjects/${id}`);
      expect(response.status).toBe(404);
      expect(response.json.error.code).toBe('Request_ResourceNotFound');
    }
  });

  it('needs a permission that reads both users and groups: User.Read.All alone is refused, Directory.Read.All reads', async () => {
    const refused = await service.request('GET', `/v1.0/directoryObjects/${user.id}`, { token: await service.appToken(['User.Read.All']) });
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe('Authorization_RequestDenied');
    const delegated = await service.request('GET', `/v1.0/directoryObjects/${group.id}`, { token: await service.userToken(user.id, ['Directory.Read.All']) });
    expect(delegated.status).toBe(200);
  });
});

describe('POST /directoryObjects/getByIds', () => {
  it.each(['v1.0', 'beta'])('answers the objects that exist under %s, in the order of the ids, unknown ids absent', async (version) => {
    const response = await getByIds({ ids: [randomUUID(), group.id, randomUUID(), user.id.toUpperCase(), group.id] }, { version });
    expect(response.status).toBe(200);
    expect(response.json['@odata.context']).toBe(`${service.baseUrl}/${version}/$metadata#directoryObjects`);
    expect(response.json.value.map((object: { id: string; '@odata.type': string }) => [object['@odata.type'], object.id])).toEqual([
      ['#microsoft.graph.group', group.id],
      ['#microsoft.graph.user', user.id],
    ]);
    expect(response.json.value[1]).toMatchObject({ displayName: 'Grace Hopper', userPrincipalName: user.userPrincipalName });
  });

  it('filters by types, case-insensitively; directoryObject and types Graph knows but this service keeps none of', async () => {
    const ids = [user.id, group.id];
    const idsOf = async (types: string[]) => ((await getByIds({ ids, types })).json.value as { id: string }[]).map((object) => object.id);
    expect(await idsOf(['user'])).toEqual([user.id]);
    expect(await idsOf(['GROUP'])).toEqual([group.id]);
    expect(await idsOf(['User', 'group'])).toEqual(ids);
    expect(await idsOf(['directoryObject'])).toEqual(ids);
    expect(await idsOf(['device'])).toEqual([]);
    expect(await idsOf([])).toEqual(ids);
  });

  it("leaves another tenant's objects out", async () => {
    const response = await getByIds({ ids: [otherTenantUser.id, user.id] });
    expect(response.status).toBe(200);
    expect(response.json.value.map((object: { id: string }) => object.id)).toEqual([user.id]);
  });

  it('honours $select and refuses other query options', async () => {
    const selected = await getByIds({ ids: [user.id] }, { query: '?$select=displayName' });
    expect(selected.json).toEqual({
      '@odata.context': `${service.baseUrl}/v1.0/$metadata#directoryObjects(displayName)`,
      value: [{ '@odata.type': '#microsoft.graph.user', id: user.id, displayName: 'Grace Hopper' }],
    });
    const top = await getByIds({ ids: [user.id] }, { query: '?$top=5' });
    expect(top.status).toBe(400);
    expect(top.json.error.message).toBe("Query option '$top' is not supported on this resource.");
  });

  it('takes 1,000 ids with one bounded point read per distinct id, and refuses 1,001 without reading', async () => {
    const ids = [user.id, ...Array.from({ length: 998 }, () => randomUUID()), group.id];
    service.proxy.seen.length = 0;
    service.proxy.record = true;
    try {
      const accepted = await getByIds({ ids });
      expect(accepted.status).toBe(200);
      expect(accepted.json.value.map((object: { id: string }) => object.id)).toEqual([user.id, group.id]);
      // The two objects read before may come from the repository's cache: at most one read each.
      expect(service.proxy.seen.length).toBeLessThanOrEqual(ids.length);
      expect(service.proxy.seen.length).toBeGreaterThanOrEqual(998);

      service.proxy.seen.length = 0;
      const repeated = await getByIds({ ids: Array.from({ length: 1000 }, () => ids[1]) });
      expect(repeated.json.value).toEqual([]);
      expect(service.proxy.seen.length).toBe(1);

      service.proxy.seen.length = 0;
      const refused = await getByIds({ ids: [...ids, randomUUID()] });
      expect(refused.status).toBe(400);
      expect(refused.json.error).toMatchObject({ code: 'Request_BadRequest', message: "Number of included identifiers cannot exceed '1000'." });
      expect(service.proxy.seen).toEqual([]);
    } finally {
      service.proxy.record = false;
    }
  });

  it('answers an empty list with an empty value', async () => {
    const response = await getByIds({ ids: [] });
    expect(response.status).toBe(200);
    expect(response.json.value).toEqual([]);
  });

  it.each([
    ['ids missing', {}, "Invalid value specified for property 'ids' of resource 'getByIds'."],
    ['ids not an array', { ids: randomUUID() }, "Invalid value specified for property 'ids' of resource 'getByIds'."],
    ['an id that is not a string', { ids: [42] }, "Invalid value specified for property 'ids' of resource 'getByIds'."],
    ['an unknown type', { ids: [randomUUID()], types: ['user', 'printer'] }, "Invalid value specified for property 'types' of resource 'getByIds'."],
    ['an unknown property', { ids: [], select: 'id' }, "Property 'select' does not exist as a declared property or extension property."],
  ])('400 for %s', async (_case, body, message) => {
    const response = await getByIds(body);
    expect(response.status).toBe(400);
    expect(response.json.error).toMatchObject({ code: 'Request_BadRequest', message });
  });

  it('400 for a non-GUID id, naming it, and for a body that is not an object', async () => {
    const nonGuid = await getByIds({ ids: [user.id, 'abc'] });
    expect(nonGuid.status).toBe(400);
    expect(nonGuid.json.error).toMatchObject({ code: 'Request_BadRequest', message: "Invalid object identifier 'abc'." });
    const array = await getByIds([user.id]);
    expect(array.status).toBe(400);
    expect(array.json.error.code).toBe('BadRequest');
  });

  it('needs a permission that reads both users and groups', async () => {
    const refused = await getByIds({ ids: [user.id] }, { token: await service.appToken(['User.Read.All']) });
    expect(refused.status).toBe(403);
    const allowed = await getByIds({ ids: [user.id] }, { token: await service.appToken(['Directory.Read.All']) });
    expect(allowed.status).toBe(200);
    expect(allowed.json.value).toHaveLength(1);
  });
});

describe('the bounded concurrency of getByIds', () => {
  it(`never has more than ${getByIdsConcurrency} reads pending, and keeps the order`, async () => {
    let pending = 0;
    let most = 0;
    const items = Array.from({ length: 100 }, (_, index) => index);
    const results = await mapWithConcurrency(items, getByIdsConcurrency, async (item) => {
      pending += 1;
      most = Math.max(most, pending);
      await new Promise((resolve) => setImmediate(resolve));
      pending -= 1;
      return item * 2;
    });
    expect(most).toBe(getByIdsConcurrency);
    expect(results).toEqual(items.map((item) => item * 2));
  });

  it('starts nothing more after a failure', async () => {
    let started = 0;
    const run = mapWithConcurrency([1, 2, 3, 4, 5, 6], 2, async (item) => {
      started += 1;
      await new Promise((resolve) => setImmediate(resolve));
      if (item === 1) throw new Error('throttled');
      return item;
    });
    await expect(run).rejects.toThrow('throttled');
    expect(started).toBeLessThanOrEqual(3);
  });
});
