import { permissions } from '../src/auth/permissions';
import { parseObjectId } from '../src/directory/directoryService';
import { removeOwner as removeGroupOwner } from '../src/directory/groupOwners';
import { getLifecycleStore } from '../src/directory/lifecycleStore';
import { authenticated } from '../src/http/pipeline';
import { allErrors } from '../src/openapi/operations';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/** DELETE /groups/{groupId}/owners/{ownerId}/$ref: 204; 404 if not an owner; 400 for the last owner. */
export const removeOwner: HttpFunctionDefinition = {
  name: 'removeOwner',
  route: graphRoute('groups/{groupId}/owners/{ownerId}/$ref'),
  methods: ['DELETE'],
  authLevel: 'anonymous',
  handler: authenticated({
    permission: permissions.writeGroups,
    handle: async (request) => {
      const groupId = parseObjectId(request.request.params.groupId ?? '');
      const ownerId = parseObjectId(request.request.params.ownerId ?? '');
      await removeGroupOwner(await getLifecycleStore(), request.caller, groupId, ownerId);
      return { status: 204 };
    },
  }),
  openApi: [
    {
      path: '/v1.0/groups/{groupId}/owners/{ownerId}/$ref',
      method: 'delete',
      operationId: 'RemoveOwner',
      tag: 'Directory',
      summary: 'Remove an owner from a group',
      description: 'Removes an owner from the group. A user that is not an owner is a 404; the last owner cannot be removed.',
      success: { status: 204, description: 'No content: the user is no longer an owner.' },
      errors: allErrors,
    },
  ],
};
