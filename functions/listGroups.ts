import { permissions } from '../src/auth/permissions';
import { answerDirectoryList } from '../src/directory/directoryLists';
import { authenticated } from '../src/http/pipeline';
import { noLookupErrors, pageOf } from '../src/openapi/operations';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/**
 * GET /groups: the tenant's groups (HiddenMembership groups too: it hides members,
 * not the group), filtered, searched, sorted and counted (SPEC 6). The `/groups/$count` segment is answered by getGroup's route (functions/getObject.ts), which would otherwise capture it as a group id: two routes must never both match one request.
 */
export const listGroups: HttpFunctionDefinition = {
  name: 'listGroups',
  route: graphRoute('groups'),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    readsQueryOptions: true,
    permission: permissions.readGroups,
    handle: (request) => answerDirectoryList(request, 'group', false),
  }),
  openApi: [
    {
      path: '/v1.0/groups',
      method: 'get',
      operationId: 'ListGroups',
      tag: 'Directory',
      summary: 'List groups',
      description:
        'Lists the tenant\'s groups, a page at a time; $filter (eq, startswith, and, or), $search="displayName:...", $orderby=displayName and $count=true as in Microsoft Graph (the last three need the ConsistencyLevel: eventual header).',
      success: pageOf('groups'),
      errors: noLookupErrors,
      paged: true,
    },
  ],
};
