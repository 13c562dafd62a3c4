import type { Container } from '@azure/cosmos';
import { GraphError } from '../http/errors';
import {
  objectPartitionKey,
  principalNamePartitionKey,
  type DirectoryObjectDocument,
  type PrincipalNameClaimDocument,
} from './directoryObjects';

function isConflict(error: unknown): boolean {
  return (error as { code?: unknown }).code === 409;
}

const duplicateValue = (property: string) =>
  new GraphError('Request_BadRequest', `Another object with the same value for property ${property} already exists.`);

/** Users and groups, keyed by tenant: every read is a point read. */
export class DirectoryRepository {
  constructor(private readonly container: Container) {}

  async getObject(tenantId: string, objectId: string): Promise<DirectoryObjectDocument | undefined> {
    const { resource } = await this.container.item(objectId, objectPartitionKey(tenantId, objectId)).read<DirectoryObjectDocument>();
    return resource;
  }

  async getUserIdByPrincipalName(tenantId: string, userPrincipalName: string): Promise<string | undefined> {
    const { resource } = await this.container
      .item('upn', principalNamePartitionKey(tenantId, userPrincipalName))
      .read<PrincipalNameClaimDocument>();
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
      await this.container.item(claim.id, claim.pk).delete().catch(() => undefined);
      if (isConflict(error)) throw duplicateValue('id');
      throw error;
    }
  }

  async createGroup(group: DirectoryObjectDocument): Promise<void> {
    try {
      await this.container.items.create(group);
    } catch (error) {
      if (isConflict(error)) throw duplicateValue('id');
      throw error;
    }
  }
}
