import { signedInUserId } from '../src/auth';
import { parseObjectId } from '../src/directory/directoryService';
import { parseReferenceBody } from '../src/graph/odataReference';
import { addMembershipHandler } from '../src/membership/membershipEndpoint';
import { allErrors, createdGroup, referenceBody } from '../src/openapi/operations';
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
  openApi: [
    {
      path: '/v1.0/me/joinedGroups/{groupId}/memberOf/$ref',
      method: 'post',
      operationId: 'AddMyJoinedGroupMemberOf',
      tag: 'Membership',
      visibility: 'important',
      summary: 'Add one of my groups to another group',
      description: 'Makes a group that the signed-in user is a direct member of a direct member of the referenced group. Needs a delegated (user) connection.',
      body: referenceBody('Parent Group Reference', 'The group that your group joins: its id, or its @odata.id URL.'),
      success: createdGroup,
      errors: allErrors,
      idempotent: true,
    },
  ],
};
