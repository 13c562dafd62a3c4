import { signedInUserId } from '../src/auth';
import { permissions } from '../src/auth/permissions';
import { getObjectOrNotFound, parseObjectId, resolveUserId } from '../src/directory/directoryService';
import { readRelationQuery } from '../src/graph/relationQuery';
import { authenticated } from '../src/http/pipeline';
import { answerRelationList } from '../src/membership/relationLists';
import { allErrors, groupPickerOperationId, noLookupErrors, pageOf } from '../src/openapi/operations';
import { getRepositories } from '../src/store/repositories';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/**
 * A type-cast segment or `$count`, then `$count` after a cast (SPEC 6: `/members/$count`,
 * `/members/microsoft.graph.user/$count`): literals only, so they never capture an id (DESIGN.md).
 * The short forms are what the Kiota-based SDKs send (SPEC section 3). `/$count/$count` matches
 * too and is answered 404 (src/graph/relationQuery.ts).
 */
const cast = '{cast:regex(^(microsoft\\.graph\\.user|microsoft\\.graph\\.group|graph\\.user|graph\\.group|\\$count)$)?}/{count:regex(^\\$count$)?}';

/** GET /groups/{id}/members | owners | memberOf, optionally cast. */
export const listGroupRelations: HttpFunctionDefinition = {
  name: 'listGroupRelations',
  route: graphRoute(`groups/{groupId}/{relation:regex(^(members|owners|memberOf)$)}/${cast}`),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    readsQueryOptions: true,
    permission: permissions.readGroups,
    handle: async (request) => {
      const relation = request.request.params.relation?.toLowerCase();
      // Read (and any bad part refused) before the store is asked.
      const query = readRelationQuery(request, relation === 'memberof' ? 'group' : 'any');
      const { directory, memberships } = await getRepositories();
      const groupId = parseObjectId(request.request.params.groupId ?? '');
      // A page may start from this instance's copy of the group: the pending deletions read beside
      // the page decide whether it still exists (src/membership/relationLists.ts); a count reads it.
      const group = getObjectOrNotFound(directory, request.caller.tenantId, { id: groupId, expectedType: 'group' }, query.countOnly ? 'fresh' : 'remembered');
      return answerRelationList(request, query, memberships, relation === 'members' || relation === 'owners' ? { relation, id: groupId, group } : { relation: 'memberOf', id: groupId, exists: group });
    },
  }),
  openApi: [
    {
      path: '/v1.0/groups/{groupId}/members',
      method: 'get',
      operationId: 'ListGroupMembers',
      tag: 'Membership',
      summary: 'List group members',
      description: 'Lists the direct members of the group, users and groups, a page at a time.',
      success: pageOf('members'),
      errors: allErrors,
      paged: true,
    },
    {
      path: '/v1.0/groups/{groupId}/members/microsoft.graph.user',
      method: 'get',
      operationId: 'ListGroupMemberUsers',
      tag: 'Membership',
      summary: 'List group members that are users',
      description: 'Lists the direct members of the group that are users, a page at a time.',
      success: pageOf('users'),
      errors: allErrors,
      paged: true,
    },
    {
      path: '/v1.0/groups/{groupId}/members/microsoft.graph.group',
      method: 'get',
      operationId: 'ListGroupMemberGroups',
      tag: 'Membership',
      summary: 'List group members that are groups',
      description: 'Lists the groups nested directly in the group, a page at a time.',
      success: pageOf('groups'),
      errors: allErrors,
      paged: true,
    },
    {
      path: '/v1.0/groups/{groupId}/owners',
      method: 'get',
      operationId: 'ListGroupOwners',
      tag: 'Membership',
      summary: 'List group owners',
      description: 'Lists the owners of the group, a page at a time.',
      success: pageOf('owners'),
      errors: allErrors,
      paged: true,
    },
    {
      path: '/v1.0/groups/{groupId}/memberOf',
      method: 'get',
      operationId: 'ListGroupMemberOf',
      tag: 'Membership',
      summary: 'List the groups a group belongs to',
      description: 'Lists the groups that the group is a direct member of, a page at a time.',
      success: pageOf('groups'),
      errors: allErrors,
      paged: true,
    },
  ],
};

/** GET /users/{id or UPN}/memberOf | joinedGroups, optionally cast. */
export const listUserRelations: HttpFunctionDefinition = {
  name: 'listUserRelations',
  route: graphRoute(`users/{userId}/{relation:regex(^(memberOf|joinedGroups)$)}/${cast}`),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    readsQueryOptions: true,
    permission: permissions.readUsers,
    handle: async (request) => {
      const query = readRelationQuery(request, 'group');
      const { directory, memberships } = await getRepositories();
      const tenantId = request.caller.tenantId;
      const userId = await resolveUserId(directory, tenantId, request.request.params.userId ?? '');
      const exists = getObjectOrNotFound(directory, tenantId, { id: userId, expectedType: 'user' }, query.countOnly ? 'fresh' : 'remembered');
      return answerRelationList(request, query, memberships, { relation: 'memberOf', id: userId, exists });
    },
  }),
  openApi: [
    {
      path: '/v1.0/users/{userId}/memberOf',
      method: 'get',
      operationId: 'ListUserMemberOf',
      tag: 'Membership',
      summary: 'List the groups a user belongs to',
      description: 'Lists the groups that the user is a direct member of, a page at a time.',
      success: pageOf('groups'),
      errors: allErrors,
      paged: true,
    },
    {
      path: '/v1.0/users/{userId}/joinedGroups',
      method: 'get',
      operationId: 'ListUserJoinedGroups',
      tag: 'Membership',
      summary: 'List the groups a user joined',
      description: 'Lists the groups that the user is a direct member of (the same list as memberOf), a page at a time.',
      success: pageOf('groups'),
      errors: allErrors,
      paged: true,
    },
  ],
};

/** GET /me/memberOf | joinedGroups, optionally cast. */
export const listMyRelations: HttpFunctionDefinition = {
  name: 'listMyRelations',
  route: graphRoute(`me/{relation:regex(^(memberOf|joinedGroups)$)}/${cast}`),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    readsQueryOptions: true,
    permission: permissions.readUsers,
    handle: async (request) => {
      const query = readRelationQuery(request, 'group');
      const { memberships } = await getRepositories();
      // The member itself sees its hidden groups; the call keeps every memberOf read on one rule.
      return answerRelationList(request, query, memberships, { relation: 'memberOf', id: signedInUserId(request.caller), exists: Promise.resolve() });
    },
  }),
  openApi: [
    {
      path: '/v1.0/me/memberOf',
      method: 'get',
      operationId: 'ListMyMemberOf',
      tag: 'Membership',
      summary: 'List the groups I belong to',
      description: 'Lists the groups that the signed-in user is a direct member of, a page at a time. Needs a delegated (user) connection.',
      success: pageOf('groups'),
      errors: noLookupErrors,
      paged: true,
    },
    {
      // Also the source of every group picker (groupPickerOperationId).
      path: '/v1.0/me/joinedGroups',
      method: 'get',
      operationId: groupPickerOperationId,
      tag: 'Membership',
      summary: 'List the groups I joined',
      description: 'Lists the groups that the signed-in user is a direct member of (the same list as memberOf), a page at a time. Needs a delegated (user) connection.',
      success: pageOf('groups'),
      errors: noLookupErrors,
      paged: true,
    },
  ],
};
