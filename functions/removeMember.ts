import { permissions } from '../src/auth/permissions';
import { parseObjectId } from '../src/directory/directoryService';
import { authenticated } from '../src/http/pipeline';
import { removeMembership } from '../src/membership/membershipService';
import { allErrors } from '../src/openapi/operations';
import { getRepositories } from '../src/store/repositories';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/** DELETE /groups/{groupId}/members/{memberId}/$ref: both directions removed. 204; 404 if not a member. */
export const removeMember: HttpFunctionDefinition = {
  name: 'removeMember',
  route: graphRoute('groups/{groupId}/members/{memberId}/$ref'),
  methods: ['DELETE'],
  authLevel: 'anonymous',
  handler: authenticated({
    permission: permissions.writeMembership,
    handle: async (request) => {
      const groupId = parseObjectId(request.request.params.groupId ?? '');
      const memberId = parseObjectId(request.request.params.memberId ?? '');
      const { directory, memberships } = await getRepositories();
      await removeMembership(directory, memberships, request.caller, groupId, memberId);
      return { status: 204 };
    },
  }),
  openApi: [
    {
      path: '/v1.0/groups/{groupId}/members/{memberId}/$ref',
      method: 'delete',
      operationId: 'RemoveMember',
      tag: 'Membership',
      visibility: 'important',
      summary: 'Remove a member from a group',
      description: 'Removes a direct member (a user or a group) from the group. A member that is not there is a 404.',
      success: { status: 204, description: 'No content: the object is no longer a member.' },
      errors: allErrors,
    },
  ],
};
