import type { HttpVerb, Visibility } from './swagger';

/** Error statuses an operation documents (SPEC §2 and §4); each maps to a shared response. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 429 | 503;

export interface OperationMetadata {
  /** The Swagger path, as routes.ts expands the function's route template. */
  readonly path: string;
  readonly method: HttpVerb;
  readonly operationId: string;
  /** Sentence case, no trailing period: Power Platform shows it as the action's name. */
  readonly summary: string;
  readonly description: string;
  readonly tag: 'Membership' | 'Directory' | 'Service';
  readonly visibility?: Visibility;
  readonly body?: { readonly definition: string; readonly summary: string; readonly description: string };
  readonly success: { readonly status: 200 | 201 | 204; readonly description: string; readonly definition?: string; readonly location?: boolean };
  readonly errors: readonly ErrorStatus[];
  /** A membership add: retried safely with Idempotency-Key or client-request-id (SPEC §4). */
  readonly idempotent?: boolean;
  /** A paged list: $top, $skiptoken, $select and x-ms-pageable. */
  readonly paged?: boolean;
  /** No token needed (GET /health, GET /openapi.json). */
  readonly anonymous?: boolean;
}

const all: readonly ErrorStatus[] = [400, 401, 403, 404, 429, 503];
const noLookup: readonly ErrorStatus[] = [400, 401, 403, 429, 503];
const reference = (summary: string, description: string) => ({ definition: 'DirectoryObjectReference', summary, description });
const groupReference = reference('Group Reference', 'The group to join: its id, or its @odata.id URL.');
const createdGroup = { status: 201, description: 'Created: the group joined, with a Location header.', definition: 'Group', location: true } as const;
const page = (what: string) => ({ status: 200, description: `OK: a page of ${what}.`, definition: 'DirectoryObjectCollection' }) as const;

/**
 * What the document says about each function of functions/catalog.ts, keyed by function name.
 * document.ts fails to build when a function has no entry, when an entry names a path its route
 * does not expand to, or when a path of the route (other than a cast variant) has no entry.
 */
export const operationsByFunction: Readonly<Record<string, readonly OperationMetadata[]>> = {
  addMember: [{
    path: '/v1.0/groups/{groupId}/members/$ref', method: 'post', operationId: 'AddMember', tag: 'Membership', visibility: 'important',
    summary: 'Add a member to a group',
    description: 'Makes the referenced user or group a direct member of the group. Security groups hold users and groups; Microsoft 365 groups hold users only.',
    body: reference('Member Reference', 'The user or group to add: its id, or its @odata.id URL.'),
    success: { status: 204, description: 'No content: the object is now a member.' }, errors: all, idempotent: true,
  }],
  addMemberOf: [{
    path: '/v1.0/groups/{groupId}/memberOf/$ref', method: 'post', operationId: 'AddMemberOf', tag: 'Membership', visibility: 'important',
    summary: 'Add a group to another group',
    description: 'Makes the group a direct member of the referenced group (nesting). Cycles, role-assignable and Microsoft 365 targets are refused.',
    body: reference('Parent Group Reference', 'The group that the group joins: its id, or its @odata.id URL.'),
    success: createdGroup, errors: all, idempotent: true,
  }],
  addMyJoinedGroupMemberOf: [{
    path: '/v1.0/me/joinedGroups/{groupId}/memberOf/$ref', method: 'post', operationId: 'AddMyJoinedGroupMemberOf', tag: 'Membership', visibility: 'important',
    summary: 'Add one of my groups to another group',
    description: 'Makes a group that the signed-in user is a direct member of a direct member of the referenced group. Needs a delegated (user) connection.',
    body: reference('Parent Group Reference', 'The group that your group joins: its id, or its @odata.id URL.'),
    success: createdGroup, errors: all, idempotent: true,
  }],
  addMyJoinedGroup: [{
    path: '/v1.0/me/joinedGroups/$ref', method: 'post', operationId: 'AddMyJoinedGroup', tag: 'Membership', visibility: 'important',
    summary: 'Join a group',
    description: 'Makes the signed-in user a direct member of the referenced group. Anyone may join a public Microsoft 365 group; other groups need an owner or a group administrator.',
    body: groupReference, success: createdGroup, errors: all, idempotent: true,
  }],
  addUserJoinedGroup: [{
    path: '/v1.0/users/{userId}/joinedGroups/$ref', method: 'post', operationId: 'AddUserJoinedGroup', tag: 'Membership', visibility: 'important',
    summary: 'Add a user to a group',
    description: 'Makes the user, named by object ID or user principal name, a direct member of the referenced group.',
    body: groupReference, success: createdGroup, errors: all, idempotent: true,
  }],
  createUser: [{
    path: '/v1.0/users', method: 'post', operationId: 'CreateUser', tag: 'Directory',
    summary: 'Create a user',
    description: 'Creates a user in the caller\'s tenant. Give an id to mirror an existing Microsoft Entra object ID.',
    body: { definition: 'NewUser', summary: 'User', description: 'The user to create.' },
    success: { status: 201, description: 'Created: the new user, with a Location header.', definition: 'User', location: true }, errors: noLookup,
  }],
  createGroup: [{
    path: '/v1.0/groups', method: 'post', operationId: 'CreateGroup', tag: 'Directory',
    summary: 'Create a group',
    description: 'Creates a security or Microsoft 365 group, optionally with owners and members. A delegated caller becomes an owner.',
    body: { definition: 'NewGroup', summary: 'Group', description: 'The group to create.' },
    success: { status: 201, description: 'Created: the new group, with a Location header.', definition: 'Group', location: true }, errors: all,
  }],
  getUser: [{
    path: '/v1.0/users/{userId}', method: 'get', operationId: 'GetUser', tag: 'Directory',
    summary: 'Get a user', description: 'Gets a user by object ID or user principal name.',
    success: { status: 200, description: 'OK: the user.', definition: 'User' }, errors: all,
  }],
  getGroup: [{
    path: '/v1.0/groups/{groupId}', method: 'get', operationId: 'GetGroup', tag: 'Directory',
    summary: 'Get a group', description: 'Gets a group by object ID.',
    success: { status: 200, description: 'OK: the group.', definition: 'Group' }, errors: all,
  }],
  getMe: [{
    path: '/v1.0/me', method: 'get', operationId: 'GetMe', tag: 'Directory',
    summary: 'Get the signed-in user', description: 'Gets the user the connection signed in as. Needs a delegated (user) connection.',
    success: { status: 200, description: 'OK: the signed-in user.', definition: 'User' }, errors: all,
  }],
  listGroupRelations: [
    {
      path: '/v1.0/groups/{groupId}/members', method: 'get', operationId: 'ListGroupMembers', tag: 'Membership',
      summary: 'List group members', description: 'Lists the direct members of the group, users and groups, a page at a time.',
      success: page('members'), errors: all, paged: true,
    },
    {
      path: '/v1.0/groups/{groupId}/members/microsoft.graph.user', method: 'get', operationId: 'ListGroupMemberUsers', tag: 'Membership',
      summary: 'List group members that are users', description: 'Lists the direct members of the group that are users, a page at a time.',
      success: page('users'), errors: all, paged: true,
    },
    {
      path: '/v1.0/groups/{groupId}/members/microsoft.graph.group', method: 'get', operationId: 'ListGroupMemberGroups', tag: 'Membership',
      summary: 'List group members that are groups', description: 'Lists the groups nested directly in the group, a page at a time.',
      success: page('groups'), errors: all, paged: true,
    },
    {
      path: '/v1.0/groups/{groupId}/owners', method: 'get', operationId: 'ListGroupOwners', tag: 'Membership',
      summary: 'List group owners', description: 'Lists the owners of the group, a page at a time.',
      success: page('owners'), errors: all, paged: true,
    },
    {
      path: '/v1.0/groups/{groupId}/memberOf', method: 'get', operationId: 'ListGroupMemberOf', tag: 'Membership',
      summary: 'List the groups a group belongs to', description: 'Lists the groups that the group is a direct member of, a page at a time.',
      success: page('groups'), errors: all, paged: true,
    },
  ],
  listUserRelations: [
    {
      path: '/v1.0/users/{userId}/memberOf', method: 'get', operationId: 'ListUserMemberOf', tag: 'Membership',
      summary: 'List the groups a user belongs to', description: 'Lists the groups that the user is a direct member of, a page at a time.',
      success: page('groups'), errors: all, paged: true,
    },
    {
      path: '/v1.0/users/{userId}/joinedGroups', method: 'get', operationId: 'ListUserJoinedGroups', tag: 'Membership',
      summary: 'List the groups a user joined', description: 'Lists the groups that the user is a direct member of (the same list as memberOf), a page at a time.',
      success: page('groups'), errors: all, paged: true,
    },
  ],
  listMyRelations: [
    {
      path: '/v1.0/me/memberOf', method: 'get', operationId: 'ListMyMemberOf', tag: 'Membership',
      summary: 'List the groups I belong to', description: 'Lists the groups that the signed-in user is a direct member of, a page at a time. Needs a delegated (user) connection.',
      success: page('groups'), errors: noLookup, paged: true,
    },
    {
      path: '/v1.0/me/joinedGroups', method: 'get', operationId: 'ListMyJoinedGroups', tag: 'Membership',
      summary: 'List the groups I joined', description: 'Lists the groups that the signed-in user is a direct member of (the same list as memberOf), a page at a time. Needs a delegated (user) connection.',
      success: page('groups'), errors: noLookup, paged: true,
    },
  ],
  removeMember: [{
    path: '/v1.0/groups/{groupId}/members/{memberId}/$ref', method: 'delete', operationId: 'RemoveMember', tag: 'Membership', visibility: 'important',
    summary: 'Remove a member from a group', description: 'Removes a direct member (a user or a group) from the group. A member that is not there is a 404.',
    success: { status: 204, description: 'No content: the object is no longer a member.' }, errors: all,
  }],
  getHealth: [{
    path: '/health', method: 'get', operationId: 'GetHealth', tag: 'Service', visibility: 'internal', anonymous: true,
    summary: 'Check service health', description: 'Answers 200 once the store answers and 503 otherwise. Needs no token.',
    success: { status: 200, description: 'OK: the service is ready.', definition: 'Health' }, errors: [503],
  }],
  getOpenApi: [{
    path: '/openapi.json', method: 'get', operationId: 'GetOpenApi', tag: 'Service', visibility: 'internal', anonymous: true,
    summary: 'Get the OpenAPI document', description: 'Gets this document, with the host the request used. Needs no token.',
    success: { status: 200, description: 'OK: the OpenAPI 2.0 document.', definition: 'OpenApiDocument' }, errors: [],
  }],
};
