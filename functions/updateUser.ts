import { permissions } from '../src/auth/permissions';
import { updateUser as updateDirectoryUser } from '../src/directory/directoryLifecycle';
import { resolveUserId } from '../src/directory/directoryService';
import { getLifecycleStore } from '../src/directory/lifecycleStore';
import { parseUserUpdate } from '../src/directory/updateSchemas';
import { authenticated } from '../src/http/pipeline';
import { allErrors } from '../src/openapi/operations';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/** PATCH /users/{id or userPrincipalName}: changes writable properties. 204. */
export const updateUser: HttpFunctionDefinition = {
  name: 'updateUser',
  route: graphRoute('users/{userId}'),
  methods: ['PATCH'],
  authLevel: 'anonymous',
  handler: authenticated({
    acceptsBody: true,
    permission: permissions.writeUsers,
    handle: async (request) => {
      const input = parseUserUpdate(request.body);
      const store = await getLifecycleStore();
      const userId = await resolveUserId(store.directory, request.caller.tenantId, request.request.params.userId ?? '');
      await updateDirectoryUser(store, request.caller, userId, input);
      return { status: 204 };
    },
  }),
  openApi: [
    {
      path: '/v1.0/users/{userId}',
      method: 'patch',
      operationId: 'UpdateUser',
      tag: 'Directory',
      summary: 'Update a user',
      description: 'Changes the given properties of a user (by object ID or user principal name). A new user principal name must be free in the tenant. Read-only properties are refused.',
      body: { definition: 'UserUpdate', summary: 'User', description: 'The properties to change.' },
      success: { status: 204, description: 'No content: the user is changed.' },
      errors: allErrors,
    },
  ],
};
