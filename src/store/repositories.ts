import { DirectoryRepository } from '../directory/directoryRepository';
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
    (store) => ({ directory: new DirectoryRepository(store.directory), memberships: new MembershipRepository(store.memberships) }),
    (error: unknown) => {
      repositories = undefined;
      throw error;
    },
  );
  return repositories;
}
