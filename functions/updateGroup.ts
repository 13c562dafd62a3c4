import { permissions } from '../src/auth/permissions';
import { updateGroup as updateDirectoryGroup } from '../src/directory/directoryLifecycle';
import { parseObjectId } from '../src/directory/directoryService';
import { getLifecycleStore } from '../src/directory/lifecycleStore';
import { parseGroupUpdate } from '../src/directory/updateSchemas';
import { authenticated } from '../src/http/pipeline';
import { allErrors } from '../src/openapi/operations';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/** PATCH /groups/{id}: changes writable properties, binds members and owners (all or nothing). 204. */
export const updateGroup: HttpFunctionDefinition = {
  name: 'updateGroup',
  route: graphRoute('groups/{groupId}'),
  methods: ['PATCH'],
  authLevel: 'anonymous',
  handler: authenticated({
    acceptsBody: true,
    permission: permissions.writeGroups,
    handle: async (request) => {
      const groupId = parseObjectId(request.request.params.groupId ?? '');
      const input = parseGroupUpdate(request.body);
      await updateDirectoryGroup(await getLifecycleStore(), request.caller, groupId, input, request.baseUrl);
      return { status: 204 };
    },
  }),
  openApi: [
    {
      path: '/v1.0/groups/{groupId}',
      method: 'patch',
      operationId: 'UpdateGroup',
      tag: 'Directory',
      summary: 'Update a group',
      description:
        'Changes the given properties of a group and adds the members and owners bound with members@odata.bind and owners@odata.bind (20 links at most; one bad or duplicate link adds nothing). Only owners and group administrators may change a group.',
      body: { definition: 'GroupUpdate', summary: 'Group', description: 'The properties to change and the objects to add.' },
      success: { status: 204, description: 'No content: the group is changed.' },
      errors: allErrors,
    },
  ],
};
