import { parseObjectId } from '../src/directory/directoryService';
import { parseReferenceBody } from '../src/graph/odataReference';
import { addMembershipHandler } from '../src/membership/membershipEndpoint';
import { allErrors, createdGroup, referenceBody } from '../src/openapi/operations';
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
  openApi: [
    {
      path: '/v1.0/groups/{groupId}/memberOf/$ref',
      method: 'post',
      operationId: 'AddMemberOf',
      tag: 'Membership',
      visibility: 'important',
      summary: 'Add a group to another group',
      description: 'Makes the group a direct member of the referenced group (nesting). Cycles, role-assignable and Microsoft 365 targets are refused.',
      body: referenceBody('Parent Group Reference', 'The group that the group joins: its id, or its @odata.id URL.'),
      success: createdGroup,
      errors: allErrors,
      idempotent: true,
    },
  ],
};
