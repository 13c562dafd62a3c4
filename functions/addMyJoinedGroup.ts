import { signedInUserId } from '../src/auth';
import { parseReferenceBody } from '../src/graph/odataReference';
import { addMembershipHandler } from '../src/membership/membershipEndpoint';
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
};
