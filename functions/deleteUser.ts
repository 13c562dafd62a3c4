import { permissions } from '../src/auth/permissions';
import { deleteUser as deleteDirectoryUser } from '../src/directory/directoryLifecycle';
import { resolveUserId } from '../src/directory/directoryService';
import { getLifecycleStore } from '../src/directory/lifecycleStore';
import { authenticated } from '../src/http/pipeline';
import { allErrors } from '../src/openapi/operations';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/** DELETE /users/{id or userPrincipalName}: the user and every edge naming it. 204; 404 when absent. */
export const deleteUser: HttpFunctionDefinition = {
  name: 'deleteUser',
  route: graphRoute('users/{userId}'),
  methods: ['DELETE'],
  authLevel: 'anonymous',
  handler: authenticated({
    permission: permissions.writeUsers,
    handle: async (request) => {
      const store = await getLifecycleStore();
      const userId = await resolveUserId(store.directory, request.caller.tenantId, request.request.params.userId ?? '');
      await deleteDirectoryUser(store, request.caller, userId);
      return { status: 204 };
    },
  }),
  openApi: [
    {
      path: '/v1.0/users/{userId}',
      method: 'delete',
      operationId: 'DeleteUser',
      tag: 'Directory',
      summary: 'Delete a user',
      description: 'Deletes a user (by object ID or user principal name), with its group memberships and ownerships.',
      success: { status: 204, description: 'No content: the user is deleted.' },
      errors: allErrors,
    },
  ],
};
