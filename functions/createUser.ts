import { permissions } from '../src/auth/permissions';
import { createUser as createDirectoryUser } from '../src/directory/directoryService';
import { createUserSchema } from '../src/directory/schemas';
import { createdResult } from '../src/graph/entityResults';
import { parseBody } from '../src/graph/validation';
import { authenticated } from '../src/http/pipeline';
import { noLookupErrors } from '../src/openapi/operations';
import { getRepositories } from '../src/store/repositories';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/** POST /users: creates a user in the caller's tenant. 201 + user. */
export const createUser: HttpFunctionDefinition = {
  name: 'createUser',
  route: graphRoute('users'),
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: authenticated({
    acceptsBody: true,
    permission: permissions.createUsers,
    handle: async (request) => {
      const input = parseBody(createUserSchema, request.body, 'User');
      const { directory } = await getRepositories();
      return createdResult(request, await createDirectoryUser(directory, request.caller, input));
    },
  }),
  openApi: [
    {
      path: '/v1.0/users',
      method: 'post',
      operationId: 'CreateUser',
      tag: 'Directory',
      summary: 'Create a user',
      description: "Creates a user in the caller's tenant. Only an application with Directory.ReadWrite.All may give an id, to mirror an existing Microsoft Entra object ID.",
      body: { definition: 'NewUser', summary: 'User', description: 'The user to create.' },
      success: { status: 201, description: 'Created: the new user, with a Location header.', definition: 'User', location: true },
      errors: noLookupErrors,
    },
  ],
};
