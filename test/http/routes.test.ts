import { randomUUID } from 'node:crypto';
import { httpFunctions } from '../../functions/catalog';
import type { HttpFunctionDefinition } from '../../functions/httpFunction';
import { compareFunctionNames, compileRouteTemplate, inHostOrder, parseRouteTemplate, requestPathSegments, selectRoute } from '../../src/http/routeTemplate';
import { TestService } from '../support/testService';

// The host tries routes in the order of their functions' names, with no specificity rule
// (src/http/routeTemplate.ts, inHostOrder). So every request must be matched by exactly one
// function, whatever the order: checked here for every function's sample requests against the
// whole catalogue in the host's order, in reverse, and with the catch-alls renamed to sort first
// and last.

const G = randomUUID();
const U = randomUUID();
const v = (path: string) => [`/v1.0/${path}`, `/beta/${path}`];

/** Sample requests each function must take: casts, $ref forms, UPNs, both versions, odd case. */
const samples: Record<string, [method: string, path: string][]> = {
  addMember: [...v(`groups/${G}/members/$ref`), `/V1.0/Groups/${G}/MEMBERS/%24ref`, `/beta/groups/${G}/members/$REF/`, `/v1.0/groups/not-a-guid/members/$ref`].map((path) => ['POST', path]),
  addMemberOf: [...v(`groups/${G}/memberOf/$ref`), ...v(`groups/${G}/memberOf`), `/v1.0/groups/${G}/MEMBEROF/`, `/v1.0/groups/${G}/memberof/%24ref`].map((path) => ['POST', path]),
  addMyJoinedGroupMemberOf: [...v(`me/joinedGroups/${G}/memberOf/$ref`), `/v1.0/me/joinedGroups/${G}/memberOf`, `/BETA/ME/JOINEDGROUPS/${G}/MEMBEROF/$REF`].map((path) => ['POST', path]),
  addMyJoinedGroup: [...v('me/joinedGroups/$ref'), ...v('me/joinedGroups'), '/v1.0/me/JoinedGroups/', '/v1.0/me/joinedGroups/%24ref'].map((path) => ['POST', path]),
  addUserJoinedGroup: [
    ...v(`users/${U}/joinedGroups/$ref`),
    '/v1.0/users/adele@contoso.com/joinedGroups',
    "/v1.0/users/o'neil%23x%5Ey@contoso.com/joinedGroups/$ref",
    `/beta/USERS/${U}/JOINEDGROUPS`,
  ].map((path) => ['POST', path]),
  createUser: [...v('users'), '/V1.0/USERS', '/beta/users/'].map((path) => ['POST', path]),
  createGroup: [...v('groups'), '/v1.0/Groups', '/beta/groups/'].map((path) => ['POST', path]),
  getUser: [
    ...v(`users/${U}`),
    '/v1.0/users/adele@contoso.com',
    '/v1.0/users/adele%40contoso.com',
    "/beta/users/o'neil%23x%5Ey@contoso.com",
    '/v1.0/users/me',
    '/v1.0/users/$ref',
    '/v1.0/users/$count',
    '/beta/USERS/%24COUNT',
  ].map((path) => ['GET', path]),
  getGroup: [
    ...v(`groups/${G}`),
    `/V1.0/GROUPS/${G}/`,
    '/v1.0/groups/12345',
    '/v1.0/groups/$ref',
    `/v1.0/groups/${G}%2Fmembers%2F%24ref`,
    '/v1.0/groups/$count',
    '/beta/groups/$Count/',
    '/v1.0/groups/delta()',
    '/v1.0/groups/deltas',
    '/v1.0/groups/microsoft.graph.delta',
  ].map((path) => ['GET', path]),
  // GET /groups/delta() and /groups/microsoft.graph.delta are getGroup's, answered as delta (functions/getGroupsDelta.ts).
  getGroupsDelta: [...v('groups/delta'), '/BETA/GROUPS/DELTA/', '/v1.0/groups/delta%0A'].map((path) => ['GET', path]),
  // GET /users/$count and /groups/$count are getUser's and getGroup's (functions/listUsers.ts says why).
  listUsers: [...v('users'), '/V1.0/USERS', '/beta/users/'].map((path) => ['GET', path]),
  listGroups: [...v('groups'), '/v1.0/Groups', '/beta/groups/'].map((path) => ['GET', path]),
  getMe: [...v('me'), '/V1.0/ME', '/beta/me/'].map((path) => ['GET', path]),
  // A GET of directoryObjects/getByIds is a non-GUID id here (400), as in Graph.
  getDirectoryObject: [...v(`directoryObjects/${U}`), `/V1.0/DIRECTORYOBJECTS/${G}/`, '/v1.0/directoryObjects/getByIds', '/beta/directoryobjects/GETBYIDS/', '/v1.0/directoryObjects/$ref'].map(
    (path) => ['GET', path],
  ),
  getDirectoryObjectsByIds: [...v('directoryObjects/getByIds'), '/V1.0/DirectoryObjects/GetByIds', '/beta/directoryobjects/getbyids/'].map((path) => ['POST', path]),
  listGroupRelations: [
    ...v(`groups/${G}/members`),
    ...v(`groups/${G}/owners`),
    ...v(`groups/${G}/memberOf/microsoft.graph.group`),
    `/v1.0/groups/${G}/members/microsoft.graph.user`,
    `/v1.0/groups/${G}/MEMBERS/Microsoft.Graph.User/`,
    `/beta/groups/${G}/memberof`,
    `/v1.0/groups/${G}/members/$count`,
    `/v1.0/groups/${G}/members/microsoft.graph.user/$count`,
    `/beta/groups/${G}/owners/%24COUNT/`,
    `/v1.0/groups/${G}/memberOf/graph.group/$count`,
    `/v1.0/groups/${G}/members/graph.user`,
    `/beta/groups/${G}/owners/Graph.Group/`,
  ].map((path) => ['GET', path]),
  listUserRelations: [
    ...v(`users/${U}/memberOf`),
    ...v(`users/${U}/joinedGroups`),
    '/v1.0/users/adele@contoso.com/memberOf/microsoft.graph.group',
    `/beta/users/${U}/JOINEDGROUPS/microsoft.graph.user`,
    `/v1.0/users/${U}/memberOf/$count`,
    `/v1.0/users/${U}/joinedGroups/graph.group/$count`,
  ].map((path) => ['GET', path]),
  listMyRelations: [
    ...v('me/memberOf'),
    ...v('me/joinedGroups'),
    '/v1.0/me/memberOf/microsoft.graph.group',
    '/v1.0/me/joinedGroups/graph.group',
    '/BETA/ME/JOINEDGROUPS/',
    '/v1.0/me/memberOf/$count',
    '/v1.0/me/joinedGroups/microsoft.graph.group/$count',
  ].map((path) => ['GET', path]),
  removeMember: [...v(`groups/${G}/members/${U}/$ref`), `/V1.0/GROUPS/${G}/Members/${U}/%24REF`, `/v1.0/groups/${G}/members/adele@contoso.com/$ref/`].map((path) => ['DELETE', path]),
  listGroupTransitive: [
    ...v(`groups/${G}/transitiveMembers`),
    ...v(`groups/${G}/transitiveMemberOf`),
    `/v1.0/groups/${G}/TRANSITIVEMEMBERS/microsoft.graph.user`,
    `/v1.0/groups/${G}/transitiveMembers/graph.group/$count`,
    `/v1.0/groups/${G}/transitiveMemberOf/$count`,
  ].map((path) => ['GET', path]),
  listUserTransitive: [...v(`users/${U}/transitiveMemberOf`), '/v1.0/users/adele@contoso.com/transitiveMemberOf/graph.group', `/v1.0/users/${U}/transitiveMemberOf/$count`].map((path) => [
    'GET',
    path,
  ]),
  listMyTransitive: [...v('me/transitiveMemberOf'), '/v1.0/me/transitiveMemberOf/microsoft.graph.group/$count', '/BETA/ME/TRANSITIVEMEMBEROF/'].map((path) => ['GET', path]),
  groupMemberActions: [...v(`groups/${G}/checkMemberGroups`), ...v(`groups/${G}/getMemberObjects`), `/v1.0/groups/${G}/CHECKMEMBEROBJECTS`, `/v1.0/groups/${G}/getMemberGroups/`].map((path) => [
    'POST',
    path,
  ]),
  userMemberActions: [...v(`users/${U}/checkMemberGroups`), '/v1.0/users/adele@contoso.com/getMemberGroups', `/beta/users/${U}/checkMemberObjects`, `/v1.0/users/${U}/getMemberObjects`].map((path) => [
    'POST',
    path,
  ]),
  myMemberActions: [...v('me/checkMemberGroups'), '/v1.0/me/getMemberGroups', '/beta/ME/checkMemberObjects', '/v1.0/me/getMemberObjects/'].map((path) => ['POST', path]),
  updateUser: [...v(`users/${U}`), '/v1.0/users/adele@contoso.com', '/V1.0/USERS/adele%40contoso.com/', '/v1.0/users/$count'].map((path) => ['PATCH', path]),
  updateGroup: [...v(`groups/${G}`), `/V1.0/GROUPS/${G}/`, '/v1.0/groups/12345'].map((path) => ['PATCH', path]),
  deleteUser: [...v(`users/${U}`), '/v1.0/users/adele@contoso.com', `/BETA/Users/${U}/`].map((path) => ['DELETE', path]),
  deleteGroup: [...v(`groups/${G}`), `/V1.0/GROUPS/${G}/`, '/v1.0/groups/$ref'].map((path) => ['DELETE', path]),
  addOwner: [...v(`groups/${G}/owners/$ref`), `/V1.0/Groups/${G}/OWNERS/%24ref`, `/beta/groups/${G}/owners/$REF/`].map((path) => ['POST', path]),
  removeOwner: [...v(`groups/${G}/owners/${U}/$ref`), `/V1.0/GROUPS/${G}/Owners/${U}/%24REF`, `/v1.0/groups/${G}/owners/not-a-guid/$ref/`].map((path) => ['DELETE', path]),
  getOpenApi: ['/openapi.json', '/OpenAPI.json', '/openapi.json/'].map((path) => ['GET', path]),
  getHealth: ['/health', '/HEALTH', '/health/'].map((path) => ['GET', path]),
  // Change notifications (functions/subscriptions.ts).
  createSubscription: [...v('subscriptions'), '/V1.0/SUBSCRIPTIONS', '/beta/subscriptions/'].map((path) => ['POST', path]),
  listSubscriptions: [...v('subscriptions'), '/V1.0/Subscriptions', '/beta/subscriptions/'].map((path) => ['GET', path]),
  getSubscription: [...v(`subscriptions/${G}`), `/V1.0/SUBSCRIPTIONS/${G}/`, '/v1.0/subscriptions/not-a-guid'].map((path) => ['GET', path]),
  updateSubscription: [...v(`subscriptions/${G}`), `/beta/Subscriptions/${G}`].map((path) => ['PATCH', path]),
  deleteSubscription: [...v(`subscriptions/${G}`), `/beta/Subscriptions/${G}/`].map((path) => ['DELETE', path]),
  reauthorizeSubscription: [...v(`subscriptions/${G}/reauthorize`), `/beta/Subscriptions/${G}/Reauthorize`].map((path) => ['POST', path]),
  batch: [...v('$batch'), '/V1.0/$BATCH', '/beta/%24batch', '/v1.0/$batch/'].map((path) => ['POST', path]),
};

/** Requests no function serves: 405 with these methods in Allow, or 404. */
const unserved: { method: string; path: string; allow?: string[] }[] = [
  { method: 'DELETE', path: `/v1.0/groups/${G}/members/$ref`, allow: ['POST'] },
  { method: 'PUT', path: `/v1.0/groups/${G}/members/$ref`, allow: ['POST'] },
  { method: 'GET', path: `/v1.0/groups/${G}/members/${U}/$ref`, allow: ['DELETE'] },
  { method: 'POST', path: `/beta/groups/${G}/members/${U}/$ref`, allow: ['DELETE'] },
  { method: 'POST', path: `/v1.0/groups/${G}`, allow: ['DELETE', 'GET', 'PATCH'] },
  { method: 'PUT', path: `/v1.0/groups/${G}`, allow: ['DELETE', 'GET', 'PATCH'] },
  { method: 'POST', path: `/v1.0/users/${U}`, allow: ['DELETE', 'GET', 'PATCH'] },
  { method: 'PATCH', path: `/v1.0/groups/${G}/members`, allow: ['GET'] },
  { method: 'GET', path: `/v1.0/groups/${G}/owners/$ref`, allow: ['POST'] },
  { method: 'PATCH', path: '/v1.0/me', allow: ['GET'] },
  { method: 'PATCH', path: '/v1.0/users', allow: ['GET', 'POST'] },
  { method: 'HEAD', path: '/v1.0/me', allow: ['GET'] },
  { method: 'OPTIONS', path: '/health', allow: ['GET'] },
  { method: 'POST', path: `/v1.0/groups/${G}/members`, allow: ['GET'] },
  { method: 'GET', path: '/v1.0/me/joinedGroups/$ref', allow: ['POST'] },
  { method: 'POST', path: '/v1.0/me/memberOf', allow: ['GET'] },
  { method: 'GET', path: '/v1.0/$batch', allow: ['POST'] },
  { method: 'POST', path: `/v1.0/directoryObjects/${U}`, allow: ['GET'] },
  { method: 'DELETE', path: '/v1.0/directoryObjects/getByIds', allow: ['GET', 'POST'] },
  { method: 'GET', path: '/v1.0/directoryObjects' },
  { method: 'POST', path: `/v1.0/directoryObjects/${U}/getByIds` },
  { method: 'GET', path: '/v2.0/groups' },
  { method: 'GET', path: '/v1.0/nothingHere' },
  { method: 'DELETE', path: '/v1.0/groups', allow: ['GET', 'POST'] },
  { method: 'GET', path: `/v1.0/groups/${G}/owners/${U}/$ref`, allow: ['DELETE'] },
  { method: 'DELETE', path: `/v1.0/groups/${G}/memberOf/${U}/$ref` },
  { method: 'GET', path: `/v1.0/groups/${G}/members/microsoft.graph.device` },
  { method: 'GET', path: `/v1.0/groups/${G}/members/$ref/extra` },
  { method: 'POST', path: `/v1.0/groups/${G}/members/$ref/extra` },
  { method: 'GET', path: `/v1.0//groups/${G}` },
  { method: 'GET', path: '/v1.0/me/joinedGroups/microsoft.graph.group/x' },
  { method: 'POST', path: `/v1.0/groups/${G}/members/%24ref%2Fx` },
];

const isCatchAll = (definition: HttpFunctionDefinition) => parseRouteTemplate(definition.route).some((segment) => segment.kind === 'parameter' && segment.catchAll);
const routed = httpFunctions.filter((definition) => !isCatchAll(definition));
const catchAlls = httpFunctions.filter(isCatchAll);

function compiled(functions: readonly HttpFunctionDefinition[]) {
  return functions.map((definition) => ({ definition, template: compileRouteTemplate(definition.route) }));
}

/** Every function of the catalogue that would take the request, whatever the order. */
function takers(functions: readonly HttpFunctionDefinition[], method: string, path: string): string[] {
  const segments = requestPathSegments(path);
  return compiled(functions)
    .filter(({ definition, template }) => definition.methods.includes(method as never) && template.match(segments) !== undefined)
    .map(({ definition }) => definition.name);
}

/** The requests that go to another function than their own when the host tries routes in this order. */
function misrouted(ordered: readonly HttpFunctionDefinition[]): string[] {
  const routes = compiled(ordered);
  const wrong: string[] = [];
  for (const [name, requests] of Object.entries(samples)) {
    for (const [method, path] of requests) {
      const taken = selectRoute(routes, method, requestPathSegments(path))?.definition.name;
      if (taken !== name) wrong.push(`${method} ${path}: ${taken ?? 'no function'} instead of ${name}`);
    }
  }
  for (const { method, path } of unserved) {
    const taken = selectRoute(routes, method, requestPathSegments(path))?.definition;
    if (taken === undefined || !isCatchAll(taken)) wrong.push(`${method} ${path}: ${taken?.name ?? 'no function'} instead of a catch-all`);
  }
  return wrong;
}

const renamed = (prefix: string) => httpFunctions.map((definition) => (isCatchAll(definition) ? { ...definition, name: `${prefix}${definition.name}` } : definition));

describe('the order the host tries routes in', () => {
  it('is by function name, upper-cased then ordinal (StringComparer.OrdinalIgnoreCase), not registration order', () => {
    const names = (functions: { name: string }[]) => inHostOrder(functions).map(({ name }) => name);
    expect(names([{ name: 'removeMember' }, { name: 'notFound' }, { name: 'addMember' }])).toEqual(['addMember', 'notFound', 'removeMember']);
    expect(names([{ name: 'b' }, { name: 'A' }, { name: 'a_b' }, { name: 'aB' }])).toEqual(['A', 'aB', 'a_b', 'b']);
    expect(compareFunctionNames('getGroup', 'GETGROUP')).toBe(0);
  });

  it('is what the catalogue would meet in Azure: a catch-all sorts before functions it must not shadow', () => {
    // The situation of the original defect: notFound (every method) sorting before removeMember.
    const order = inHostOrder(httpFunctions).map(({ name }) => name);
    expect(order.indexOf('notFoundDelete')).toBeLessThan(order.indexOf('removeMember'));
    expect(order.indexOf('notFound')).toBeLessThan(order.indexOf('removeMember'));
  });
});

describe('every request is taken by exactly one function, in any order', () => {
  it('has samples for every function of the catalogue but the catch-alls', () => {
    expect(Object.keys(samples).sort()).toEqual(routed.map(({ name }) => name).sort());
    expect(catchAlls.length).toBeGreaterThan(0);
  });

  it.each(Object.entries(samples).flatMap(([name, requests]) => requests.map(([method, path]) => [name, method, path] as const)))('%s takes %s %s, and nothing else does', (name, method, path) => {
    expect(takers(httpFunctions, method, path)).toEqual([name]);
  });

  it.each(unserved.map(({ method, path }) => [method, path] as const))('%s %s is taken by one catch-all only', (method, path) => {
    const taken = takers(httpFunctions, method, path);
    expect(taken).toHaveLength(1);
    expect(catchAlls.map(({ name }) => name)).toContain(taken[0]);
  });

  it.each([
    ["sorted the host's way", inHostOrder(httpFunctions)],
    ['in reverse', inHostOrder(httpFunctions).reverse()],
    ['with the catch-alls renamed to sort first', inHostOrder(renamed('A'))],
    ['with the catch-alls renamed to sort last', inHostOrder(renamed('zz'))],
    ['in registration order', [...httpFunctions]],
  ])('routes every sample to its own function %s', (_order, ordered) => {
    expect(misrouted(ordered)).toEqual([]);
  });

  it('would catch a catch-all that captures what another function serves (the check can fail)', () => {
    // The catch-all this replaced: `{*path}` for every method, named to sort before removeMember.
    const naive = { ...catchAlls[0]!, name: 'notFound', route: '{*path}', methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const };
    const wrong = misrouted(inHostOrder([...routed, naive]));
    expect(wrong).toContain(`DELETE /v1.0/groups/${G}/members/${U}/$ref: notFound instead of removeMember`);
    expect(misrouted(inHostOrder([...routed, { ...naive, name: 'zzNotFound' }]))).toEqual([]);
    expect(misrouted(inHostOrder([...routed, { ...naive, name: 'zzNotFound' }]).reverse()).length).toBeGreaterThan(0);
  });
});

describe('the catalogue as the host validates it', () => {
  it('has valid, unique function names and no two routes the host would call conflicting', () => {
    // ScriptHost.ValidateFunction: names unique; the same route (trimmed, case-insensitive) with
    // an overlapping method is an error; routes under admin/ or runtime/ are reserved.
    const names = httpFunctions.map(({ name }) => name.toLowerCase());
    expect(new Set(names).size).toBe(names.length);
    for (const definition of httpFunctions) {
      expect(definition.name).toMatch(/^[A-Za-z][A-Za-z0-9_-]{0,127}$/);
      expect(definition.route.toLowerCase()).not.toMatch(/^\/?(admin|runtime)/);
      for (const other of httpFunctions) {
        if (other === definition || other.route.toLowerCase() !== definition.route.toLowerCase()) continue;
        expect(other.methods.filter((method) => definition.methods.includes(method))).toEqual([]);
      }
    }
  });

  it('parses every catch-all back to one constrained {*path} (the route syntax round-trips)', () => {
    for (const definition of catchAlls) {
      const segments = parseRouteTemplate(definition.route);
      expect(segments).toHaveLength(1);
      expect(segments[0]).toMatchObject({ kind: 'parameter', name: 'path', catchAll: true, optional: false });
    }
  });
});

describe('route template syntax (ASP.NET Core RouteParameterParser)', () => {
  it('keeps a ":" inside regex(...) in the pattern, and splits constraints only after a closing ")"', () => {
    expect(parseRouteTemplate('{a:regex(^(?:x|y)$)}')).toEqual([{ kind: 'parameter', name: 'a', optional: false, catchAll: false, constraints: [{ kind: 'regex', source: '^(?:x|y)$' }] }]);
    expect(parseRouteTemplate('{a:regex(^x$):regex(^.$)?}')[0]).toMatchObject({ optional: true, constraints: [{ source: '^x$' }, { source: '^.$' }] });
    expect(parseRouteTemplate('{*rest:regex(^a/b{{2}}$)}')[0]).toMatchObject({ catchAll: true, constraints: [{ source: '^a/b{2}$' }] });
  });

  it('refuses what the host refuses or this emulation does not reproduce', () => {
    expect(() => parseRouteTemplate('a//b')).toThrow(/consecutive/);
    expect(() => parseRouteTemplate('{*a}/b')).toThrow(/last/);
    expect(() => parseRouteTemplate('{*a?}')).toThrow(/optional/);
    expect(() => parseRouteTemplate('{a:regex(^\\d{3}$)}')).toThrow(/doubled/);
    expect(() => parseRouteTemplate('{id:guid}')).toThrow(/not supported/);
  });

  it('routes on segments split before decoding: %2F is not a separator', () => {
    expect(requestPathSegments(`/v1.0/groups/${G}%2Fmembers%2F%24ref`)).toEqual(['v1.0', 'groups', `${G}%2Fmembers%2F$ref`]);
    expect(requestPathSegments('/a/%41%2f%zz/')).toEqual(['a', 'A%2f%zz']);
    expect(requestPathSegments('//')).toEqual(['']);
  });
});

describe('through HTTP', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await TestService.start();
  });
  afterAll(() => service.stop());

  it.each(unserved.map((request) => [request.method, request.path, request] as const))('%s %s answers 404, or 405 with Allow', async (_method, _path, { method, path, allow }) => {
    const response = await service.request(method, path);
    const seen = { status: response.status, allow: response.headers.get('allow')?.split(', ').sort(), code: method === 'HEAD' ? undefined : response.json.error.code };
    const expected = allow === undefined ? { status: 404, allow: undefined, code: 'NotFound' } : { status: 405, allow, code: 'MethodNotAllowed' };
    expect(seen).toEqual({ ...expected, code: method === 'HEAD' ? undefined : expected.code });
  });

  it('takes DELETE …/members/{id}/$ref to removeMember although notFound* sort before it', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    expect((await service.addMember(group.id, user.id)).status).toBe(204);
    const response = await service.request('DELETE', `/v1.0/groups/${group.id}/members/${user.id}/$ref`);
    expect(response.status).toBe(204);
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: false, memberSide: false });
  });

  it('does not take an encoded slash as a separator: groups/{G}%2Fmembers%2F%24ref adds nobody', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    const before = await service.snapshotStore();
    const response = await service.request('POST', `/v1.0/groups/${group.id}%2Fmembers%2F%24ref`, {
      body: { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${user.id}` },
    });
    // As in Azure: no POST route has that one segment, and GET /groups/{id} has the shape.
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, PATCH, DELETE');
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: false, memberSide: false });
    expect(await service.snapshotStore()).toEqual(before);
  });

  it('does not remove through an encoded slash either', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    expect((await service.addMember(group.id, user.id)).status).toBe(204);
    const response = await service.request('DELETE', `/v1.0/groups/${group.id}/members%2F${user.id}%2F%24ref`);
    expect(response.status).toBe(404);
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: true });
  });
});
