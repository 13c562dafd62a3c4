import { permissions } from '../src/auth/permissions';
import { answerDirectoryList } from '../src/directory/directoryLists';
import { authenticated } from '../src/http/pipeline';
import { noLookupErrors, pageOf } from '../src/openapi/operations';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/**
 * GET /users: the tenant's users, filtered, searched, sorted and counted (SPEC 6). The
 * `/users/$count` segment is answered by getUser's route (functions/getObject.ts), which would
 * otherwise capture it as a user id: two routes must never both match one request.
 */
export const listUsers: HttpFunctionDefinition = {
  name: 'listUsers',
  route: graphRoute('users'),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    readsQueryOptions: true,
    permission: permissions.readUsers,
    handle: (request) => answerDirectoryList(request, 'user', false),
  }),
  openApi: [
    {
      path: '/v1.0/users',
      method: 'get',
      operationId: 'ListUsers',
      tag: 'Directory',
      summary: 'List users',
      description:
        'Lists the tenant\'s users, a page at a time; $filter (eq, startswith, and, or), $search="displayName:...", $orderby=displayName and $count=true as in Microsoft Graph (the last three need the ConsistencyLevel: eventual header).',
      success: pageOf('users'),
      errors: noLookupErrors,
      paged: true,
    },
  ],
};
