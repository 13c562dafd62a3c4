import { parseObjectId } from '../src/directory/directoryService';
import { parseReferenceBody } from '../src/graph/odataReference';
import { addMembershipHandler } from '../src/membership/membershipEndpoint';
import { allErrors, referenceBody } from '../src/openapi/operations';
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
  openApi: [
    {
      path: '/v1.0/groups/{groupId}/members/$ref',
      method: 'post',
      operationId: 'AddMember',
      tag: 'Membership',
      visibility: 'important',
      summary: 'Add a member to a group',
      description: 'Makes the referenced user or group a direct member of the group. Security groups hold users and groups; Microsoft 365 groups hold users only.',
      body: referenceBody('Member Reference', 'The user or group to add: its id, or its @odata.id URL.'),
      success: { status: 204, description: 'No content: the object is now a member.' },
      errors: allErrors,
      idempotent: true,
    },
  ],
};
