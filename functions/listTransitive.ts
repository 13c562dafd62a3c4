import { signedInUserId } from '../src/auth';
import { permissions } from '../src/auth/permissions';
import { answerIfObjectExists, getObjectOrNotFound, parseObjectId, resolveUserId } from '../src/directory/directoryService';
import { authenticated } from '../src/http/pipeline';
import { answerTransitiveMemberOf, answerTransitiveMembers, readTransitiveQuery } from '../src/membership/transitiveEndpoint';
import { allErrors, noLookupErrors, pageOf } from '../src/openapi/operations';
import { getRepositories } from '../src/store/repositories';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/** A cast or `$count`, then `$count` after a cast, as on direct relations (functions/listRelations.ts): literals only. */
const cast = '{cast:regex(^(microsoft\\.graph\\.user|microsoft\\.graph\\.group|graph\\.user|graph\\.group|\\$count)$)?}/{count:regex(^\\$count$)?}';

/** GET /groups/{id}/transitiveMembers | transitiveMemberOf (SPEC 7), optionally cast. */
export const listGroupTransitive: HttpFunctionDefinition = {
  name: 'listGroupTransitive',
  route: graphRoute(`groups/{groupId}/{relation:regex(^(transitiveMembers|transitiveMemberOf)$)}/${cast}`),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    readsQueryOptions: true,
    permission: permissions.readGroups,
    handle: async (request) => {
      readTransitiveQuery(request);
      const { directory, memberships } = await getRepositories();
      const groupId = parseObjectId(request.request.params.groupId ?? '');
      const reference = { id: groupId, expectedType: 'group' } as const;
      if (request.request.params.relation?.toLowerCase() === 'transitivemembers') {
        return answerTransitiveMembers(request, memberships, await getObjectOrNotFound(directory, request.caller.tenantId, reference));
      }
      return answerIfObjectExists(directory, request.caller.tenantId, reference, answerTransitiveMemberOf(request, directory, memberships, { id: groupId, objectType: 'group' }));
    },
  }),
  openApi: [
    {
      path: '/v1.0/groups/{groupId}/transitiveMembers',
      method: 'get',
      operationId: 'ListGroupTransitiveMembers',
      tag: 'Membership',
      summary: 'List group members through nesting',
      description: 'Lists every user and group in the group, directly or through nested groups, each once, a page at a time.',
      success: pageOf('members'),
      errors: allErrors,
      paged: true,
    },
    {
      path: '/v1.0/groups/{groupId}/transitiveMemberOf',
      method: 'get',
      operationId: 'ListGroupTransitiveMemberOf',
      tag: 'Membership',
      summary: 'List the groups a group belongs to through nesting',
      description: 'Lists every group the group is in, directly or through nesting, each once, a page at a time.',
      success: pageOf('groups'),
      errors: allErrors,
      paged: true,
    },
  ],
};

/** GET /users/{id or UPN}/transitiveMemberOf (SPEC 7), optionally cast. */
export const listUserTransitive: HttpFunctionDefinition = {
  name: 'listUserTransitive',
  route: graphRoute(`users/{userId}/{relation:regex(^transitiveMemberOf$)}/${cast}`),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    readsQueryOptions: true,
    permission: permissions.readUsers,
    handle: async (request) => {
      readTransitiveQuery(request);
      const { directory, memberships } = await getRepositories();
      const tenantId = request.caller.tenantId;
      const userId = await resolveUserId(directory, tenantId, request.request.params.userId ?? '');
      return answerIfObjectExists(directory, tenantId, { id: userId, expectedType: 'user' }, answerTransitiveMemberOf(request, directory, memberships, { id: userId, objectType: 'user' }));
    },
  }),
  openApi: [
    {
      path: '/v1.0/users/{userId}/transitiveMemberOf',
      method: 'get',
      operationId: 'ListUserTransitiveMemberOf',
      tag: 'Membership',
      summary: 'List the groups a user belongs to through nesting',
      description: 'Lists every group the user is in, directly or through nested groups, each once, a page at a time.',
      success: pageOf('groups'),
      errors: allErrors,
      paged: true,
    },
  ],
};

/** GET /me/transitiveMemberOf (SPEC 7), optionally cast. */
export const listMyTransitive: HttpFunctionDefinition = {
  name: 'listMyTransitive',
  route: graphRoute(`me/{relation:regex(^transitiveMemberOf$)}/${cast}`),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    readsQueryOptions: true,
    permission: permissions.readUsers,
    handle: async (request) => {
      readTransitiveQuery(request);
      const { directory, memberships } = await getRepositories();
      return answerTransitiveMemberOf(request, directory, memberships, { id: signedInUserId(request.caller), objectType: 'user' });
    },
  }),
  openApi: [
    {
      path: '/v1.0/me/transitiveMemberOf',
      method: 'get',
      operationId: 'ListMyTransitiveMemberOf',
      tag: 'Membership',
      summary: 'List the groups I belong to through nesting',
      description: 'Lists every group the signed-in user is in, directly or through nested groups, each once, a page at a time. Needs a delegated (user) connection.',
      success: pageOf('groups'),
      errors: noLookupErrors,
      paged: true,
    },
  ],
};
