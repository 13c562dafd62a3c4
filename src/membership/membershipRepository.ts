import type { Container, SqlQuerySpec } from '@azure/cosmos';
import { graphErrors } from '../http/errors';
import { PositiveCache } from '../store/positiveCache';
import { toStoreFault } from '../store/storeFaults';
import { toGraphEntity, type DirectoryObjectDocument, type ObjectType } from '../directory/directoryObjects';
import {
  groupSidePartition,
  memberSidePartition,
  ownerPartition,
  type AddOrigin,
  type EdgeDocument,
  type EdgeKind,
} from './edges';

export interface ListEdgesOptions {
  /** Page size, 1 to 999. */
  readonly top: number;
  /** Cosmos DB continuation token from the previous page. */
  readonly continuationToken?: string;
  /** Only objects of this type (a Graph type-cast segment). */
  readonly objectType?: ObjectType;
}

export interface EdgePage {
  readonly edges: readonly EdgeDocument[];
  readonly continuationToken?: string;
}

export type CreateMembershipResult = { readonly created: true } | { readonly created: false; readonly existing: EdgeDocument };

function statusOf(error: unknown): unknown {
  return (error as { code?: unknown }).code;
}

function edge(kind: EdgeKind, pk: string, id: string, group: DirectoryObjectDocument, object: DirectoryObjectDocument, far: DirectoryObjectDocument, createdDateTime: string, origin?: AddOrigin): EdgeDocument {
  return {
    id,
    pk,
    tenantId: group.tenantId,
    kind,
    groupId: group.id,
    objectId: object.id,
    farType: far.objectType,
    far: toGraphEntity(far),
    createdDateTime,
    ...(origin === undefined ? {} : { origin }),
  };
}

/** The membership-edge repository: both directions of every membership, and group owners. */
export class MembershipRepository {
  /** Owner edges have no removal route, so a found one stays true (see PositiveCache). */
  private readonly owners = new PositiveCache<true>();

  constructor(private readonly container: Container) {}

  /** The group-side edge, if `memberId` is a direct member of `groupId`. One point read. */
  async getMembership(tenantId: string, groupId: string, memberId: string): Promise<EdgeDocument | undefined> {
    const { resource } = await this.container.item(memberId, groupSidePartition(tenantId, groupId)).read<EdgeDocument>();
    return resource;
  }

  async isOwner(tenantId: string, groupId: string, objectId: string): Promise<boolean> {
    const key = `${ownerPartition(tenantId, groupId)}|${objectId}`;
    if (this.owners.get(key) === true) return true;
    const { resource } = await this.container.item(objectId, ownerPartition(tenantId, groupId)).read<EdgeDocument>();
    if (resource !== undefined) this.owners.set(key, true);
    return resource !== undefined;
  }

  /**
   * Writes both sides in one round: the group-side create (409 = already a member) beside the
   * member-side upsert. A member side written for a create that then failed is removed again
   * when the group side is confirmed absent; what that misses, the reconciler removes.
   */
  async createMembership(group: DirectoryObjectDocument, member: DirectoryObjectDocument, origin?: AddOrigin): Promise<CreateMembershipResult> {
    const now = new Date().toISOString();
    const groupSide = edge('member', groupSidePartition(group.tenantId, group.id), member.id, group, member, member, now, origin);
    const memberSide = edge('memberOf', memberSidePartition(group.tenantId, member.id), group.id, group, member, group, now);
    const [create, upsert] = await Promise.allSettled([this.container.items.create(groupSide), this.container.items.upsert(memberSide)]);
    if (create.status === 'fulfilled') {
      // The membership exists; a failed index write is healed by the client's retry or the reconciler.
      if (upsert.status === 'rejected') throw upsert.reason;
      return { created: true };
    }
    if (statusOf(create.reason) === 409) {
      const existing = await this.getMembership(group.tenantId, group.id, member.id);
      if (upsert.status === 'rejected') throw upsert.reason;
      // Removed between our create and this read: report it as a conflict all the same.
      return { created: false, existing: existing ?? groupSide };
    }
    if (upsert.status === 'fulfilled') await this.removeOrphanMemberSide(group.tenantId, group.id, member.id).catch(() => undefined);
    throw create.reason;
  }

  /**
   * Removes both sides; false when there was no such membership. The member side goes only
   * after the group side did (a "not a member" answer must delete nothing), and if an add
   * re-created the membership between the two deletes, its member side is written back.
   */
  async deleteMembership(group: DirectoryObjectDocument, member: DirectoryObjectDocument): Promise<boolean> {
    const { tenantId } = group;
    try {
      await this.container.item(member.id, groupSidePartition(tenantId, group.id)).delete();
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
    try {
      await this.container.item(group.id, memberSidePartition(tenantId, member.id)).delete();
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    const readded = await this.getMembership(tenantId, group.id, member.id);
    if (readded !== undefined) {
      await this.container.items.upsert(edge('memberOf', memberSidePartition(tenantId, member.id), group.id, group, member, group, readded.createdDateTime));
    }
    return true;
  }

  async addOwner(group: DirectoryObjectDocument, owner: DirectoryObjectDocument): Promise<void> {
    await this.container.items.upsert(edge('owner', ownerPartition(group.tenantId, group.id), owner.id, group, owner, owner, new Date().toISOString()));
  }

  listMembers(tenantId: string, groupId: string, options: ListEdgesOptions): Promise<EdgePage> {
    return this.listPartition(groupSidePartition(tenantId, groupId), options);
  }

  listMemberOf(tenantId: string, memberId: string, options: ListEdgesOptions): Promise<EdgePage> {
    return this.listPartition(memberSidePartition(tenantId, memberId), options);
  }

  listOwners(tenantId: string, groupId: string, options: ListEdgesOptions): Promise<EdgePage> {
    return this.listPartition(ownerPartition(tenantId, groupId), options);
  }

  /** Ids of the groups `groupId` is a direct member of: one level of a cycle check. */
  async listParentGroupIds(tenantId: string, groupId: string): Promise<string[]> {
    const ids: string[] = [];
    const partitionKey = memberSidePartition(tenantId, groupId);
    const iterator = this.container.items.query<{ id: string }>({ query: 'SELECT c.id FROM c WHERE c.pk = @pk', parameters: [{ name: '@pk', value: partitionKey }] }, {
      partitionKey,
      maxItemCount: 1000,
    });
    while (iterator.hasMoreResults()) {
      const { resources } = await iterator.fetchNext();
      for (const resource of resources) ids.push(resource.id);
    }
    return ids;
  }

  private async listPartition(partitionKey: string, options: ListEdgesOptions): Promise<EdgePage> {
    // The pk filter is redundant on Cosmos DB (the partitionKey option already scopes the query)
    // but the embedded endpoint ignores that option, so the filter keeps both honest.
    const query: SqlQuerySpec =
      options.objectType === undefined
        ? { query: 'SELECT * FROM c WHERE c.pk = @pk', parameters: [{ name: '@pk', value: partitionKey }] }
        : {
            query: 'SELECT * FROM c WHERE c.pk = @pk AND c.farType = @type',
            parameters: [
              { name: '@pk', value: partitionKey },
              { name: '@type', value: options.objectType },
            ],
          };
    let response;
    try {
      response = await this.container.items
        .query<EdgeDocument>(query, {
          partitionKey,
          maxItemCount: options.top,
          ...(options.continuationToken === undefined ? {} : { continuationToken: options.continuationToken }),
        })
        .fetchNext();
    } catch (error) {
      // A continuation token we did not issue makes the SDK or the store fail in many ways; none
      // of them is the store's fault, so the client hears that its $skiptoken is bad.
      if (options.continuationToken !== undefined && toStoreFault(error) === undefined) throw graphErrors.invalidSkipToken();
      throw error;
    }
    return {
      edges: response.resources,
      ...(response.continuationToken === undefined || response.continuationToken === null ? {} : { continuationToken: response.continuationToken }),
    };
  }

  private async removeOrphanMemberSide(tenantId: string, groupId: string, memberId: string): Promise<void> {
    if ((await this.getMembership(tenantId, groupId, memberId)) !== undefined) return;
    await this.container.item(groupId, memberSidePartition(tenantId, memberId)).delete();
  }
}
