import { signedInUserId } from '../src/auth';
import { permissions } from '../src/auth/permissions';
import { answerDirectoryList } from '../src/directory/directoryLists';
import { getObjectOrNotFound, parseObjectId, resolveUserId } from '../src/directory/directoryService';
import { entityResult } from '../src/graph/entityResults';
import { readGroupOptions } from '../src/graph/groupExpand';
import { readObjectOptions } from '../src/graph/listing';
import { authenticated } from '../src/http/pipeline';
import { expandedGroupResult } from '../src/membership/groupExpand';
import { allErrors } from '../src/openapi/operations';
import { getRepositories } from '../src/store/repositories';
import { answerGroupsDelta, isDeltaSegment } from '../src/changes/delta';
import { deltaSegments } from './getGroupsDelta';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/** GET /users/{id or userPrincipalName}. */
export const getUser: HttpFunctionDefinition = {
  name: 'getUser',
  route: graphRoute('users/{userId}'),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    readsQueryOptions: true,
    permission: permissions.readUsers,
    handle: async (request) => {
      // GET /users/$count (SPEC 6): served here, as this route would capture it anyway (listUsers.ts).
      if (request.request.params.userId?.toLowerCase() === '$count') return answerDirectoryList(request, 'user', true);
      const { select } = readObjectOptions(request);
      const { directory } = await getRepositories();
      const id = await resolveUserId(directory, request.caller.tenantId, request.request.params.userId ?? '');
      return entityResult(request, await getObjectOrNotFound(directory, request.caller.tenantId, { id, expectedType: 'user' }), select);
    },
  }),
  openApi: [
    {
      path: '/v1.0/users/{userId}',
      method: 'get',
      operationId: 'GetUser',
      tag: 'Directory',
      summary: 'Get a user',
      description: 'Gets a user by object ID or user principal name.',
      success: { status: 200, description: 'OK: the user.', definition: 'User' },
      errors: allErrors,
    },
  ],
};

/** GET /groups/{id}. */
export const getGroup: HttpFunctionDefinition = {
  name: 'getGroup',
  // Every segment but the ones getGroupsDelta serves (functions/getGroupsDelta.ts), so that
  // neither can take the other's requests, whichever the host tries first.
  route: graphRoute(`groups/{groupId:regex(^(?!(${deltaSegments})$))}`),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    readsQueryOptions: true,
    permission: permissions.readGroups,
    handle: async (request) => {
      // GET /groups/$count (SPEC 6): served here, as this route would capture it anyway (listGroups.ts).
      if (request.request.params.groupId?.toLowerCase() === '$count') return answerDirectoryList(request, 'group', true);
      // GET /groups/delta() (the parentheses form, which a route's literal list cannot name): delta.
      if (isDeltaSegment(request.request.params.groupId ?? '')) return answerGroupsDelta(request, await getRepositories());
      const { select, expand } = readGroupOptions(request);
      const { directory, memberships } = await getRepositories();
      const id = parseObjectId(request.request.params.groupId ?? '');
      const group = await getObjectOrNotFound(directory, request.caller.tenantId, { id, expectedType: 'group' });
      return expand === undefined ? entityResult(request, group, select) : expandedGroupResult(request, memberships, request.caller, group, select, expand);
    },
  }),
  openApi: [
    {
      path: '/v1.0/groups/{groupId}',
      method: 'get',
      operationId: 'GetGroup',
      tag: 'Directory',
      summary: 'Get a group',
      description: 'Gets a group by object ID; $expand=members or $expand=owners adds the first 20 of them.',
      success: { status: 200, description: 'OK: the group.', definition: 'Group' },
      errors: allErrors,
      expandable: true,
    },
  ],
};

/** GET /me: the signed-in user. */
export const getMe: HttpFunctionDefinition = {
  name: 'getMe',
  route: graphRoute('me'),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    readsQueryOptions: true,
    permission: permissions.readUsers,
    handle: async (request) => {
      const { select } = readObjectOptions(request);
      const { directory } = await getRepositories();
      const id = signedInUserId(request.caller);
      return entityResult(request, await getObjectOrNotFound(directory, request.caller.tenantId, { id, expectedType: 'user' }), select);
    },
  }),
  openApi: [
    {
      path: '/v1.0/me',
      method: 'get',
      operationId: 'GetMe',
      tag: 'Directory',
      summary: 'Get the signed in user',
      description: 'Gets the user the connection signed in as. Needs a delegated (user) connection.',
      success: { status: 200, description: 'OK: the signed-in user.', definition: 'User' },
      errors: allErrors,
    },
  ],
};
