import { permissions } from '../src/auth/permissions';
import { createGroup as createDirectoryGroup } from '../src/directory/directoryService';
import { createGroupSchema } from '../src/directory/schemas';
import { createdResult } from '../src/graph/entityResults';
import { parseBody } from '../src/graph/validation';
import { authenticated } from '../src/http/pipeline';
import { allErrors } from '../src/openapi/operations';
import { getRepositories } from '../src/store/repositories';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/** POST /groups: creates a group, with owners@odata.bind and members@odata.bind. 201 + group. */
export const createGroup: HttpFunctionDefinition = {
  name: 'createGroup',
  route: graphRoute('groups'),
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: authenticated({
    acceptsBody: true,
    permission: permissions.createGroups,
    handle: async (request) => {
      const input = parseBody(createGroupSchema, request.body, 'Group');
      const { directory, memberships } = await getRepositories();
      return createdResult(request, await createDirectoryGroup(directory, memberships, request.caller, input, request.baseUrl));
    },
  }),
  openApi: [
    {
      path: '/v1.0/groups',
      method: 'post',
      operationId: 'CreateGroup',
      tag: 'Directory',
      summary: 'Create a group',
      description:
        'Creates a security or Microsoft 365 group, optionally with owners and members. A delegated caller becomes an owner. Only an application with Directory.ReadWrite.All may give an id; a role-assignable group needs Global or Privileged Role Administrator.',
      body: { definition: 'NewGroup', summary: 'Group', description: 'The group to create.' },
      success: { status: 201, description: 'Created: the new group, with a Location header.', definition: 'Group', location: true },
      errors: allErrors,
    },
  ],
};
