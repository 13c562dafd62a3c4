import type { Container, SqlQuerySpec } from '@azure/cosmos';
import { graphErrors } from '../http/errors';
import { PositiveCache } from '../store/positiveCache';
import { toStoreFault } from '../store/storeFaults';
import { toGraphEntity, type DirectoryObjectDocument, type ObjectType } from '../directory/directoryObjects';
import type { EdgeSelection } from './edgeQuery';
import { groupSidePartition, memberSidePartition, nestingGuardPartition, ownerPartition, type AddOrigin, type EdgeDocument, type EdgeKind } from './edges';
import { nestingGuardId, type NestingGuardContent, type NestingGuardDocument, type NestingGuardState } from './nestingGuard';

/** Times an add writes again after a removal took the edge between its create and its read. */
const maxRemovalRaces = 3;
/** Take-backs tried before a request answers its 5xx anyway (see takeBack). */
const takeBackAttempts = 3;

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

function edge(
  kind: EdgeKind,
  pk: string,
  id: string,
  group: DirectoryObjectDocument,
  object: DirectoryObjectDocument,
  far: DirectoryObjectDocument,
  createdDateTime: string,
  origin?: AddOrigin,
): EdgeDocument {
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
   * Writes both sides in one round, both as creates, so that what is already there says what
   * happened before (issue 8, item 7):
   * - both created, or the group side created beside a member side left by an earlier attempt:
   *   created;
   * - the group side created but the member side failed: the group side is taken back (delete
   *   if-match its etag, so only what this call wrote goes) before the failure is thrown, so the
   *   503 leaves nothing; if even that fails, the half-written edge is what the next attempt
   *   completes;
   * - the group side already there and the member side created now: a half-written add (a
   *   failed attempt whose take-back failed too) completed: created;
   * - both already there: `existing`, for the caller to tell a replay from a duplicate;
   * - the group side already there at the create but gone at the read after (a removal raced):
   *   written again, never answered from a document that no longer exists;
   * - the group side failed but the member side was created: the group side is read, and the
   *   member side taken back unless the group side landed after all (a timeout can write).
   * The common case is two creates in one round, as before.
   */
  async createMembership(group: DirectoryObjectDocument, member: DirectoryObjectDocument, origin?: AddOrigin): Promise<CreateMembershipResult> {
    for (let attempt = 1; ; attempt += 1) {
      const outcome = await this.tryCreateMembership(group, member, origin);
      if (outcome !== 'removedMeanwhile') return outcome;
      // Only an add and a removal of the same edge racing again and again get here.
      if (attempt === maxRemovalRaces) throw graphErrors.throttled(1);
    }
  }

  private async tryCreateMembership(group: DirectoryObjectDocument, member: DirectoryObjectDocument, origin: AddOrigin | undefined): Promise<CreateMembershipResult | 'removedMeanwhile'> {
    const now = new Date().toISOString();
    const groupSide = edge('member', groupSidePartition(group.tenantId, group.id), member.id, group, member, member, now, origin);
    const memberSide = edge('memberOf', memberSidePartition(group.tenantId, member.id), group.id, group, member, group, now);
    const [groupWrite, memberWrite] = await Promise.allSettled([this.container.items.create(groupSide), this.container.items.create(memberSide)]);
    const memberSidePresent = memberWrite.status === 'fulfilled' || statusOf(memberWrite.reason) === 409;

    if (groupWrite.status === 'fulfilled') {
      if (memberSidePresent) return { created: true };
      await this.takeBack(groupSide.id, groupSide.pk, groupWrite.value.etag);
      throw memberWrite.reason;
    }
    if (statusOf(groupWrite.reason) === 409) {
      const existing = await this.getMembership(group.tenantId, group.id, member.id);
      if (existing === undefined) return 'removedMeanwhile';
      if (memberWrite.status === 'fulfilled') return { created: true };
      if (!memberSidePresent) throw memberWrite.reason;
      return { created: false, existing };
    }
    if (memberWrite.status === 'fulfilled') {
      const landed = await this.getMembership(group.tenantId, group.id, member.id).catch(() => undefined);
      if (landed !== undefined) return { created: true };
      await this.takeBack(memberSide.id, memberSide.pk, memberWrite.value.etag);
    }
    throw groupWrite.reason;
  }

  /**
   * Takes back a document this request wrote before answering 5xx, tried a few times: one failed
   * take-back after one failed write leaves a half-written edge (visible until a retry completes
   * it or the reconciler removes it), so a passing fault must not be enough to leave one. A
   * store that stays down defeats it; the reconciler is the backstop. Never throws.
   */
  private async takeBack(id: string, partitionKey: string, etag: string | undefined): Promise<void> {
    for (let attempt = 1; attempt <= takeBackAttempts; attempt += 1) {
      try {
        await this.deleteIfMatch(id, partitionKey, etag);
        return;
      } catch {
        // Tried again at once: the request is already answering an error, and waits no longer.
      }
    }
  }

  /**
   * Deletes a document only if it is still the version this process wrote (etag), so a take-back
   * never removes what another request wrote meanwhile. Cosmos DB optimistic concurrency:
   * https://learn.microsoft.com/azure/cosmos-db/nosql/database-transactions-optimistic-concurrency
   */
  private async deleteIfMatch(id: string, partitionKey: string, etag: string | undefined): Promise<void> {
    if (etag === undefined) return;
    try {
      await this.container.item(id, partitionKey).delete({ accessCondition: { type: 'IfMatch', condition: etag } });
    } catch (error) {
      if (statusOf(error) !== 404 && statusOf(error) !== 412) throw error;
    }
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

  /**
   * Writes the owner and member edges of a group that does not exist yet (POST /groups writes
   * them before the group document, its commit point). Returns a take-back that deletes exactly
   * the documents this call created (if-match their etags), for when the group is not created
   * after all. An edge already there (an earlier attempt with the same id) counts as written.
   */
  async createEdgesOfNewGroup(group: DirectoryObjectDocument, owners: readonly DirectoryObjectDocument[], members: readonly DirectoryObjectDocument[]): Promise<() => Promise<void>> {
    const now = new Date().toISOString();
    const documents: EdgeDocument[] = [
      ...owners.map((owner) => edge('owner', ownerPartition(group.tenantId, group.id), owner.id, group, owner, owner, now)),
      ...members.flatMap((member) => [
        edge('member', groupSidePartition(group.tenantId, group.id), member.id, group, member, member, now),
        edge('memberOf', memberSidePartition(group.tenantId, member.id), group.id, group, member, group, now),
      ]),
    ];
    const writes = await Promise.allSettled(documents.map((document) => this.container.items.create(document)));
    const takeBack = async () => {
      await Promise.all(writes.map((write, index) => (write.status === 'fulfilled' ? this.takeBack(documents[index]!.id, documents[index]!.pk, write.value.etag) : Promise.resolve())));
    };
    const failed = writes.find((write): write is PromiseRejectedResult => write.status === 'rejected' && statusOf(write.reason) !== 409);
    if (failed !== undefined) {
      await takeBack();
      throw failed.reason;
    }
    return takeBack;
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

  /**
   * One page of the ids of the groups that are direct members of `groupId`, read from the group
   * side (the truth): one step down of a cycle walk, one store request.
   */
  async listMemberGroupIds(tenantId: string, groupId: string, continuationToken?: string): Promise<{ ids: string[]; continuationToken?: string }> {
    const partitionKey = groupSidePartition(tenantId, groupId);
    const { resources, continuationToken: next } = await this.container.items
      .query<{ id: string }>(
        { query: "SELECT c.id FROM c WHERE c.pk = @pk AND c.farType = 'group'", parameters: [{ name: '@pk', value: partitionKey }] },
        { partitionKey, maxItemCount: 1000, ...(continuationToken === undefined ? {} : { continuationToken }) },
      )
      .fetchNext();
    return { ids: resources.map((resource) => resource.id), ...(next === undefined || next === null ? {} : { continuationToken: next }) };
  }

  /** The tenant's nesting guard (see nestingGuard.ts); an absent one is empty and has no etag. */
  async readNestingGuard(tenantId: string): Promise<NestingGuardState> {
    const { resource } = await this.container.item(nestingGuardId, nestingGuardPartition(tenantId)).read<NestingGuardDocument>();
    if (resource === undefined) return { intents: [], commits: 0, landed: [], releases: 0, prunedThrough: 0 };
    return {
      intents: resource.intents ?? [],
      commits: resource.commits ?? 0,
      landed: resource.landed ?? [],
      releases: resource.releases ?? 0,
      prunedThrough: resource.prunedThrough ?? 0,
      ...(resource._etag === undefined ? {} : { etag: resource._etag }),
    };
  }

  /**
   * Replaces the nesting guard only if it is still the version read (`etag`; none: only if it
   * does not exist yet). Returns the new state, or undefined when another request changed it
   * first (412 on the replace, 409 on the create). Cosmos DB honours If-Match on replace:
   * https://learn.microsoft.com/azure/cosmos-db/nosql/database-transactions-optimistic-concurrency
   */
  async replaceNestingGuard(tenantId: string, content: NestingGuardContent, etag: string | undefined): Promise<NestingGuardState | undefined> {
    const document: NestingGuardDocument = {
      id: nestingGuardId,
      pk: nestingGuardPartition(tenantId),
      tenantId,
      kind: 'nestingGuard',
      intents: content.intents,
      commits: content.commits,
      landed: content.landed,
      releases: content.releases,
      prunedThrough: content.prunedThrough,
    };
    try {
      const response =
        etag === undefined
          ? await this.container.items.create(document)
          : await this.container.item(nestingGuardId, document.pk).replace(document, { accessCondition: { type: 'IfMatch', condition: etag } });
      const { id: _id, pk: _pk, tenantId: _tenant, kind: _kind, ...state } = document;
      return { ...state, ...(response.etag === undefined ? {} : { etag: response.etag }) };
    } catch (error) {
      const status = statusOf(error);
      if (status === 409 || status === 412 || status === 404) return undefined;
      throw error;
    }
  }

  /**
   * One page of the edges a selection (edgeQuery.ts) names: a single-partition query, as
   * listPartition, with a `$filter` on the far-object snapshots (SPEC 6).
   */
  async queryEdges(selection: EdgeSelection, page: { readonly top: number; readonly continuationToken?: string }): Promise<EdgePage> {
    const { partitionKey, where, parameters } = selection;
    let response;
    try {
      response = await this.container.items
        .query<EdgeDocument>(
          { query: `SELECT * FROM c WHERE ${where}`, parameters: [...parameters] },
          { partitionKey, maxItemCount: page.top, ...(page.continuationToken === undefined ? {} : { continuationToken: page.continuationToken }) },
        )
        .fetchNext();
    } catch (error) {
      if (page.continuationToken !== undefined && toStoreFault(error) === undefined) throw graphErrors.invalidSkipToken();
      throw error;
    }
    return {
      edges: response.resources,
      ...(response.continuationToken === undefined || response.continuationToken === null ? {} : { continuationToken: response.continuationToken }),
    };
  }

  /**
   * How many edges a selection names: one aggregate query on its one logical partition (the store
   * counts; nothing is paged through here). Cosmos DB may answer an aggregate in partial results,
   * which are summed (https://learn.microsoft.com/azure/cosmos-db/nosql/query/aggregate-functions).
   */
  async countEdges(selection: EdgeSelection): Promise<number> {
    const { partitionKey, where, parameters } = selection;
    const { resources } = await this.container.items.query<number>({ query: `SELECT VALUE COUNT(1) FROM c WHERE ${where}`, parameters: [...parameters] }, { partitionKey }).fetchAll();
    return resources.reduce((sum, value) => sum + value, 0);
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
}
