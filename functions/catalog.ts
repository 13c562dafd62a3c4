import { addMember } from './addMember';
import { addMemberOf } from './addMemberOf';
import { addMyJoinedGroup } from './addMyJoinedGroup';
import { addMyJoinedGroupMemberOf } from './addMyJoinedGroupMemberOf';
import { addUserJoinedGroup } from './addUserJoinedGroup';
import { createGroup } from './createGroup';
import { createUser } from './createUser';
import { getGroup, getMe, getUser } from './getObject';
import { getHealth } from './getHealth';
import { getOpenApi } from './getOpenApi';
import type { HttpFunctionDefinition } from './httpFunction';
import { listGroupRelations, listMyRelations, listUserRelations } from './listRelations';
import { createNotFound } from './notFound';
import { removeMember } from './removeMember';

/**
 * Every HTTP-triggered function, in registration order. The real host matches routes in this
 * order, so no two routes of one method may capture each other's requests (see DESIGN.md);
 * test/http/routes.test.ts checks that for every pair.
 */
const routed: readonly HttpFunctionDefinition[] = [
  // The documented POSTs (SPEC S1–S5).
  addMember,
  addMemberOf,
  addMyJoinedGroupMemberOf,
  addMyJoinedGroup,
  addUserJoinedGroup,
  // The directory around them.
  createUser,
  createGroup,
  getUser,
  getGroup,
  getMe,
  listGroupRelations,
  listUserRelations,
  listMyRelations,
  removeMember,
  getOpenApi,
  getHealth,
];

export const httpFunctions: readonly HttpFunctionDefinition[] = [...routed, createNotFound(routed)];
