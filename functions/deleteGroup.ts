import { permissions } from '../src/auth/permissions';
import { deleteGroup as deleteDirectoryGroup } from '../src/directory/directoryLifecycle';
import { parseObjectId } from '../src/directory/directoryService';
import { getLifecycleStore } from '../src/directory/lifecycleStore';
import { authenticated } from '../src/http/pipeline';
import { allErrors } from '../src/openapi/operations';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/** DELETE /groups/{id}: the group, its members' and owners' edges, and its own memberships. 204; 404 when absent. */
export const deleteGroup: HttpFunctionDefinition = {
  name: 'deleteGroup',
  route: graphRoute('groups/{groupId}'),
  methods: ['DELETE'],
  authLevel: 'anonymous',
  handler: authenticated({
    permission: permissions.writeGroups,
    handle: async (request) => {
      const groupId = parseObjectId(request.request.params.groupId ?? '');
      await deleteDirectoryGroup(await getLifecycleStore(), request.caller, groupId);
      return { status: 204 };
    },
  }),
  openApi: [
    {
      path: '/v1.0/groups/{groupId}',
      method: 'delete',
      operationId: 'DeleteGroup',
      tag: 'Directory',
      summary: 'Delete a group',
      description: 'Deletes a group with its memberships in both directions and its owners. Only owners and group administrators may delete a group.',
      success: { status: 204, description: 'No content: the group is deleted.' },
      errors: allErrors,
    },
  ],
};
