import { resolveUserId } from '../src/directory/directoryService';
import { parseReferenceBody } from '../src/graph/odataReference';
import { addMembershipHandler } from '../src/membership/membershipEndpoint';
import { graphRoute, optionalRef, type HttpFunctionDefinition } from './httpFunction';

/** S5 — POST /users/{userId}/joinedGroups/$ref: the user (id or UPN) joins the referenced group. 201. */
export const addUserJoinedGroup: HttpFunctionDefinition = {
  name: 'addUserJoinedGroup',
  route: graphRoute(`users/{userId}/joinedGroups/${optionalRef}`),
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: addMembershipHandler({
    answer: 'createdGroup',
    target: async ({ request, body, baseUrl, caller }, directory) => {
      const group = { ...parseReferenceBody(body, baseUrl), expectedType: 'group' as const };
      return { group, member: { id: await resolveUserId(directory, caller.tenantId, request.params.userId ?? ''), expectedType: 'user' } };
    },
  }),
};
