import { signedInUserId } from '../src/auth';
import { permissions } from '../src/auth/permissions';
import { answerIfObjectExists, parseObjectId, resolveUserId } from '../src/directory/directoryService';
import { authenticated } from '../src/http/pipeline';
import { answerMemberAction, readMemberAction, type MemberAction } from '../src/membership/transitiveEndpoint';
import { allErrors, noLookupErrors, type ErrorStatus, type OperationMetadata } from '../src/openapi/operations';
import { getRepositories } from '../src/store/repositories';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/** The four actions, literals only (DESIGN.md: no route of a method may capture another's requests). */
const action = '{action:regex(^(checkMemberGroups|checkMemberObjects|getMemberGroups|getMemberObjects)$)}';
const actionOf = (value: string | undefined) => (value ?? '').toLowerCase() as MemberAction;

const memberGroupsOptions = { definition: 'MemberGroupsOptions', summary: 'Options', description: 'securityEnabledOnly: only security groups.' } as const;

/** What the OpenAPI document says of each action; `whoIs` is "the group is", "the user is" or "I am". */
const actionDocuments = [
  {
    name: 'checkMemberGroups',
    lead: 'Check which groups',
    description: (whoIs: string) => `Of up to 20 group IDs, returns those ${whoIs} in, directly or through nesting.`,
    body: { definition: 'MemberGroupIds', summary: 'Group IDs', description: 'Up to 20 group IDs to check.' },
  },
  {
    name: 'checkMemberObjects',
    lead: 'Check which objects',
    description: (whoIs: string) => `Of up to 20 object IDs, returns those ${whoIs} a member of, directly or through nesting.`,
    body: { definition: 'MemberObjectIds', summary: 'Object IDs', description: 'Up to 20 object IDs to check.' },
  },
  {
    name: 'getMemberGroups',
    lead: 'Get every group',
    description: (whoIs: string) => `Returns the IDs of every group ${whoIs} in, directly or through nesting (at most 11,000).`,
    body: memberGroupsOptions,
  },
  {
    name: 'getMemberObjects',
    lead: 'Get every object',
    description: (whoIs: string) => `Returns the IDs of every group ${whoIs} a member of, directly or through nesting (at most 11,000).`,
    body: memberGroupsOptions,
  },
] as const;

/** The four operations of one subject, for the OpenAPI document. */
function operationsOf(prefix: string, idPrefix: string, who: string, errors: readonly ErrorStatus[], whoIs = `${who} is`): OperationMetadata[] {
  const belongs = whoIs === 'I am' ? 'I belong' : `${who} belongs`;
  return actionDocuments.map(({ name, lead, description, body }) => ({
    path: `/v1.0/${prefix}/${name}`,
    method: 'post',
    operationId: `${idPrefix}${name.charAt(0).toUpperCase()}${name.slice(1)}`,
    tag: 'Membership',
    summary: `${lead} ${belongs} to`,
    description: description(whoIs),
    body,
    success: { status: 200, description: 'OK: the ids.', definition: 'IdCollection' },
    errors,
  }));
}

/** POST /groups/{id}/checkMemberGroups | checkMemberObjects | getMemberGroups | getMemberObjects (SPEC 7). */
export const groupMemberActions: HttpFunctionDefinition = {
  name: 'groupMemberActions',
  route: graphRoute(`groups/{groupId}/${action}`),
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: authenticated({
    acceptsBody: true,
    permission: permissions.readGroups,
    handle: async (request) => {
      const input = readMemberAction(request, actionOf(request.request.params.action));
      const { directory, memberships } = await getRepositories();
      const groupId = parseObjectId(request.request.params.groupId ?? '');
      // The check stays one round: the group's 404 is read beside the closure.
      return answerIfObjectExists(
        directory,
        request.caller.tenantId,
        { id: groupId, expectedType: 'group' },
        answerMemberAction(request, directory, memberships, { id: groupId, objectType: 'group' }, input),
      );
    },
  }),
  openApi: operationsOf('groups/{groupId}', 'Group', 'the group', allErrors),
};

/** POST /users/{id or UPN}/checkMemberGroups | … (SPEC 7). */
export const userMemberActions: HttpFunctionDefinition = {
  name: 'userMemberActions',
  route: graphRoute(`users/{userId}/${action}`),
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: authenticated({
    acceptsBody: true,
    permission: permissions.readUsers,
    handle: async (request) => {
      const input = readMemberAction(request, actionOf(request.request.params.action));
      const { directory, memberships } = await getRepositories();
      const userId = await resolveUserId(directory, request.caller.tenantId, request.request.params.userId ?? '');
      return answerIfObjectExists(
        directory,
        request.caller.tenantId,
        { id: userId, expectedType: 'user' },
        answerMemberAction(request, directory, memberships, { id: userId, objectType: 'user' }, input),
      );
    },
  }),
  openApi: operationsOf('users/{userId}', 'User', 'the user', allErrors),
};

/** POST /me/checkMemberGroups | … (SPEC 7). */
export const myMemberActions: HttpFunctionDefinition = {
  name: 'myMemberActions',
  route: graphRoute(`me/${action}`),
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: authenticated({
    acceptsBody: true,
    permission: permissions.readUsers,
    handle: async (request) => {
      const input = readMemberAction(request, actionOf(request.request.params.action));
      const { directory, memberships } = await getRepositories();
      return answerMemberAction(request, directory, memberships, { id: signedInUserId(request.caller), objectType: 'user' }, input);
    },
  }),
  openApi: operationsOf('me', 'My', 'I', noLookupErrors, 'I am'),
};
