import { permissions } from '../src/auth/permissions';
import { answerGroupsDelta } from '../src/changes/delta';
import { authenticated } from '../src/http/pipeline';
import { allErrors, pageOf } from '../src/openapi/operations';
import { getRepositories } from '../src/store/repositories';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/**
 * The segment after /groups that names the delta function here. The qualified and parenthesised
 * forms (`microsoft.graph.delta`, `delta()`) reach getGroup, which answers them with the same
 * call (functions/getObject.ts): one documented path for the connector, every form served.
 */
export const deltaSegments = 'delta';

/** GET /groups/delta (SPEC 9): changed groups and members since a token (src/changes/delta.ts). */
export const getGroupsDelta: HttpFunctionDefinition = {
  name: 'getGroupsDelta',
  route: graphRoute(`groups/{delta:regex(^(${deltaSegments})$)}`),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    readsQueryOptions: true,
    permission: permissions.readGroups,
    handle: async (request) => answerGroupsDelta(request, await getRepositories()),
  }),
  openApi: [
    {
      path: '/v1.0/groups/delta',
      method: 'get',
      operationId: 'GetGroupsDelta',
      tag: 'Directory',
      summary: 'Track changes to groups',
      description:
        "Groups and their members that changed since the deltaLink's token: the first call (no token) is the full state, paged with @odata.nextLink, ending in an @odata.deltaLink. $deltatoken=latest starts from now; $filter=id eq '…' (or'ed, up to 50) and $select (members included) narrow it.",
      success: pageOf('changed groups, each with its members@delta'),
      errors: allErrors,
    },
  ],
};
