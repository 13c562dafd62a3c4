import { resolveUserId } from '../src/directory/directoryService';
import { parseReferenceBody } from '../src/graph/odataReference';
import { addMembershipHandler } from '../src/membership/membershipEndpoint';
import { allErrors, createdGroup, groupReferenceBody } from '../src/openapi/operations';
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
  openApi: [
    {
      path: '/v1.0/users/{userId}/joinedGroups/$ref',
      method: 'post',
      operationId: 'AddUserJoinedGroup',
      tag: 'Membership',
      visibility: 'important',
      summary: 'Add a user to a group',
      description: 'Makes the user, named by object ID or user principal name, a direct member of the referenced group.',
      body: groupReferenceBody,
      success: createdGroup,
      errors: allErrors,
      idempotent: true,
    },
  ],
};
