import type { Container } from '@azure/cosmos';
import { GraphError, graphErrors } from '../http/errors';
import { groupSidePartition, memberSidePartition, ownerPartition, type EdgeDocument } from '../membership/edges';
import { edgesOfPartition, ownerEdgesOfOwner } from '../membership/edgeQueries';
import type { MembershipRepository } from '../membership/membershipRepository';
import { getCosmosStore } from '../store/cosmosStore';
import { getRepositories, type Repositories } from '../store/repositories';
import { objectPartitionKey, principalNamePartitionKey, toGraphEntity, type DirectoryObjectDocument, type PrincipalNameClaimDocument } from './directoryObjects';
import { listingPartitionKey, toListingDocument } from './directoryListing';
import type { DirectoryRepository } from './directoryRepository';

/**
 * Every storage step of the directory lifecycle (PATCH, DELETE, owners; issue 10, item 1), and
 * nothing else: the services (directoryLifecycle.ts, ownerService.ts, src/membership/
 * bindMemberships.ts) call the store only through this class, so that the coherent
 * multi-instance implementation (issue 10, items 2 and 3) can replace this file alone.
 *
 * This is the simple first version. What it does NOT guarantee yet, and the replacement must:
 * - other instances keep their positive caches (directoryRepository, membershipRepository) for up
 *   to their time limit, so they may answer a deleted object or an old entity for a while;
 * - deleting runs to the end in this request; a crash midway leaves the object gone and some
 *   edges behind (the reconciler does not look for them), and a group with thousands of edges may
 *   outlast the function's time limit;
 * - an add racing a delete may write an edge to the deleted object after the delete's sweep;
 * - snapshots on edges are rewritten after the object, so a reader may see the old copy briefly.
 */
export class LifecycleStore {
  constructor(
    private readonly directoryContainer: Container,
    private readonly membershipContainer: Container,
    private readonly repositories: Repositories,
  ) {}

  get directory(): DirectoryRepository {
    return this.repositories.directory;
  }

  get memberships(): MembershipRepository {
    return this.repositories.memberships;
  }

  /**
   * The object as the store holds it now, with its `_etag`, bypassing every cache: the version a
   * PATCH or DELETE decides on and then replaces conditionally. Undefined when absent.
   */
  async readObject(tenantId: string, objectId: string): Promise<StoredObject | undefined> {
    const { resource } = await this.directoryContainer.item(objectId, objectPartitionKey(tenantId, objectId)).read<StoredObject>();
    return resource;
  }

  /**
   * Replaces the object's properties only if it is still the version read (`object._etag`), then
   * its listing document (so GET /users and /groups show the new values), then the far-object
   * snapshot on every edge that points at it. Contract: once this returns, every read of this
   * instance (object, lists, relation pages) shows `entity`; a concurrent change in between is a
   * 429 with Retry-After (nothing written), never a lost update.
   */
  async replaceObject(object: StoredObject, entity: Readonly<Record<string, unknown>>): Promise<DirectoryObjectDocument> {
    const { _etag: etag, ...rest } = object;
    const updated: DirectoryObjectDocument = { id: rest.id, pk: rest.pk, tenantId: rest.tenantId, objectType: rest.objectType, entity };
    try {
      await this.directoryContainer.item(object.id, object.pk).replace(updated, etag === undefined ? {} : { accessCondition: { type: 'IfMatch', condition: etag } });
    } catch (error) {
      const status = statusOf(error);
      if (status === 412) throw graphErrors.throttled(1);
      if (status === 404) throw graphErrors.resourceNotFound(object.id);
      throw error;
    }
    this.forget(object.tenantId, object.id);
    await this.directoryContainer.items.upsert(toListingDocument(updated));
    await this.refreshSnapshots(updated);
    return updated;
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
    const claim: PrincipalNameClaimDocument = { id: 'upn', pk: newKey, tenantId, objectId: userId };
    try {
      await this.directoryContainer.items.create(claim);
    } catch (error) {
      if (statusOf(error) === 409) throw new GraphError('Request_BadRequest', 'Another object with the same value for property userPrincipalName already exists.');
      throw error;
    }
    return {
      releaseOld: () => this.deleteIgnoringAbsent(this.directoryContainer, 'upn', oldKey),
      takeBack: () => this.deleteIgnoringAbsent(this.directoryContainer, 'upn', newKey),
    };
  }

  /**
   * Deletes the object and everything that names it: first its listing document (gone from
   * lists), then the object (404 from then on), its principal-name claim (the name is free
   * again), and every membership and ownership edge in both directions: where it is the group
   * (its members' member-side entries, its group side, its owner edges), where it is a member
   * (its parents' group-side entries and its member side), where it is an owner (a query on the
   * owner kind across the tenant's owner partitions). Contract: when this returns, no document
   * of the store names the object; a fault midway throws (the request answers 503) and a retry
   * of the DELETE finishes the sweep (its own steps are idempotent: a 404 counts as done).
   */
  async deleteObject(object: DirectoryObjectDocument): Promise<void> {
    const { tenantId, id } = object;
    await this.deleteIgnoringAbsent(this.directoryContainer, id, listingPartitionKey(tenantId, object.objectType));
    await this.deleteIgnoringAbsent(this.directoryContainer, id, object.pk);
    this.forget(tenantId, id);
    const principalName = object.entity.userPrincipalName;
    if (object.objectType === 'user' && typeof principalName === 'string') {
      const claimKey = principalNamePartitionKey(tenantId, principalName);
      const { resource } = await this.directoryContainer.item('upn', claimKey).read<PrincipalNameClaimDocument>();
      if (resource?.objectId === id) await this.deleteIgnoringAbsent(this.directoryContainer, 'upn', claimKey);
    }
    await this.deleteEdgesOf(tenantId, id);
  }

  /**
   * Removes every edge naming `objectId`, as deleteObject describes; usable alone to finish a
   * sweep. Each far-side entry goes before the partition that led to it, so a retry still
   * finds what is left.
   */
  async deleteEdgesOf(tenantId: string, objectId: string): Promise<void> {
    const c = this.membershipContainer;
    // Where it is a member: its parents' group side, then its own member side.
    for (const entry of await this.partitionEdges(memberSidePartition(tenantId, objectId))) {
      await this.deleteIgnoringAbsent(c, objectId, groupSidePartition(tenantId, entry.id));
      await this.deleteIgnoringAbsent(c, entry.id, entry.pk);
    }
    // Where it is the group: its members' member side, then its own group side; its owner edges.
    for (const entry of await this.partitionEdges(groupSidePartition(tenantId, objectId))) {
      await this.deleteIgnoringAbsent(c, objectId, memberSidePartition(tenantId, entry.id));
      await this.deleteIgnoringAbsent(c, entry.id, entry.pk);
    }
    for (const entry of await this.partitionEdges(ownerPartition(tenantId, objectId))) await this.deleteIgnoringAbsent(c, entry.id, entry.pk);
    // Where it is an owner: owner edges have no index by owner, so one query over the kind.
    for (const entry of await this.ownerEdgesOf(tenantId, objectId)) {
      await this.deleteIgnoringAbsent(c, entry.id, entry.pk);
      this.forgetOwner(tenantId, entry.groupId, objectId);
    }
  }

  /**
   * Creates an owner edge; false when it exists already (the duplicate check is the create's
   * 409, atomic). The edge carries the owner's snapshot as the other edges do.
   */
  async createOwner(group: DirectoryObjectDocument, owner: DirectoryObjectDocument): Promise<boolean> {
    const document: EdgeDocument = {
      id: owner.id,
      pk: ownerPartition(group.tenantId, group.id),
      tenantId: group.tenantId,
      kind: 'owner',
      groupId: group.id,
      objectId: owner.id,
      farType: owner.objectType,
      far: toGraphEntity(owner),
      createdDateTime: new Date().toISOString(),
    };
    try {
      await this.membershipContainer.items.create(document);
      return true;
    } catch (error) {
      if (statusOf(error) === 409) return false;
      throw error;
    }
  }

  /** Deletes an owner edge; false when there was none. Forgets this instance's cached "is owner". */
  async deleteOwner(tenantId: string, groupId: string, ownerId: string): Promise<boolean> {
    try {
      await this.membershipContainer.item(ownerId, ownerPartition(tenantId, groupId)).delete();
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    } finally {
      this.forgetOwner(tenantId, groupId, ownerId);
    }
  }

  /** Whether `objectId` is a direct member (group side, the truth) or an owner, read from the store. */
  async edgeExists(tenantId: string, groupId: string, objectId: string, kind: 'member' | 'owner'): Promise<boolean> {
    const partition = kind === 'member' ? groupSidePartition(tenantId, groupId) : ownerPartition(tenantId, groupId);
    const { resource } = await this.membershipContainer.item(objectId, partition).read<EdgeDocument>();
    return resource !== undefined;
  }

  /** The ids of a group's owners (one single-partition query). */
  async ownerIds(tenantId: string, groupId: string): Promise<string[]> {
    return (await this.partitionEdges(ownerPartition(tenantId, groupId))).map((entry) => entry.id);
  }

  /**
   * Rewrites the far-object copy on every edge whose far end is `object`: its parents' group-side
   * entries, its members' member-side entries (a group), and the owner edges it is the owner of.
   */
  private async refreshSnapshots(object: DirectoryObjectDocument): Promise<void> {
    const { tenantId, id } = object;
    const far = toGraphEntity(object);
    const targets: { id: string; pk: string }[] = [];
    for (const entry of await this.partitionEdges(memberSidePartition(tenantId, id))) targets.push({ id, pk: groupSidePartition(tenantId, entry.id) });
    if (object.objectType === 'group') {
      for (const entry of await this.partitionEdges(groupSidePartition(tenantId, id))) targets.push({ id, pk: memberSidePartition(tenantId, entry.id) });
    } else {
      for (const entry of await this.ownerEdgesOf(tenantId, id)) targets.push({ id: entry.id, pk: entry.pk });
    }
    for (const target of targets) {
      // Read and replace (the embedded endpoint has no partial update); an edge removed
      // meanwhile has no copy to refresh, and the replace fails with 404 rather than re-creating it.
      const { resource } = await this.membershipContainer.item(target.id, target.pk).read<EdgeDocument>();
      if (resource === undefined) continue;
      try {
        await this.membershipContainer.item(target.id, target.pk).replace({ ...resource, far });
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    }
  }

  private partitionEdges(partitionKey: string): Promise<EdgeDocument[]> {
    return edgesOfPartition(this.membershipContainer, partitionKey);
  }

  private ownerEdgesOf(tenantId: string, ownerId: string): Promise<EdgeDocument[]> {
    return ownerEdgesOfOwner(this.membershipContainer, tenantId, ownerId);
  }

  private async deleteIgnoringAbsent(container: Container, id: string, partitionKey: string): Promise<void> {
    try {
      await container.item(id, partitionKey).delete();
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  /**
   * Drops this instance's cached copy of the object. The repositories' caches are private to the
   * files this first version may not change, so this reaches them by name; the coherent
   * implementation replaces the caches and this with them.
   */
  private forget(tenantId: string, objectId: string): void {
    cacheEntriesOf(this.directory, 'found')?.delete(objectPartitionKey(tenantId, objectId));
  }

  private forgetOwner(tenantId: string, groupId: string, ownerId: string): void {
    cacheEntriesOf(this.memberships, 'owners')?.delete(`${ownerPartition(tenantId, groupId)}|${ownerId}`);
  }
}

/** An object document as read back: with Cosmos DB's etag. */
export type StoredObject = DirectoryObjectDocument & { readonly _etag?: string };

function statusOf(error: unknown): unknown {
  return (error as { code?: unknown }).code;
}

/** The entries map of a repository's PositiveCache field (see LifecycleStore.forget). */
function cacheEntriesOf(repository: object, field: string): Map<string, unknown> | undefined {
  const cache = (repository as Record<string, unknown>)[field] as { entries?: unknown } | undefined;
  return cache?.entries instanceof Map ? (cache.entries as Map<string, unknown>) : undefined;
}

let lifecycleStore: Promise<LifecycleStore> | undefined;

/** The process's one LifecycleStore, over the same containers and repositories as every route. */
export function getLifecycleStore(): Promise<LifecycleStore> {
  lifecycleStore ??= Promise.all([getCosmosStore(), getRepositories()]).then(
    ([store, repositories]) => new LifecycleStore(store.directory, store.memberships, repositories),
    (error: unknown) => {
      lifecycleStore = undefined;
      throw error;
    },
  );
  return lifecycleStore;
}
