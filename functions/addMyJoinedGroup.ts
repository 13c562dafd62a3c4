import { signedInUserId } from '../src/auth';
import { parseReferenceBody } from '../src/graph/odataReference';
import { addMembershipHandler } from '../src/membership/membershipEndpoint';
import { allErrors, createdGroup, groupReferenceBody } from '../src/openapi/operations';
import { graphRoute, optionalRef, type HttpFunctionDefinition } from './httpFunction';

/** S4 — POST /me/joinedGroups/$ref: the signed-in user joins the referenced group. 201. */
export const addMyJoinedGroup: HttpFunctionDefinition = {
  name: 'addMyJoinedGroup',
  route: graphRoute(`me/joinedGroups/${optionalRef}`),
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: addMembershipHandler({
    answer: 'createdGroup',
    target: ({ body, baseUrl, caller }) => ({
      member: { id: signedInUserId(caller), expectedType: 'user' },
      group: { ...parseReferenceBody(body, baseUrl), expectedType: 'group' },
    }),
  }),
  openApi: [
    {
      path: '/v1.0/me/joinedGroups/$ref',
      method: 'post',
      operationId: 'AddMyJoinedGroup',
      tag: 'Membership',
      visibility: 'important',
      summary: 'Join a group',
      description: 'Makes the signed-in user a direct member of the referenced group. Anyone may join a public Microsoft 365 group; other groups need an owner or a group administrator.',
      body: groupReferenceBody,
      success: createdGroup,
      errors: allErrors,
      idempotent: true,
    },
  ],
};
