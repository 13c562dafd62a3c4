import { signedInUserId } from '../src/auth';
import { permissions } from '../src/auth/permissions';
import { getObjectOrNotFound, parseObjectId, resolveUserId } from '../src/directory/directoryService';
import { entityResult } from '../src/graph/entityResults';
import { authenticated } from '../src/http/pipeline';
import { getRepositories } from '../src/store/repositories';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/** GET /users/{id or userPrincipalName}. */
export const getUser: HttpFunctionDefinition = {
  name: 'getUser',
  route: graphRoute('users/{userId}'),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    permission: permissions.readUsers,
    handle: async (request) => {
      const { directory } = await getRepositories();
      const id = await resolveUserId(directory, request.caller.tenantId, request.request.params.userId ?? '');
      return entityResult(request, await getObjectOrNotFound(directory, request.caller.tenantId, { id, expectedType: 'user' }));
    },
  }),
};

/** GET /groups/{id}. */
export const getGroup: HttpFunctionDefinition = {
  name: 'getGroup',
  route: graphRoute('groups/{groupId}'),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    permission: permissions.readGroups,
    handle: async (request) => {
      const { directory } = await getRepositories();
      const id = parseObjectId(request.request.params.groupId ?? '');
      return entityResult(request, await getObjectOrNotFound(directory, request.caller.tenantId, { id, expectedType: 'group' }));
    },
  }),
};

/** GET /me: the signed-in user. */
export const getMe: HttpFunctionDefinition = {
  name: 'getMe',
  route: graphRoute('me'),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    permission: permissions.readUsers,
    handle: async (request) => {
      const { directory } = await getRepositories();
      const id = signedInUserId(request.caller);
      return entityResult(request, await getObjectOrNotFound(directory, request.caller.tenantId, { id, expectedType: 'user' }));
    },
  }),
};
