import { signedInUserId } from '../src/auth';
import { parseObjectId } from '../src/directory/directoryService';
import { parseReferenceBody } from '../src/graph/odataReference';
import { addMembershipHandler } from '../src/membership/membershipEndpoint';
import { graphRoute, optionalRef, type HttpFunctionDefinition } from './httpFunction';

/**
 * S3 — POST /me/joinedGroups/{groupId}/memberOf/$ref: a group the caller is a direct member of
 * joins the referenced group. 201.
 */
export const addMyJoinedGroupMemberOf: HttpFunctionDefinition = {
  name: 'addMyJoinedGroupMemberOf',
  route: graphRoute(`me/joinedGroups/{groupId}/memberOf/${optionalRef}`),
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: addMembershipHandler({
    answer: 'createdGroup',
    target: ({ request, body, baseUrl, caller }) => {
      signedInUserId(caller);
      const groupId = parseObjectId(request.params.groupId ?? '');
      return {
        group: { ...parseReferenceBody(body, baseUrl), expectedType: 'group' },
        member: { id: groupId, expectedType: 'group' },
        callerMustBeMemberOf: groupId,
      };
    },
  }),
};
