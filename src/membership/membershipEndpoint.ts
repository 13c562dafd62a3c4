import type { HttpHandler } from '@azure/functions';
import { permissions } from '../auth/permissions';
import type { DirectoryRepository } from '../directory/directoryRepository';
import { createdResult, requestIdentityOf } from '../graph/entityResults';
import type { ObjectReference } from '../graph/odataReference';
import { authenticated, type GraphRequest } from '../http/pipeline';
import { getRepositories } from '../store/repositories';
import { addMembership } from './membershipService';

/** Which edge a documented POST asks for, read from its route and body. */
export interface MembershipTarget {
  readonly group: ObjectReference;
  readonly member: ObjectReference;
  readonly callerMustBeMemberOf?: string;
}

export interface AddMembershipEndpoint {
  /** S1 answers 204 with no body; S2 to S5 answer 201 with the group joined. */
  readonly answer: 'noContent' | 'createdGroup';
  readonly target: (request: GraphRequest, directory: DirectoryRepository) => Promise<MembershipTarget> | MembershipTarget;
}

/** The handler every documented POST shares: parse the target, add the edge, answer. */
export function addMembershipHandler(endpoint: AddMembershipEndpoint): HttpHandler {
  return authenticated({
    acceptsBody: true,
    permission: permissions.writeMembership,
    handle: async (request) => {
      const { directory, memberships } = await getRepositories();
      const target = await endpoint.target(request, directory);
      const { group } = await addMembership(directory, memberships, { caller: request.caller, ...target, request: requestIdentityOf(request) });
      return endpoint.answer === 'noContent' ? { status: 204 } : createdResult(request, group);
    },
  });
}
