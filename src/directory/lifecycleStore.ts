import { graphErrors } from '../http/errors';
import { ownerPartition } from '../membership/edges';
import type { MembershipRepository } from '../membership/membershipRepository';
import { getRepositories, type Repositories } from '../store/repositories';
import { principalNamePartitionKey, type DirectoryObjectDocument } from './directoryObjects';
import { ObjectChangedMeanwhile, type DirectoryRepository } from './directoryRepository';
import { deleteStoredObject, removeEdgesOf, updateStoredObject } from './objectLifecycle';

/**
 * How long a DELETE works on the object's edges before it answers (the Functions host's default
 * timeout on Flex Consumption is 30 minutes, but an HTTP response is due within 230 s, and
 * clients time out sooner; SPEC asks for a DELETE within the 30 s a client waits): the object
 * is invisible and a 404 before the first edge goes, and the reconciler finishes the rest.
 */
export const deleteBudgetInMs = 20_000;

/**
 * Every storage step of the directory lifecycle (PATCH, DELETE, owners; issue 10), for the
 * services (directoryLifecycle.ts, groupOwners.ts, src/membership/bindMemberships.ts). The
 * coherence across instances lives below it (src/directory/objectLifecycle.ts: versioned
 * anchors, pending deletions, resumable cleanups); this class maps its outcomes to answers.
 */
export class LifecycleStore {
  constructor(private readonly repositories: Repositories) {}

  get directory(): DirectoryRepository {
    return this.repositories.directory;
  }

  get memberships(): MembershipRepository {
    return this.repositories.memberships;
  }

  /** The object as the store holds it now, with its `_etag`; undefined when absent. */
  readObject(tenantId: string, objectId: string): Promise<StoredObject | undefined> {
    return this.directory.getObject(tenantId, objectId);
  }

  /**
   * Writes the object's next version and every copy of it (objectLifecycle.ts updateStoredObject):
   * once this returns, every instance's reads, lists and relation pages show `entity`, and no
   * instance can add an edge from the old version. Another change of the object in between is a
   * 429 with Retry-After (nothing of this one written), never a lost update.
   */
  async replaceObject(object: StoredObject, entity: Readonly<Record<string, unknown>>): Promise<DirectoryObjectDocument> {
    try {
      return await updateStoredObject(this.repositories, object, entity);
    } catch (error) {
      if (error instanceof ObjectChangedMeanwhile) throw graphErrors.throttled(1);
      throw error;
    }
  }

  /**
   * Moves a user's principal-name claim (the tenant-wide uniqueness check, directoryRepository
   * createUser): claims `newName` first (400 "Another object with the same value for property
   * userPrincipalName already exists." when taken) and returns the release of the OLD claim, to
   * be called once the user document holds the new name, and a take-back of the NEW claim, for
   * when it does not. A change of case only keeps the one claim (names compare folded).
   */
  async claimPrincipalName(tenantId: string, userId: string, oldName: string, newName: string): Promise<{ releaseOld: () => Promise<void>; takeBack: () => Promise<void> }> {
    const oldKey = principalNamePartitionKey(tenantId, oldName);
    const newKey = principalNamePartitionKey(tenantId, newName);
    const nothing = async () => undefined;
    if (oldKey === newKey) return { releaseOld: nothing, takeBack: nothing };
    await this.directory.claimPrincipalName(tenantId, userId, newName);
    return {
      releaseOld: () => this.directory.releasePrincipalName(tenantId, userId, oldName),
      takeBack: () => this.directory.releasePrincipalName(tenantId, userId, newName),
    };
  }

  /**
   * DELETE (objectLifecycle.ts deleteStoredObject): the object is invisible on every relation
   * page and a 404 on every instance before anything is deleted, unreachable for adds once its
   * anchors go, and its edges are removed within `deleteBudgetInMs`; what is left then, or after a
   * crash, the reconciler finishes. A PATCH that landed between the read and the delete is a 429
   * (the client's retry deletes the version that exists).
   */
  async deleteObject(object: StoredObject): Promise<void> {
    try {
      await deleteStoredObject(this.repositories, object, Date.now() + deleteBudgetInMs);
    } catch (error) {
      if (error instanceof ObjectChangedMeanwhile) throw graphErrors.throttled(1);
      throw error;
    }
  }

  /** Removes every edge naming the object, both directions and owners (idempotent). */
  deleteEdgesOf(tenantId: string, objectId: string, isGroup: boolean): Promise<void> {
    return removeEdgesOf(this.memberships, tenantId, objectId, isGroup);
  }

  /** Creates an owner edge; false when it exists already (the create's 409, atomic). */
  createOwner(group: DirectoryObjectDocument, owner: DirectoryObjectDocument): Promise<boolean> {
    return this.memberships.createOwner(group, owner);
  }

  /** Deletes an owner edge while the owner `witnessId` stays (MembershipRepository.removeOwner). */
  deleteOwner(tenantId: string, groupId: string, ownerId: string, witnessId: string): Promise<'removed' | 'notOwner' | 'witnessGone'> {
    return this.memberships.removeOwner(tenantId, groupId, ownerId, witnessId);
  }

  /** Whether `objectId` is a direct member (group side, the truth) or an owner, read from the store. */
  async edgeExists(tenantId: string, groupId: string, objectId: string, kind: 'member' | 'owner'): Promise<boolean> {
    if (kind === 'owner') return this.memberships.isOwner(tenantId, groupId, objectId);
    return (await this.memberships.getMembership(tenantId, groupId, objectId)) !== undefined;
  }

  /** The ids of a group's owners (one single-partition query per 1,000). */
  async ownerIds(tenantId: string, groupId: string): Promise<string[]> {
    const ids: string[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.memberships.pageOfEdges(ownerPartition(tenantId, groupId), 'owner', continuationToken);
      ids.push(...page.edges.map((edge) => edge.id));
      continuationToken = page.continuationToken;
    } while (continuationToken !== undefined);
    return ids;
  }
}

/** An object document as read back: with Cosmos DB's etag. */
export type StoredObject = DirectoryObjectDocument & { readonly _etag?: string };

let lifecycleStore: Promise<LifecycleStore> | undefined;

/** The process's one LifecycleStore, over the same containers and repositories as every route. */
export function getLifecycleStore(): Promise<LifecycleStore> {
  lifecycleStore ??= getRepositories().then(
    (repositories) => new LifecycleStore(repositories),
    (error: unknown) => {
      lifecycleStore = undefined;
      throw error;
    },
  );
  return lifecycleStore;
}
