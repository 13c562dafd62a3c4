import type { Container } from '@azure/cosmos';
import { DirectoryRepository } from '../directory/directoryRepository';
import { PendingDeletions } from '../membership/pendingDeletions';
import { ObjectAnchors } from '../membership/anchors';
import { MembershipRepository } from '../membership/membershipRepository';
import { getCosmosStore } from './cosmosStore';

export interface Repositories {
  readonly directory: DirectoryRepository;
  readonly memberships: MembershipRepository;
}

let repositories: Promise<Repositories> | undefined;

/** The directory and membership repositories over the process's one Cosmos client. */
export function getRepositories(): Promise<Repositories> {
  repositories ??= getCosmosStore().then(
    (store) => repositoriesOver(store),
    (error: unknown) => {
      repositories = undefined;
      throw error;
    },
  );
  return repositories;
}

/** The repositories over a pair of containers (the process's own, or a tool's). */
export function repositoriesOver(containers: { readonly directory: Container; readonly memberships: Container }): Repositories {
  const deletions = new PendingDeletions(containers.memberships);
  return {
    directory: new DirectoryRepository(containers.directory, new ObjectAnchors(containers.memberships), deletions),
    memberships: new MembershipRepository(containers.memberships, deletions),
  };
}
