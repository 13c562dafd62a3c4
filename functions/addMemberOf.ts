import { parseObjectId } from '../src/directory/directoryService';
import { parseReferenceBody } from '../src/graph/odataReference';
import { addMembershipHandler } from '../src/membership/membershipEndpoint';
import { graphRoute, optionalRef, type HttpFunctionDefinition } from './httpFunction';

/** S2 — POST /groups/{groupId}/memberOf/$ref: the group joins the referenced group. 201. */
export const addMemberOf: HttpFunctionDefinition = {
  name: 'addMemberOf',
  route: graphRoute(`groups/{groupId}/memberOf/${optionalRef}`),
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: addMembershipHandler({
    answer: 'createdGroup',
    target: ({ request, body, baseUrl }) => ({
      group: { ...parseReferenceBody(body, baseUrl), expectedType: 'group' },
      member: { id: parseObjectId(request.params.groupId ?? ''), expectedType: 'group' },
    }),
  }),
};
