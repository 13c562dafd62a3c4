import { parseObjectId } from '../src/directory/directoryService';
import { parseReferenceBody } from '../src/graph/odataReference';
import { addMembershipHandler } from '../src/membership/membershipEndpoint';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/** S1 — POST /groups/{groupId}/members/$ref: the referenced object joins the group. 204. */
export const addMember: HttpFunctionDefinition = {
  name: 'addMember',
  route: graphRoute('groups/{groupId}/members/$ref'),
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: addMembershipHandler({
    answer: 'noContent',
    target: ({ request, body, baseUrl }) => ({
      group: { id: parseObjectId(request.params.groupId ?? '') },
      member: parseReferenceBody(body, baseUrl),
    }),
  }),
};
