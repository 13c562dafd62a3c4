import { permissions } from '../src/auth/permissions';
import { createGroup as createDirectoryGroup } from '../src/directory/directoryService';
import { createGroupSchema } from '../src/directory/schemas';
import { createdResult } from '../src/graph/entityResults';
import { parseBody } from '../src/graph/validation';
import { authenticated } from '../src/http/pipeline';
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
};
