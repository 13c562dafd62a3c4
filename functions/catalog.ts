import { addMember } from './addMember';
import { addOwner } from './addOwner';
import { addMemberOf } from './addMemberOf';
import { addMyJoinedGroup } from './addMyJoinedGroup';
import { addMyJoinedGroupMemberOf } from './addMyJoinedGroupMemberOf';
import { addUserJoinedGroup } from './addUserJoinedGroup';
import { batch } from './batch';
import { createGroup } from './createGroup';
import { createUser } from './createUser';
import { deleteGroup } from './deleteGroup';
import { deleteUser } from './deleteUser';
import { getDirectoryObject } from './getDirectoryObject';
import { getDirectoryObjectsByIds } from './getDirectoryObjectsByIds';
import { getGroup, getMe, getUser } from './getObject';
import { getGroupsDelta } from './getGroupsDelta';
import { getHealth } from './getHealth';
import { getOpenApi } from './getOpenApi';
import type { HttpFunctionDefinition } from './httpFunction';
import { listGroups } from './listGroups';
import { listGroupTransitive, listMyTransitive, listUserTransitive } from './listTransitive';
import { groupMemberActions, myMemberActions, userMemberActions } from './memberActions';
import { listGroupRelations, listMyRelations, listUserRelations } from './listRelations';
import { listUsers } from './listUsers';
import { createNotFound } from './notFound';
import { removeMember } from './removeMember';
import { removeOwner } from './removeOwner';
import { subscriptionFunctions } from './subscriptions';
import { updateGroup } from './updateGroup';
import { updateUser } from './updateUser';

/**
 * Every HTTP-triggered function. The order here does not matter and must not: the host tries
 * routes in the order of their functions' names (OrdinalIgnoreCase), not in registration order,
 * with no specificity rule (src/http/routeTemplate.ts, inHostOrder, cites the host's code and
 * azure-functions-host#9876, azure-functions-nodejs-library#300). So no two routes of one method
 * may both match a request, the catch-alls included (functions/notFound.ts gives each a regex that
 * refuses every path its methods serve). test/http/routes.test.ts checks it: every function's
 * sample requests against the whole catalogue in the host's order, in reverse, and with the
 * catch-alls renamed to sort first.
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
  getGroupsDelta,
  getMe,
  getDirectoryObject,
  getDirectoryObjectsByIds,
  listUsers,
  listGroups,
  listGroupRelations,
  listUserRelations,
  listMyRelations,
  removeMember,
  // Transitive membership (SPEC 7).
  listGroupTransitive,
  listUserTransitive,
  listMyTransitive,
  groupMemberActions,
  userMemberActions,
  myMemberActions,
  // The lifecycle (SPEC 6).
  updateUser,
  updateGroup,
  deleteUser,
  deleteGroup,
  addOwner,
  removeOwner,
  getOpenApi,
  getHealth,
  batch,
  // Change notifications (SPEC 9): functions/subscriptions.ts.
  ...subscriptionFunctions,
];

export const httpFunctions: readonly HttpFunctionDefinition[] = [...routed, ...createNotFound(routed)];
