import type { Container } from '@azure/cosmos';
import { ConcurrentChange, GraphError } from '../http/errors';
import type { ObjectAnchors } from '../membership/anchors';
import type { PendingDeletions } from '../membership/pendingDeletions';
import { PositiveCache } from '../store/positiveCache';
import { DirectoryListing } from './directoryListing';
import { objectPartitionKey, principalNamePartitionKey, versionOf, type DirectoryObjectDocument, type PrincipalNameClaimDocument } from './directoryObjects';

function isConflict(error: unknown): boolean {
  return (error as { code?: unknown }).code === 409;
}

/**
 * Whether a key can name a stored document at all. Cosmos DB refuses ids over 1,023 bytes and
 * partition key values over 2,048 bytes, and ids holding / \ ? # (https://learn.microsoft.com/azure/cosmos-db/concepts-limits,
 * https://learn.microsoft.com/rest/api/cosmos-db/documents); sent anyway, such a key makes the
 * client throw a TypeError on the store's answer (a bare 500). A point read of one is answered
 * here: nothing can be stored under it.
 */
function isStorableKey(id: string, partitionKey: string): boolean {
  return Buffer.byteLength(id) <= 1023 && Buffer.byteLength(partitionKey) <= 2048 && !/[/\\?#]/.test(id) && /^[\x20-\x7e]*$/.test(partitionKey);
}

const duplicateValue = (property: string) => new GraphError('Request_BadRequest', `Another object with the same value for property ${property} already exists.`);

/** A PATCH lost the race to another change of the same object (412 on its replace). */
export class ObjectChangedMeanwhile extends ConcurrentChange {}

/**
 * Users and groups, keyed by tenant: every read is a point read. Reads answer from the store;
 * only callers that check a copy against the store in the same round may start from a
 * remembered one (`getRemembered`): an add, whose writes are conditional on the object's anchors
 * at that copy's version (src/membership/anchors.ts), and a relation page, which reads the
 * tenant's pending deletions beside it.
 */
export class DirectoryRepository {
  private readonly remembered = new PositiveCache<DirectoryObjectDocument>();
  /** GET /users and /groups: one listing document per object (directoryListing.ts). */
  readonly listing: DirectoryListing;

  constructor(
    private readonly container: Container,
    /** The objects' anchors, in the membership container (src/membership/anchors.ts). */
    readonly anchors: ObjectAnchors,
    private readonly deletions: PendingDeletions,
  ) {
    this.listing = new DirectoryListing(container);
  }

  /** The object as the store has it now. */
  async getObject(tenantId: string, objectId: string): Promise<DirectoryObjectDocument | undefined> {
    const partitionKey = objectPartitionKey(tenantId, objectId);
    if (!isStorableKey(objectId, partitionKey)) return undefined;
    const { resource } = await this.container.item(objectId, partitionKey).read<DirectoryObjectDocument>();
    if (resource === undefined) this.remembered.delete(partitionKey);
    else this.remembered.set(partitionKey, resource);
    return resource;
  }

  /**
   * The copy this instance last read, else a read: only for callers that check the copy against
   * the store in the same round (an add's writes check its version against the anchors, and on a
   * mismatch read again (`forget`, then this); a relation page reads the pending deletions).
   */
  async getRemembered(tenantId: string, objectId: string): Promise<DirectoryObjectDocument | undefined> {
    return this.remembered.get(objectPartitionKey(tenantId, objectId)) ?? this.getObject(tenantId, objectId);
  }

  /** Drops the remembered copy (its anchors said it is stale). */
  forget(tenantId: string, objectId: string): void {
    this.remembered.delete(objectPartitionKey(tenantId, objectId));
  }

  async getUserIdByPrincipalName(tenantId: string, userPrincipalName: string): Promise<string | undefined> {
    const partitionKey = principalNamePartitionKey(tenantId, userPrincipalName);
    if (!isStorableKey('upn', partitionKey)) return undefined;
    const { resource } = await this.container.item('upn', partitionKey).read<PrincipalNameClaimDocument>();
    return resource?.objectId;
  }

  /**
   * Claims the principal name first (its create is the tenant-wide uniqueness check Cosmos DB
   * cannot do across partitions), then creates the user; the claim is released if that fails.
   */
  async createUser(user: DirectoryObjectDocument, userPrincipalName: string): Promise<void> {
    const claim: PrincipalNameClaimDocument = {
      id: 'upn',
      pk: principalNamePartitionKey(user.tenantId, userPrincipalName),
      tenantId: user.tenantId,
      objectId: user.id,
    };
    try {
      await this.container.items.create(claim);
    } catch (error) {
      if (isConflict(error)) throw duplicateValue('userPrincipalName');
      throw error;
    }
    const releaseClaim = () => this.container.item(claim.id, claim.pk).delete();
    try {
      await this.createWithAnchors(user);
    } catch (error) {
      await releaseClaim().catch(() => undefined);
      throw error;
    }
    await this.addListing(user, async () => {
      await this.container.item(user.id, user.pk).delete();
      await this.anchors.remove(user);
      await releaseClaim();
    });
  }

  /**
   * The object's anchors, then the object (its commit point): an object that exists always has
   * its anchors. If the object is not written, this version's anchors are taken back (they are
   * this attempt's own: a version is the creation time, never an existing object's); a failed
   * take-back leaves anchors of a version no document has, which no add can start from.
   */
  private async createWithAnchors(object: DirectoryObjectDocument): Promise<void> {
    await this.anchors.create(object);
    try {
      await this.container.items.create(object);
    } catch (error) {
      await this.anchors.remove(object).catch(() => undefined);
      if (isConflict(error)) throw duplicateValue('id');
      throw error;
    }
  }

  /**
   * Writes the object's listing document, after the object itself: a list must never show an
   * object that does not exist (a listing written first would, until its object landed, or for
   * good if the object's create then failed, and the list route could only tell by reading every
   * object of the page). If the listing write fails and did not land (a store fault may hide a
   * write that did), the object is taken back and the fault answered (503): the client retries a
   * create that left nothing. When that read fails too, the listing is deleted before the object,
   * and the object only once the listing is known gone. Should the take-back fail, the object
   * stays, unlisted until a PATCH rewrites its listing: invisible to GET /users or /groups, never
   * the reverse.
   */
  private async addListing(object: DirectoryObjectDocument, takeBack: () => Promise<void>): Promise<void> {
    try {
      await this.listing.add(object);
    } catch (error) {
      const landed = await this.listing.exists(object.tenantId, object.objectType, object.id).catch(() => undefined);
      if (landed === true) return;
      if (landed === undefined && !(await this.listing.remove(object).catch(() => false))) throw error;
      await takeBack().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Creates the group and then its listing document (addListing). The caller (directoryService
   * createGroup) takes back the group's edges when this throws and the group is not there.
   */
  async createGroup(group: DirectoryObjectDocument): Promise<void> {
    await this.createWithAnchors(group);
    await this.addListing(group, async () => {
      await this.container.item(group.id, group.pk).delete();
      await this.anchors.remove(group);
    });
    // Issue 12: the group's creation in its change log, once it committed (src/changes/changeLog.ts);
    // the group exists whatever this does, so a fault here must not answer 503.
    await this.anchors.recordCreated(group).catch(() => undefined);
  }

  /**
   * Replaces the object with its next version, only if the store still has the version read
   * (`current._etag`): two PATCHes of one object never both write from the same base.
   */
  async replaceObject(current: DirectoryObjectDocument, entity: Readonly<Record<string, unknown>>): Promise<DirectoryObjectDocument> {
    const { _etag: etag, ...stored } = current;
    const next: DirectoryObjectDocument = { ...stored, entity, version: versionOf(current) + 1 };
    try {
      const { resource } = await this.container
        .item(current.id, current.pk)
        .replace<DirectoryObjectDocument>(next, etag === undefined ? {} : { accessCondition: { type: 'IfMatch', condition: etag } });
      this.remembered.delete(current.pk);
      return resource ?? next;
    } catch (error) {
      const status = (error as { code?: unknown }).code;
      if (status === 412 || status === 404) throw new ObjectChangedMeanwhile();
      throw error;
    }
  }

  /**
   * An id chosen by the creator (a sync application) must not be one whose deletion is still
   * being finished: the reconciler would take the new object's edges for the old one's (Graph
   * keeps deleted ids too, in its recycle bin). Random ids never meet this; one point read.
   */
  async assertIdNotBeingDeleted(tenantId: string, objectId: string): Promise<void> {
    if ((await this.deletions.deletedIds(tenantId)).has(objectId)) throw duplicateValue('id');
  }

  /** Claims a principal name for a user (PATCH of userPrincipalName): 400 when taken. */
  async claimPrincipalName(tenantId: string, userId: string, userPrincipalName: string): Promise<void> {
    const claim: PrincipalNameClaimDocument = { id: 'upn', pk: principalNamePartitionKey(tenantId, userPrincipalName), tenantId, objectId: userId };
    try {
      await this.container.items.create(claim);
    } catch (error) {
      if (!isConflict(error)) throw error;
      if ((await this.getUserIdByPrincipalName(tenantId, userPrincipalName)) !== userId) throw duplicateValue('userPrincipalName');
    }
  }

  /** Releases a principal name, only if `userId` holds it. */
  async releasePrincipalName(tenantId: string, userId: string, userPrincipalName: string): Promise<void> {
    const partitionKey = principalNamePartitionKey(tenantId, userPrincipalName);
    const { resource } = await this.container.item('upn', partitionKey).read<PrincipalNameClaimDocument & { _etag?: string }>();
    if (resource?.objectId !== userId) return;
    await this.container
      .item('upn', partitionKey)
      .delete(resource._etag === undefined ? {} : { accessCondition: { type: 'IfMatch', condition: resource._etag } })
      .catch((error: { code?: unknown }) => {
        if (error.code !== 404 && error.code !== 412) throw error;
      });
  }

  /**
   * Deletes the object's own document, only at the version read (`_etag`, when the copy has
   * one): a PATCH that landed meanwhile makes this throw ObjectChangedMeanwhile, so the deletion
   * starts again from the version that exists (and removes its anchors). False when already gone.
   */
  async deleteObjectDocument(object: DirectoryObjectDocument): Promise<boolean> {
    this.remembered.delete(object.pk);
    try {
      await this.container.item(object.id, object.pk).delete(object._etag === undefined ? {} : { accessCondition: { type: 'IfMatch', condition: object._etag } });
      return true;
    } catch (error) {
      const status = (error as { code?: unknown }).code;
      if (status === 404) return false;
      if (status === 412) throw new ObjectChangedMeanwhile();
      throw error;
    }
  }
}
