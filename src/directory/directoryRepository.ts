import type { Container } from '@azure/cosmos';
import { GraphError } from '../http/errors';
import { PositiveCache } from '../store/positiveCache';
import { DirectoryListing } from './directoryListing';
import { objectPartitionKey, principalNamePartitionKey, type DirectoryObjectDocument, type PrincipalNameClaimDocument } from './directoryObjects';

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

/**
 * Users and groups, keyed by tenant: every read is a point read, and a found object is kept in
 * process (objects have no update or delete route), which takes the existence reads of an add
 * off the store for objects seen before.
 */
export class DirectoryRepository {
  private readonly found = new PositiveCache<DirectoryObjectDocument>();
  /** GET /users and /groups: one listing document per object (directoryListing.ts). */
  readonly listing: DirectoryListing;

  constructor(private readonly container: Container) {
    this.listing = new DirectoryListing(container);
  }

  async getObject(tenantId: string, objectId: string): Promise<DirectoryObjectDocument | undefined> {
    const partitionKey = objectPartitionKey(tenantId, objectId);
    const cached = this.found.get(partitionKey);
    if (cached !== undefined) return cached;
    if (!isStorableKey(objectId, partitionKey)) return undefined;
    const { resource } = await this.container.item(objectId, partitionKey).read<DirectoryObjectDocument>();
    if (resource !== undefined) this.found.set(partitionKey, resource);
    return resource;
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
    try {
      await this.container.items.create(user);
    } catch (error) {
      await this.container
        .item(claim.id, claim.pk)
        .delete()
        .catch(() => undefined);
      if (isConflict(error)) throw duplicateValue('id');
      throw error;
    }
    await this.addListing(user, async () => {
      await this.container.item(user.id, user.pk).delete();
      await this.container.item(claim.id, claim.pk).delete();
    });
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
    try {
      await this.container.items.create(group);
    } catch (error) {
      if (isConflict(error)) throw duplicateValue('id');
      throw error;
    }
    await this.addListing(group, async () => {
      await this.container.item(group.id, group.pk).delete();
    });
  }
}
