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
    (store) => {
      const deletions = new PendingDeletions(store.memberships);
      return { directory: new DirectoryRepository(store.directory, new ObjectAnchors(store.memberships), deletions), memberships: new MembershipRepository(store.memberships, deletions) };
    },
    (error: unknown) => {
      repositories = undefined;
      throw error;
    },
  );
  return repositories;
}
