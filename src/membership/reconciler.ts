import type { Container } from '@azure/cosmos';
import { objectPartitionKey, toGraphEntity, type DirectoryObjectDocument } from '../directory/directoryObjects';
import { memberSidePartition, type EdgeDocument } from './edges';

export interface ReconcileOptions {
  /**
   * Member-side documents younger than this are left alone even without a group side: an add
   * may be between its two writes.
   */
  readonly graceInMs?: number;
}

export interface ReconcileReport {
  readonly groupSides: number;
  readonly memberSides: number;
  /** Member sides written for group sides that had none (a failed second write, never retried). */
  readonly repaired: number;
  /** Member sides deleted because no group side backs them (a failed create, or a racing remove). */
  readonly removed: number;
}

const edgeKey = (tenantId: string, groupId: string, memberId: string) => `${tenantId}|${groupId}|${memberId}`;

/**
 * Makes the member-side index agree with the group side, which is the truth: what no client
 * retry will heal. Run by a timer; idempotent, so an interrupted run is simply run again. It
 * reads every edge once (two cross-partition queries), which suits the scale a timer can scan;
 * at millions of edges the change feed would drive it instead.
 */
export async function reconcileMemberships(memberships: Container, directory: Container, options: ReconcileOptions = {}): Promise<ReconcileReport> {
  const graceInMs = options.graceInMs ?? 5 * 60_000;
  const groupSides = (await memberships.items
    .query<EdgeDocument>({ query: "SELECT * FROM c WHERE c.kind = 'member'" })
    .fetchAll()).resources;
  const memberSides = (await memberships.items
    .query<Pick<EdgeDocument, 'tenantId' | 'groupId' | 'objectId' | 'id' | 'pk' | '_ts'>>({
      query: "SELECT c.tenantId, c.groupId, c.objectId, c.id, c.pk, c._ts FROM c WHERE c.kind = 'memberOf'",
    })
    .fetchAll()).resources;

  const indexed = new Set(memberSides.map((side) => edgeKey(side.tenantId, side.groupId, side.objectId)));
  const truth = new Set(groupSides.map((side) => edgeKey(side.tenantId, side.groupId, side.objectId)));
  let repaired = 0;
  let removed = 0;

  const groups = new Map<string, Promise<DirectoryObjectDocument | undefined>>();
  const readGroup = (tenantId: string, groupId: string) => {
    const key = `${tenantId}|${groupId}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = directory.item(groupId, objectPartitionKey(tenantId, groupId)).read<DirectoryObjectDocument>().then((response) => response.resource);
      groups.set(key, group);
    }
    return group;
  };

  for (const side of groupSides) {
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
  }

  const cutoffSeconds = (Date.now() - graceInMs) / 1000;
  for (const side of memberSides) {
    if (truth.has(edgeKey(side.tenantId, side.groupId, side.objectId))) continue;
    if ((side._ts ?? 0) > cutoffSeconds) continue;
    await memberships.item(side.id, side.pk).delete().catch((error: { code?: number }) => {
      if (error.code !== 404) throw error;
    });
    removed += 1;
  }
  return { groupSides: groupSides.length, memberSides: memberSides.length, repaired, removed };
}
