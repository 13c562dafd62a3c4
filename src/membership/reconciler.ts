import type { Container } from '@azure/cosmos';
import { objectPartitionKey, toGraphEntity, type DirectoryObjectDocument } from '../directory/directoryObjects';
import { GroupClosure } from './closure';
import { memberSidePartition, type EdgeDocument } from './edges';

export interface ReconcileOptions {
  /**
   * Member-side documents younger than this are left alone even without a group side: an add
   * may be between its two writes.
   */
  readonly graceInMs?: number;
}

type RoutingFields = Pick<EdgeDocument, 'tenantId' | 'groupId' | 'objectId' | 'id' | 'pk' | '_ts'>;

export interface ReconcileReport {
  readonly groupSides: number;
  readonly memberSides: number;
  /** Member sides written for group sides that had none (a failed second write, never retried). */
  readonly repaired: number;
  /** Member sides deleted because no group side backs them (a failed create, or a racing remove). */
  readonly removed: number;
  /**
   * Edges (owner, group side and its member side) deleted because their group does not exist:
   * what a POST /groups leaves when both its group write and its take-back failed.
   */
  readonly abandoned: number;
}

const edgeKey = (tenantId: string, groupId: string, memberId: string) => `${tenantId}|${groupId}|${memberId}`;

/**
 * Makes the member-side index agree with the group side, which is the truth: what no client
 * retry will heal. Also deletes the edges of groups that do not exist (older than the grace
 * period): POST /groups writes its edges before the group document, its commit point, and takes
 * them back if the group is not written; only a failed take-back leaves them. Run by a timer;
 * idempotent, so an interrupted run is simply run again. It reads every edge once (three
 * cross-partition queries), which suits the scale a timer can scan; at millions of edges the
 * change feed would drive it instead.
 */
export async function reconcileMemberships(memberships: Container, directory: Container, options: ReconcileOptions = {}): Promise<ReconcileReport> {
  const graceInMs = options.graceInMs ?? 5 * 60_000;
  const groupSides = (await memberships.items.query<EdgeDocument>({ query: "SELECT * FROM c WHERE c.kind = 'member'" }).fetchAll()).resources;
  const routingFieldsOf = async (kind: 'memberOf' | 'owner') =>
    (
      await memberships.items
        .query<RoutingFields>({ query: 'SELECT c.tenantId, c.groupId, c.objectId, c.id, c.pk, c._ts FROM c WHERE c.kind = @kind', parameters: [{ name: '@kind', value: kind }] })
        .fetchAll()
    ).resources;
  const memberSides = await routingFieldsOf('memberOf');
  const ownerEdges = await routingFieldsOf('owner');

  const groups = new Map<string, Promise<DirectoryObjectDocument | undefined>>();
  const readGroup = (tenantId: string, groupId: string) => {
    const key = `${tenantId}|${groupId}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = directory
        .item(groupId, objectPartitionKey(tenantId, groupId))
        .read<DirectoryObjectDocument>()
        .then((response) => response.resource);
      groups.set(key, group);
    }
    return group;
  };
  const cutoffSeconds = (Date.now() - graceInMs) / 1000;
  const isOld = (document: { _ts?: number }) => (document._ts ?? 0) <= cutoffSeconds;
  const deleteIfPresent = (id: string, pk: string) =>
    memberships
      .item(id, pk)
      .delete()
      .catch((error: { code?: number }) => {
        if (error.code !== 404) throw error;
      });

  let abandoned = 0;
  const abandonedKeys = new Set<string>();
  const liveGroupSides: EdgeDocument[] = [];
  for (const side of groupSides) {
    if (isOld(side) && (await readGroup(side.tenantId, side.groupId)) === undefined) {
      await deleteIfPresent(side.id, side.pk);
      await deleteIfPresent(side.groupId, memberSidePartition(side.tenantId, side.objectId));
      abandonedKeys.add(edgeKey(side.tenantId, side.groupId, side.objectId));
      abandoned += 1;
    } else liveGroupSides.push(side);
  }
  for (const owner of ownerEdges) {
    if (isOld(owner) && (await readGroup(owner.tenantId, owner.groupId)) === undefined) {
      await deleteIfPresent(owner.id, owner.pk);
      abandoned += 1;
    }
  }

  const indexed = new Set(memberSides.map((side) => edgeKey(side.tenantId, side.groupId, side.objectId)));
  const truth = new Set(liveGroupSides.map((side) => edgeKey(side.tenantId, side.groupId, side.objectId)));
  let repaired = 0;
  let removed = 0;
  const nestingsChanged: { readonly tenantId: string; readonly groupId: string; readonly objectId: string }[] = [];

  for (const side of liveGroupSides) {
    if (indexed.has(edgeKey(side.tenantId, side.groupId, side.objectId))) continue;
    const group = await readGroup(side.tenantId, side.groupId);
    if (group === undefined) continue;
    const memberSide: EdgeDocument = {
      id: side.groupId,
      pk: memberSidePartition(side.tenantId, side.objectId),
      tenantId: side.tenantId,
      kind: 'memberOf',
      groupId: side.groupId,
      objectId: side.objectId,
      farType: 'group',
      far: toGraphEntity(group),
      createdDateTime: side.createdDateTime,
    };
    await memberships.items.upsert(memberSide);
    repaired += 1;
    if (side.farType === 'group') nestingsChanged.push(side);
  }

  for (const side of memberSides) {
    const key = edgeKey(side.tenantId, side.groupId, side.objectId);
    if (truth.has(key) || abandonedKeys.has(key) || !isOld(side)) continue;
    await deleteIfPresent(side.id, side.pk);
    removed += 1;
    if ((await readGroup(side.tenantId, side.objectId))?.objectType === 'group') nestingsChanged.push(side);
  }
  // The ancestors of a nested group are recomputed from its member side (closure.ts): a member
  // side written or removed here changes them, so the closure is recomputed for each such nesting.
  const closure = new GroupClosure(memberships);
  for (const nesting of nestingsChanged) await closure.afterNestingChanged(nesting.tenantId, nesting.groupId, nesting.objectId);
  return { groupSides: groupSides.length, memberSides: memberSides.length, repaired, removed, abandoned };
}
