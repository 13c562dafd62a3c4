import { signedInUserId } from '../src/auth';
import { assertMayListMembers, withoutHiddenParents } from '../src/auth/membershipVisibility';
import { permissions } from '../src/auth/permissions';
import { getObjectOrNotFound, parseObjectId, resolveUserId } from '../src/directory/directoryService';
import { pageResult, readListOptions } from '../src/graph/listing';
import { authenticated } from '../src/http/pipeline';
import { getRepositories } from '../src/store/repositories';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/** A type-cast segment only: it must never capture an id (DESIGN.md). */
const cast = '{cast:regex(^microsoft\\.graph\\.(user|group)$)?}';

/** GET /groups/{id}/members | owners | memberOf, optionally cast. */
export const listGroupRelations: HttpFunctionDefinition = {
  name: 'listGroupRelations',
  route: graphRoute(`groups/{groupId}/{relation:regex(^(members|owners|memberOf)$)}/${cast}`),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    permission: permissions.readGroups,
    handle: async (request) => {
      const options = readListOptions(request);
      const { directory, memberships } = await getRepositories();
      const tenantId = request.caller.tenantId;
      const groupId = parseObjectId(request.request.params.groupId ?? '');
      const group = await getObjectOrNotFound(directory, tenantId, { id: groupId, expectedType: 'group' });
      const relation = request.request.params.relation?.toLowerCase();
      let page;
      if (relation === 'members') {
        await assertMayListMembers(memberships, request.caller, group);
        page = await memberships.listMembers(tenantId, groupId, options);
      } else if (relation === 'owners') {
        page = await memberships.listOwners(tenantId, groupId, options);
      } else {
        page = await withoutHiddenParents(memberships, request.caller, groupId, await memberships.listMemberOf(tenantId, groupId, options));
      }
      return pageResult(request, page, options.select);
    },
  }),
};

/** GET /users/{id or UPN}/memberOf | joinedGroups, optionally cast. */
export const listUserRelations: HttpFunctionDefinition = {
  name: 'listUserRelations',
  route: graphRoute(`users/{userId}/{relation:regex(^(memberOf|joinedGroups)$)}/${cast}`),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    permission: permissions.readUsers,
    handle: async (request) => {
      const options = readListOptions(request);
      const { directory, memberships } = await getRepositories();
      const tenantId = request.caller.tenantId;
      const userId = await resolveUserId(directory, tenantId, request.request.params.userId ?? '');
      await getObjectOrNotFound(directory, tenantId, { id: userId, expectedType: 'user' });
      const page = await withoutHiddenParents(memberships, request.caller, userId, await memberships.listMemberOf(tenantId, userId, options));
      return pageResult(request, page, options.select);
    },
  }),
};

/** GET /me/memberOf | joinedGroups, optionally cast. */
export const listMyRelations: HttpFunctionDefinition = {
  name: 'listMyRelations',
  route: graphRoute(`me/{relation:regex(^(memberOf|joinedGroups)$)}/${cast}`),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    permission: permissions.readUsers,
    handle: async (request) => {
      const options = readListOptions(request);
      const { memberships } = await getRepositories();
      const userId = signedInUserId(request.caller);
      // The member itself sees its hidden groups; the call keeps every memberOf read on one rule.
      const page = await withoutHiddenParents(memberships, request.caller, userId, await memberships.listMemberOf(request.caller.tenantId, userId, options));
      return pageResult(request, page, options.select);
    },
  }),
};
