import { permissions } from '../src/auth/permissions';
import { parseObjectId } from '../src/directory/directoryService';
import { addOwner as addGroupOwner } from '../src/directory/groupOwners';
import { getLifecycleStore } from '../src/directory/lifecycleStore';
import { parseReferenceBody } from '../src/graph/odataReference';
import { authenticated } from '../src/http/pipeline';
import { allErrors, referenceBody } from '../src/openapi/operations';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/** POST /groups/{groupId}/owners/$ref: the referenced user becomes an owner. 204. */
export const addOwner: HttpFunctionDefinition = {
  name: 'addOwner',
  route: graphRoute('groups/{groupId}/owners/$ref'),
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: authenticated({
    acceptsBody: true,
    permission: permissions.writeGroups,
    handle: async (request) => {
      const groupId = parseObjectId(request.request.params.groupId ?? '');
      const owner = parseReferenceBody(request.body, request.baseUrl);
      await addGroupOwner(await getLifecycleStore(), request.caller, groupId, owner);
      return { status: 204 };
    },
  }),
  openApi: [
    {
      path: '/v1.0/groups/{groupId}/owners/$ref',
      method: 'post',
      operationId: 'CreateOwner',
      tag: 'Directory',
      summary: 'Add an owner to a group',
      description: 'Makes the referenced user an owner of the group. Only owners and group administrators may change owners.',
      body: referenceBody('Owner Reference', 'The user to add: its id, or its @odata.id URL.'),
      success: { status: 204, description: 'No content: the user is now an owner.' },
      errors: allErrors,
    },
  ],
};
