import type { Container, JSONObject, OperationResponse } from '@azure/cosmos';
import { ConcurrentChange, graphErrors } from '../http/errors';
import { failedOperation, runTransactionalBatch } from '../store/storeBatch';
import { runLoggedBatch, type ChangeDraft } from '../changes/changeLog';
import { toStoreFault } from '../store/storeFaults';
import { PendingDeletions } from './pendingDeletions';
import { GroupClosure } from './closure';
import { readGroupAnchor, readMemberAnchor } from './anchors';
import { toGraphEntity, type DirectoryObjectDocument } from '../directory/directoryObjects';
import type { EdgeSelection } from './edgeQuery';
import { groupSidePartition, memberSidePartition, nestingGuardPartition, ownerPartition, type AddOrigin, type EdgeDocument, type EdgeKind } from './edges';
import {
  nestingGuardId,
  nestingJournalOf,
  nestingMarkId,
  type NestingGuardContent,
  type NestingGuardDocument,
  type NestingGuardState,
  type NestingMark,
  type NestingMarkDocument,
  type PendingNesting,
} from './nestingGuard';

/** Times an add writes again after a removal took the edge between its create and its read. */
const maxRemovalRaces = 3;
/** Take-backs tried before a request answers its 5xx anyway (see takeBack). */
const takeBackAttempts = 3;

export interface EdgePage {
  readonly edges: readonly EdgeDocument[];
  readonly continuationToken?: string;
  /** The tenant's objects being deleted, as read beside the page (their edges are left out). */
  readonly pendingDeletions?: ReadonlySet<string>;
}

export type CreateMembershipResult = { readonly created: true } | { readonly created: false; readonly existing: EdgeDocument };

/** The copies an add started from that its anchors found stale (changed or deleted since). */
export class StaleObjects extends ConcurrentChange {
  constructor(readonly objectIds: readonly string[]) {
    super('stale');
  }
}

/** What one side's batch (read the anchor, create the edge) did. */
type SideOutcome = { readonly kind: 'created'; readonly etag: string | undefined } | { readonly kind: 'exists' } | { readonly kind: 'stale' } | { readonly kind: 'failed'; readonly error: unknown };

function sideOutcome(settled: PromiseSettledResult<OperationResponse[]>): SideOutcome {
  if (settled.status === 'rejected') return { kind: 'failed', error: settled.reason };
  const failure = failedOperation(settled.value);
  if (failure === undefined) return { kind: 'created', etag: settled.value[1]?.eTag };
  if (failure.index === 0 && failure.statusCode === 404) return { kind: 'stale' };
  if (failure.index === 1 && failure.statusCode === 409) return { kind: 'exists' };
  // Another status is the store's (429, 5xx inside the batch): nothing was written.
  return { kind: 'failed', error: toStoreFault({ code: failure.statusCode }) ?? graphErrors.storeUnavailable(2) };
}

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

/**
 * A PATCH in progress (or cut short): written before the object changes, so the reconciler can
 * finish its anchors, listing and snapshots (src/directory/objectLifecycle.ts). Partition
 * `{tid}|updates`, id = the object's id.
 */
export interface PendingUpdateDocument {
  readonly id: string;
  readonly pk: string;
  readonly tenantId: string;
  readonly kind: 'pendingUpdate';
  readonly objectId: string;
  readonly atMs: number;
  readonly _etag?: string;
}

export const pendingUpdatesPartition = (tenantId: string): string => `${tenantId}|updates`;

/** The change record of an add to `group` (src/changes/changeLog.ts). */
function addedChange(group: DirectoryObjectDocument, member: { readonly id?: unknown; readonly objectType?: unknown; readonly '@odata.type'?: unknown }): ChangeDraft {
  const memberType = member.objectType === 'group' || member['@odata.type'] === '#microsoft.graph.group' ? 'group' : 'user';
  return { tenantId: group.tenantId, groupId: group.id, changeType: 'memberAdded', memberId: String(member.id), memberType };
}

/** The removal record for a document, when it is a group-side edge (`{tid}|group|{G}`, id a member's id). */
function groupSideChange(id: string, partitionKey: string, memberType?: 'user' | 'group'): ChangeDraft | undefined {
  const parts = partitionKey.split('|');
  if (parts.length !== 3 || parts[1] !== 'group' || id.startsWith('$')) return undefined;
  return { tenantId: parts[0]!, groupId: parts[2]!, changeType: 'memberRemoved', memberId: id, ...(memberType === undefined ? {} : { memberType }) };
}

/** The record of an owner edge's create or delete, in the owner partition beside the edge (src/changes/changeLog.ts). */
const ownerChange = (tenantId: string, groupId: string, ownerId: string, changeType: 'ownerAdded' | 'ownerRemoved'): ChangeDraft => ({ tenantId, groupId, changeType, ownerId });

/** The removal record for a document, when it is an owner edge (`{tid}|owner|{G}`, id an owner's id). */
function ownerEdgeChange(id: string, partitionKey: string): ChangeDraft | undefined {
  const parts = partitionKey.split('|');
  if (parts.length !== 3 || parts[1] !== 'owner' || id.startsWith('$')) return undefined;
  return ownerChange(parts[0]!, parts[2]!, id, 'ownerRemoved');
}

/** The tenant of an edge partition key (`{tid}|…`). */
const tenantOfPartition = (partitionKey: string): string => partitionKey.slice(0, partitionKey.indexOf('|'));

/** The fields that place an edge: enough to delete it or change its snapshot. */
export type EdgeRouting = Pick<EdgeDocument, 'id' | 'pk' | 'kind' | 'groupId' | 'objectId'>;

/** The membership-edge repository: both directions of every membership, and group owners. */
export class MembershipRepository {
  /** Objects whose DELETE has begun: relation pages never show them (pendingDeletions.ts). */
  readonly deletions: PendingDeletions;
  /** The nested-group closure (closure.ts), in the same container. */
  readonly closure: GroupClosure;

  constructor(
    private readonly container: Container,
    deletions?: PendingDeletions,
  ) {
    this.deletions = deletions ?? new PendingDeletions(container);
    this.closure = new GroupClosure(container);
  }

  /** The group-side edge, if `memberId` is a direct member of `groupId`. One point read. */
  async getMembership(tenantId: string, groupId: string, memberId: string): Promise<EdgeDocument | undefined> {
    const { resource } = await this.container.item(memberId, groupSidePartition(tenantId, groupId)).read<EdgeDocument>();
    return resource;
  }

  /**
   * Which of `objectIds` are, now, members (kind 'member', the group side: the truth) or owners of
   * `groupId`, with their types: one single-partition query per 100 ids (`id` is always indexed:
   * https://learn.microsoft.com/azure/cosmos-db/index-policy#include-exclude-paths), where a
   * point read per id made a delta round's page as likely to fail as its number of ids.
   */
  async presentEdges(tenantId: string, groupId: string, kind: 'member' | 'owner', objectIds: readonly string[]): Promise<Map<string, EdgeDocument['farType']>> {
    const partitionKey = kind === 'member' ? groupSidePartition(tenantId, groupId) : ownerPartition(tenantId, groupId);
    const present = new Map<string, EdgeDocument['farType']>();
    const chunks: string[][] = [];
    for (let index = 0; index < objectIds.length; index += 100) chunks.push(objectIds.slice(index, index + 100));
    await Promise.all(
      chunks.map(async (ids) => {
        const { resources } = await this.container.items
          .query<Pick<EdgeDocument, 'id' | 'farType'>>(
            {
              query: 'SELECT c.id, c.farType FROM c WHERE c.pk = @pk AND c.kind = @kind AND ARRAY_CONTAINS(@ids, c.id)',
              parameters: [
                { name: '@pk', value: partitionKey },
                { name: '@kind', value: kind },
                { name: '@ids', value: ids },
              ],
            },
            { partitionKey },
          )
          .fetchAll();
        for (const found of resources) present.set(found.id, found.farType);
      }),
    );
    return present;
  }

  /** Both documents of an edge as they are: two point reads at once. */
  async readEdgeSides(tenantId: string, groupId: string, memberId: string): Promise<{ readonly groupSide?: EdgeDocument; readonly memberSide?: EdgeDocument }> {
    const [groupSide, memberSide] = await Promise.all([
      this.getMembership(tenantId, groupId, memberId),
      this.container
        .item(groupId, memberSidePartition(tenantId, memberId))
        .read<EdgeDocument>()
        .then((response) => response.resource),
    ]);
    return { ...(groupSide === undefined ? {} : { groupSide }), ...(memberSide === undefined ? {} : { memberSide }) };
  }

  /** Whether both documents of an edge agree (both there or both absent): two point reads at once. */
  async edgeSidesAgree(tenantId: string, groupId: string, memberId: string): Promise<boolean> {
    const { groupSide, memberSide } = await this.readEdgeSides(tenantId, groupId, memberId);
    return (groupSide === undefined) === (memberSide === undefined);
  }

  /** Owners can be removed, so this is always a read (one point read). */
  async isOwner(tenantId: string, groupId: string, objectId: string): Promise<boolean> {
    return (await this.getOwnership(tenantId, groupId, objectId)) !== undefined;
  }

  /** The owner edge, if `objectId` owns `groupId`. One point read. */
  async getOwnership(tenantId: string, groupId: string, objectId: string): Promise<EdgeDocument | undefined> {
    const { resource } = await this.container.item(objectId, ownerPartition(tenantId, groupId)).read<EdgeDocument>();
    return resource;
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

  /**
   * Each side is one transactional batch in its own partition: read the object's anchor at the
   * version the add started from, then create the edge (src/membership/anchors.ts). A side whose
   * anchor is missing wrote nothing; the other side's create, if it landed, is taken back, and
   * StaleObjects tells the caller to read the objects again.
   */
  private async tryCreateMembership(group: DirectoryObjectDocument, member: DirectoryObjectDocument, origin: AddOrigin | undefined): Promise<CreateMembershipResult | 'removedMeanwhile'> {
    const now = new Date().toISOString();
    const groupSide = edge('member', groupSidePartition(group.tenantId, group.id), member.id, group, member, member, now, origin);
    const memberSide = edge('memberOf', memberSidePartition(group.tenantId, member.id), group.id, group, member, group, now);
    const [groupWrite, memberWrite] = (
      await Promise.allSettled([
        // The group side is the truth, so its batch carries the change record (src/changes/changeLog.ts).
        runLoggedBatch(this.container, groupSide.pk, [readGroupAnchor(group), { operationType: 'Create', resourceBody: groupSide as unknown as JSONObject }], addedChange(group, member)),
        runTransactionalBatch(this.container, memberSide.pk, [readMemberAnchor(member), { operationType: 'Create', resourceBody: memberSide as unknown as JSONObject }]),
      ])
    ).map(sideOutcome) as [SideOutcome, SideOutcome];

    if (groupWrite.kind === 'stale' || memberWrite.kind === 'stale') {
      if (groupWrite.kind === 'created') await this.takeBack(groupSide.id, groupSide.pk, groupWrite.etag);
      if (memberWrite.kind === 'created') await this.takeBack(memberSide.id, memberSide.pk, memberWrite.etag);
      throw new StaleObjects([...(groupWrite.kind === 'stale' ? [group.id] : []), ...(memberWrite.kind === 'stale' ? [member.id] : [])]);
    }
    if (groupWrite.kind === 'created') {
      if (memberWrite.kind !== 'failed') return { created: true };
      await this.takeBack(groupSide.id, groupSide.pk, groupWrite.etag);
      throw memberWrite.error;
    }
    if (groupWrite.kind === 'exists') {
      const existing = await this.getMembership(group.tenantId, group.id, member.id);
      if (existing === undefined) return 'removedMeanwhile';
      if (memberWrite.kind === 'created') return { created: true };
      if (memberWrite.kind === 'failed') throw memberWrite.error;
      return { created: false, existing };
    }
    // The group side failed: a fault may hide a write that landed, so it is read before the
    // member side is taken back.
    if (memberWrite.kind === 'created') {
      const landed = await this.getMembership(group.tenantId, group.id, member.id).catch(() => undefined);
      if (landed !== undefined) return { created: true };
      await this.takeBack(memberSide.id, memberSide.pk, memberWrite.etag);
    }
    throw groupWrite.error;
  }

  /**
   * Takes back a document this request wrote before answering 5xx, tried a few times: one failed
   * take-back after one failed write leaves a half-written edge (visible until a retry completes
   * it or the reconciler removes it), so a passing fault must not be enough to leave one. A
   * store that stays down defeats it; the reconciler is the backstop. Never throws.
   */
  private async takeBack(id: string, partitionKey: string, etag: string | undefined, logged = true): Promise<void> {
    for (let attempt = 1; attempt <= takeBackAttempts; attempt += 1) {
      try {
        await this.deleteIfMatch(id, partitionKey, etag, logged);
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
  private async deleteIfMatch(id: string, partitionKey: string, etag: string | undefined, logged = true): Promise<void> {
    if (etag === undefined) return;
    // A group side taken back is a removal readers of the log may have seen added: logged too.
    if (logged && groupSideChange(id, partitionKey) !== undefined) {
      await this.deleteGroupSide(id, partitionKey, etag);
      return;
    }
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
    if (!(await this.deleteGroupSide(member.id, groupSidePartition(tenantId, group.id), undefined, member.objectType))) return false;
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

  /**
   * Writes an owner edge as the demo directory's seed (src/local/demoData.ts), idempotently and
   * with no change record: the seeded group's creation record stands for it, as for an owner
   * bound at POST /groups. Requests go through createOwner.
   */
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
    // A member side is written with its member's anchor read first (anchors.ts), so a member
    // deleted or changed since it was read makes the whole creation start again.
    type Write = { readonly document: EdgeDocument; readonly anchorOf?: DirectoryObjectDocument };
    const writes: Write[] = [
      ...owners.map((owner) => ({ document: edge('owner', ownerPartition(group.tenantId, group.id), owner.id, group, owner, owner, now) })),
      ...members.flatMap((member) => [
        { document: edge('member', groupSidePartition(group.tenantId, group.id), member.id, group, member, member, now) },
        { document: edge('memberOf', memberSidePartition(group.tenantId, member.id), group.id, group, member, group, now), anchorOf: member },
      ]),
    ];
    const outcomes = await Promise.all(
      writes.map(async ({ document, anchorOf }): Promise<SideOutcome> => {
        if (anchorOf !== undefined) {
          const settled = await runTransactionalBatch(this.container, document.pk, [readMemberAnchor(anchorOf), { operationType: 'Create', resourceBody: document as unknown as JSONObject }]).then(
            (value): PromiseSettledResult<OperationResponse[]> => ({ status: 'fulfilled', value }),
            (reason: unknown): PromiseSettledResult<OperationResponse[]> => ({ status: 'rejected', reason }),
          );
          return sideOutcome(settled);
        }
        try {
          return { kind: 'created', etag: (await this.container.items.create(document)).etag };
        } catch (error) {
          return statusOf(error) === 409 ? { kind: 'exists' } : { kind: 'failed', error };
        }
      }),
    );
    // The group does not exist yet, so these edges are no change of it (no record: the group's
    // own creation record stands for them, src/changes/changeLog.ts), and neither is their take-back.
    const takeBack = async () => {
      await Promise.all(
        outcomes.map((outcome, index) => (outcome.kind === 'created' ? this.takeBack(writes[index]!.document.id, writes[index]!.document.pk, outcome.etag, false) : Promise.resolve())),
      );
    };
    const stale = outcomes.flatMap((outcome, index) => (outcome.kind === 'stale' ? [writes[index]!.anchorOf!.id] : []));
    const failed = outcomes.find((outcome): outcome is Extract<SideOutcome, { kind: 'failed' }> => outcome.kind === 'failed');
    if (stale.length > 0 || failed !== undefined) {
      await takeBack();
      if (stale.length > 0) throw new StaleObjects(stale);
      throw failed!.error;
    }
    return takeBack;
  }

  /** One page (up to 1,000) of the edges of one kind in one partition, routing fields only. */
  async pageOfEdges(partitionKey: string, kind: EdgeKind, continuationToken?: string): Promise<{ edges: EdgeRouting[]; continuationToken?: string }> {
    const { resources, continuationToken: next } = await this.container.items
      .query<EdgeRouting>(
        {
          query: 'SELECT c.id, c.pk, c.kind, c.groupId, c.objectId FROM c WHERE c.pk = @pk AND c.kind = @kind',
          parameters: [
            { name: '@pk', value: partitionKey },
            { name: '@kind', value: kind },
          ],
        },
        { partitionKey, maxItemCount: 1000, ...(continuationToken === undefined ? {} : { continuationToken }) },
      )
      .fetchNext();
    return { edges: resources, ...(next === undefined || next === null ? {} : { continuationToken: next }) };
  }

  /**
   * Every edge of the tenant that names `objectId` at either end, in any partition: one
   * cross-partition query on indexed paths (kind, tenantId, objectId; groupId for a group's own
   * edges). What finds owner edges (kept on the group's side only) and the final sweep of a
   * deletion; never on a request's hot path.
   */
  async edgesNaming(tenantId: string, objectId: string, kinds: readonly EdgeKind[] = ['member', 'memberOf', 'owner']): Promise<EdgeRouting[]> {
    const { resources } = await this.container.items
      .query<EdgeRouting>({
        query: 'SELECT c.id, c.pk, c.kind, c.groupId, c.objectId FROM c WHERE c.tenantId = @tenantId AND ARRAY_CONTAINS(@kinds, c.kind) AND (c.objectId = @id OR c.groupId = @id)',
        parameters: [
          { name: '@tenantId', value: tenantId },
          { name: '@kinds', value: [...kinds] },
          { name: '@id', value: objectId },
        ],
      })
      .fetchAll();
    return resources;
  }

  /**
   * Deletes a group-side edge (only at `etag`, when given) in one batch with its change record
   * (src/changes/changeLog.ts): false when it was not there (or had changed).
   */
  private deleteGroupSide(id: string, partitionKey: string, etag: string | undefined, memberType?: 'user' | 'group'): Promise<boolean> {
    return this.deleteLogged(id, partitionKey, etag, groupSideChange(id, partitionKey, memberType)!);
  }

  /** Deletes an edge (only at `etag`, when given) in one batch with `change`, its record: false when it was not there (or had changed). */
  private async deleteLogged(id: string, partitionKey: string, etag: string | undefined, change: ChangeDraft): Promise<boolean> {
    const results = await runLoggedBatch(this.container, partitionKey, [{ operationType: 'Delete', id, partitionKey, ...(etag === undefined ? {} : { ifMatch: etag }) }], change);
    const failure = failedOperation(results);
    if (failure === undefined) return true;
    if (failure.statusCode === 404 || failure.statusCode === 412) return false;
    throw toStoreFault({ code: failure.statusCode }) ?? graphErrors.storeUnavailable(2);
  }

  /**
   * Deletes one document (only at `etag`, when given); an absent or changed one is left. A
   * group-side edge or an owner edge goes with its removal record (src/changes/changeLog.ts),
   * unless `unlogged`: an owner edge of a group being deleted, whose groupDeleted record stands
   * for it (src/directory/objectLifecycle.ts removeEdgesOf).
   */
  async deleteDocument(id: string, partitionKey: string, etag?: string, options: { readonly unlogged?: boolean } = {}): Promise<void> {
    if (groupSideChange(id, partitionKey) !== undefined) {
      await this.deleteGroupSide(id, partitionKey, etag);
      return;
    }
    const ownerRemoved = options.unlogged === true ? undefined : ownerEdgeChange(id, partitionKey);
    if (ownerRemoved !== undefined) {
      await this.deleteLogged(id, partitionKey, etag, ownerRemoved);
      return;
    }
    try {
      await this.container.item(id, partitionKey).delete(etag === undefined ? {} : { accessCondition: { type: 'IfMatch', condition: etag } });
    } catch (error) {
      if (statusOf(error) !== 404 && statusOf(error) !== 412) throw error;
    }
  }

  /** Every pending update of every tenant: the reconciler's work list (one cross-partition query). */
  async listPendingUpdates(): Promise<PendingUpdateDocument[]> {
    return (await this.container.items.query<PendingUpdateDocument>({ query: "SELECT * FROM c WHERE c.kind = 'pendingUpdate'" }).fetchAll()).resources;
  }

  /** Writes a bookkeeping document of this container (a pending update). */
  async upsertDocument(document: { readonly id: string; readonly pk: string }): Promise<void> {
    await this.container.items.upsert(document);
  }

  /**
   * Makes `owner` an owner of `group`; false when it already was one. The edge's create and its
   * `ownerAdded` record are one transactional batch in the owner partition (record last,
   * src/changes/changeLog.ts): a create that fails (409, a store fault) leaves no record.
   */
  async createOwner(group: DirectoryObjectDocument, owner: DirectoryObjectDocument): Promise<boolean> {
    const document = edge('owner', ownerPartition(group.tenantId, group.id), owner.id, group, owner, owner, new Date().toISOString());
    const results = await runLoggedBatch(
      this.container,
      document.pk,
      [{ operationType: 'Create', resourceBody: document as unknown as JSONObject }],
      ownerChange(group.tenantId, group.id, owner.id, 'ownerAdded'),
    );
    const failure = failedOperation(results);
    if (failure === undefined) return true;
    if (failure.index === 0 && failure.statusCode === 409) return false;
    throw toStoreFault({ code: failure.statusCode }) ?? graphErrors.storeUnavailable(2);
  }

  /**
   * Deletes an owner edge this request wrote itself (a PATCH's bind taken back because the rest
   * of the PATCH failed); false when it is not there. The edge committed, and was visible, before
   * it is taken back, so its ownerAdded record stands and the take-back writes the compensating
   * ownerRemoved in the delete's batch: a reader that saw the owner added sees it removed.
   */
  takeBackOwner(tenantId: string, groupId: string, ownerId: string): Promise<boolean> {
    return this.deleteLogged(ownerId, ownerPartition(tenantId, groupId), undefined, ownerChange(tenantId, groupId, ownerId, 'ownerRemoved'));
  }

  /**
   * Removes an owner edge while another owner, `witnessId`, is still there: one transactional
   * batch [replace the witness's edge with itself if-match its etag, delete the owner's edge,
   * create its ownerRemoved record].
   * Two removals racing to take a group's last two owners each rewrite the edge the other
   * deletes, so they conflict and at most one commits (Cosmos DB runs a batch as one transaction
   * with snapshot isolation in its partition, and a write-write conflict fails the later one:
   * https://learn.microsoft.com/azure/cosmos-db/nosql/transactional-batch; the embedded endpoint
   * runs batches one at a time and stops at the first failure). Reading the witness alone would
   * not do: both batches could read the other's edge and both commit (write skew).
   * `witnessGone` when the witness was removed or changed meanwhile: the caller reads again.
   */
  async removeOwner(tenantId: string, groupId: string, ownerId: string, witnessId: string): Promise<'removed' | 'notOwner' | 'witnessGone'> {
    const partitionKey = ownerPartition(tenantId, groupId);
    const { resource: witness } = await this.container.item(witnessId, partitionKey).read<EdgeDocument & { _etag?: string }>();
    if (witness === undefined) return 'witnessGone';
    const { _etag: etag, ...body } = witness;
    // The ownerRemoved record is the batch's last operation (src/changes/changeLog.ts).
    const results = await runLoggedBatch(
      this.container,
      partitionKey,
      [
        { operationType: 'Replace', id: witnessId, partitionKey, resourceBody: body as unknown as JSONObject, ...(etag === undefined ? {} : { ifMatch: etag }) },
        { operationType: 'Delete', id: ownerId, partitionKey },
      ],
      ownerChange(tenantId, groupId, ownerId, 'ownerRemoved'),
    );
    const failure = failedOperation(results);
    if (failure === undefined) return 'removed';
    if (failure.index === 0 && (failure.statusCode === 404 || failure.statusCode === 412)) return 'witnessGone';
    if (failure.index === 1 && failure.statusCode === 404) return 'notOwner';
    throw toStoreFault({ code: failure.statusCode }) ?? graphErrors.storeUnavailable(2);
  }

  /** Replaces the far-object snapshot of one edge; false when the edge is not there. */
  async setSnapshot(id: string, partitionKey: string, far: DirectoryObjectDocument): Promise<boolean> {
    try {
      await this.container.item(id, partitionKey).patch([{ op: 'set', path: '/far', value: toGraphEntity(far) }]);
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
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

  /**
   * The tenant's nesting journal (see nestingGuard.ts): the guard and its entries' marks, one
   * single-partition query; an absent guard is an empty journal without an etag.
   */
  async readNestingGuard(tenantId: string): Promise<NestingGuardState> {
    const partitionKey = nestingGuardPartition(tenantId);
    const { resources } = await this.container.items
      .query<NestingGuardDocument | NestingMarkDocument>({ query: 'SELECT * FROM c WHERE c.pk = @pk', parameters: [{ name: '@pk', value: partitionKey }] }, { partitionKey })
      .fetchAll();
    return nestingJournalOf(resources);
  }

  /**
   * The tenants whose journal has something for the timer: entries in the guard, or marks (the
   * timer's read; it scans the container on the indexed `kind` path, infra/).
   */
  async listNestingJournalTenants(): Promise<string[]> {
    const { resources } = await this.container.items
      .query<{ tenantId: string; listed?: number }>({ query: "SELECT c.tenantId, ARRAY_LENGTH(c.pending) AS listed FROM c WHERE c.kind = 'nestingGuard' OR c.kind = 'nestingMark'" })
      .fetchAll();
    return [...new Set(resources.filter((resource) => resource.listed === undefined || resource.listed > 0).map((resource) => resource.tenantId))];
  }

  /**
   * Replaces the nesting guard only if it is still the version read (`etag`; none: only if it
   * does not exist yet). Returns false when another request changed it first (412 on the
   * replace, 409 on the create). Cosmos DB honours If-Match on replace:
   * https://learn.microsoft.com/azure/cosmos-db/nosql/database-transactions-optimistic-concurrency
   */
  async replaceNestingGuard(tenantId: string, content: NestingGuardContent, etag: string | undefined): Promise<boolean> {
    const document: NestingGuardDocument = {
      id: nestingGuardId,
      pk: nestingGuardPartition(tenantId),
      tenantId,
      kind: 'nestingGuard',
      pending: content.pending,
      commits: content.commits,
    };
    try {
      if (etag === undefined) await this.container.items.create(document);
      else await this.container.item(nestingGuardId, document.pk).replace(document, { accessCondition: { type: 'IfMatch', condition: etag } });
      return true;
    } catch (error) {
      const status = statusOf(error);
      if (status === 409 || status === 412 || status === 404) return false;
      throw error;
    }
  }

  /** Writes (upserts) the mark of a journal entry: only its writer and its finishers write it, and each state only adds to the last. */
  async markNesting(tenantId: string, entry: PendingNesting, mark: NestingMark): Promise<void> {
    const document: NestingMarkDocument = { id: nestingMarkId(entry.id), pk: nestingGuardPartition(tenantId), tenantId, kind: 'nestingMark', entryId: entry.id, atMs: Date.now(), ...mark };
    await this.container.items.upsert(document);
  }

  /** Deletes the marks of entries the guard no longer lists (all at once; one already gone is fine). */
  async deleteNestingMarks(tenantId: string, entryIds: readonly string[]): Promise<void> {
    const partitionKey = nestingGuardPartition(tenantId);
    await Promise.all(
      entryIds.map(async (entryId) => {
        try {
          await this.container.item(nestingMarkId(entryId), partitionKey).delete();
        } catch (error) {
          if (statusOf(error) !== 404) throw error;
        }
      }),
    );
  }

  /**
   * One page of the edges a selection (edgeQuery.ts) names: a single-partition query, as
   * listPartition, with a `$filter` on the far-object snapshots (SPEC 6).
   */
  async queryEdges(selection: EdgeSelection, page: { readonly top: number; readonly continuationToken?: string }): Promise<EdgePage> {
    const { partitionKey, where, parameters } = selection;
    const tenantId = tenantOfPartition(partitionKey);
    const read = async (): Promise<EdgePage> => {
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
    };
    // The tenant's pending deletions in the same round: edges to objects being deleted are never shown.
    const [found, deleted] = await Promise.all([read(), this.deletions.deletedIds(tenantId)]);
    if (deleted.size === 0) return { ...found, pendingDeletions: deleted };
    return { ...found, edges: found.edges.filter((shown) => !deleted.has(shown.id)), pendingDeletions: deleted };
  }

  /**
   * How many edges a selection names: one aggregate query on its one logical partition (the store
   * counts; nothing is paged through here). Cosmos DB may answer an aggregate in partial results,
   * which are summed (https://learn.microsoft.com/azure/cosmos-db/nosql/query/aggregate-functions).
   */
  async countEdges(selection: EdgeSelection): Promise<number> {
    const { partitionKey, parameters } = selection;
    // Objects being deleted are not counted (their edges may not all be gone yet): one point read first.
    const deleted = [...(await this.deletions.deletedIds(tenantOfPartition(partitionKey)))];
    const where = deleted.length === 0 ? selection.where : `${selection.where} AND NOT ARRAY_CONTAINS(@deleted, c.id)`;
    const allParameters = deleted.length === 0 ? [...parameters] : [...parameters, { name: '@deleted', value: deleted }];
    const { resources } = await this.container.items.query<number>({ query: `SELECT VALUE COUNT(1) FROM c WHERE ${where}`, parameters: allParameters }, { partitionKey }).fetchAll();
    return resources.reduce((sum, value) => sum + value, 0);
  }
}
