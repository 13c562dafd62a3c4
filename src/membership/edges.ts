import type { ObjectType } from '../directory/directoryObjects';

/**
 * One membership is one edge (tenant, group, member), stored twice so that both directions are
 * single-partition reads at any size:
 * - group side, partition `{tid}|group|{groupId}`, id = member id: the truth; its create is the
 *   atomic duplicate check.
 * - member side, partition `{tid}|member|{memberId}`, id = group id: an index, created beside
 *   the group side. Both are creates, so a retry can tell a half-written add (group side there,
 *   member side not: it completes it and answers success) from a duplicate (both there).
 * Owners are edges too, partition `{tid}|owner|{groupId}`, id = owner id.
 * Per tenant, the nesting journal lives in this container too (see nestingGuard.ts), partition
 * `{tid}|nesting`: the guard (kind 'nestingGuard') and its entries' marks (kind 'nestingMark');
 * every scan of edges filters on `kind`.
 * Each edge carries a snapshot of the object at its far end, so a page of members is one query
 * (a PATCH rewrites every copy before it answers: src/directory/objectLifecycle.ts). The objects'
 * anchors (src/membership/anchors.ts), and per tenant the pending deletions and updates, share the
 * container; every query on edges filters on `kind`.
 */
export const groupSidePartition = (tenantId: string, groupId: string): string => `${tenantId}|group|${groupId}`;
export const memberSidePartition = (tenantId: string, memberId: string): string => `${tenantId}|member|${memberId}`;
export const ownerPartition = (tenantId: string, groupId: string): string => `${tenantId}|owner|${groupId}`;
export const nestingGuardPartition = (tenantId: string): string => `${tenantId}|nesting`;

export type EdgeKind = 'member' | 'memberOf' | 'owner';

export interface EdgeDocument {
  readonly id: string;
  readonly pk: string;
  readonly tenantId: string;
  readonly kind: EdgeKind;
  readonly groupId: string;
  /** The member's (or owner's) id. */
  readonly objectId: string;
  /** Type of the object at the far end of this document's direction. */
  readonly farType: ObjectType;
  /** That object as Graph shows it. */
  readonly far: Readonly<Record<string, unknown>>;
  readonly createdDateTime: string;
  /** Set on group-side edges made by an add: lets a retry of that add get its answer again. */
  readonly origin?: AddOrigin;
  /** Cosmos DB's own last-modified time (seconds), on documents read back. */
  readonly _ts?: number;
}

/** Who made an edge and with which request, hashed: a retry with the same key and body replays. */
export interface AddOrigin {
  readonly keyHash: string;
  readonly requestHash: string;
  readonly atMs: number;
}
