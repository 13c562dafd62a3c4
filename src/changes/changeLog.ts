import { randomUUID } from 'node:crypto';
import type { Container, JSONObject, OperationInput, OperationResponse } from '@azure/cosmos';
import { runTransactionalBatch } from '../store/storeBatch';

/**
 * The change log (issue 12, item 1): one record per committed change of a group's membership
 * (a member added or removed), of its ownership (an owner added or removed) and of the group
 * itself (created or changed, deleted), kept in the partition of the document whose write it
 * describes and written in the SAME transactional batch as that write: the group's own edge
 * partition `{tid}|group|{G}` for a group-side edge or the group's anchor, the group's owner
 * partition `{tid}|owner|{G}` for an owner edge (a batch holds one logical partition only).
 * Every record names its group (`groupId`), and readers find records by tenant and group across
 * partitions (changeReads.ts), so where a record lives is the writer's concern alone.
 *
 * Why the batch and not the change feed: on Cosmos DB a transactional batch commits every
 * operation or none (https://learn.microsoft.com/azure/cosmos-db/nosql/transactional-batch), so
 * a record in the edge's batch exists exactly when the edge change committed: no change without
 * its record, no record for a change that did not commit. The change feed would give the same on
 * Cosmos DB only in its "all versions and deletes" mode (preview, continuous backup required:
 * https://learn.microsoft.com/azure/cosmos-db/nosql/change-feed-modes), and the embedded
 * endpoint (@vercel/cosmosdb-server) has no change feed at all; it does run batches, in order,
 * stopping at the first failure without undoing earlier writes. The record is the batch's last
 * operation, so there too a record exists only if every operation before it succeeded.
 *
 * Order: none is kept, on purpose. A sequence per group (a head document replaced If-Match in
 * every batch) was tried and dropped: it serialized every add to a group, across instances too
 * (each racing writer's batch failed on the head's etag and retried), so the hottest path of the
 * service paid for the rarest reader. A record is instead identified by its writer's clock and a
 * random suffix (`$change.{atMs}.{random}`), written in the edge's batch with no other document
 * touched. Readers never depend on the order of records: a delta round reports, for every member
 * named by a record since its watermark (read again commitLagMs back, for late commits and clock
 * skew), that member's state as the group side holds it when the round reads it (changeReads.ts,
 * delta.ts). A change inside the lag window may therefore be reported twice, always with the
 * current state, which Graph's delta allows (https://learn.microsoft.com/graph/delta-query-overview:
 * the same resource may be returned more than once; clients apply entries idempotently).
 *
 * Records expire after 8 days (per-item `ttl`, honoured because the container's defaultTtl is -1:
 * https://learn.microsoft.com/azure/cosmos-db/nosql/time-to-live), so a 7-day delta token always
 * finds every record it needs. The embedded endpoint never expires anything.
 */

export type ChangeType = 'memberAdded' | 'memberRemoved' | 'ownerAdded' | 'ownerRemoved' | 'groupChanged' | 'groupDeleted';

export interface ChangeDraft {
  readonly tenantId: string;
  readonly groupId: string;
  readonly changeType: ChangeType;
  /** memberAdded, memberRemoved: the member. */
  readonly memberId?: string;
  readonly memberType?: 'user' | 'group';
  /** ownerAdded, ownerRemoved: the owner (a user). */
  readonly ownerId?: string;
}

/**
 * The kinds of record, for readers: each reader reports the kinds it handles and passes over the
 * others (a members reader never reports an owner change as members@delta).
 */
export const isMembershipChange = (record: Pick<ChangeDraft, 'changeType'>): boolean => record.changeType === 'memberAdded' || record.changeType === 'memberRemoved';
export const isOwnershipChange = (record: Pick<ChangeDraft, 'changeType'>): boolean => record.changeType === 'ownerAdded' || record.changeType === 'ownerRemoved';
/** A change of the group itself (created, changed, deleted): readers read the whole group again. */
export const isLifecycleChange = (record: Pick<ChangeDraft, 'changeType'>): boolean => record.changeType === 'groupChanged' || record.changeType === 'groupDeleted';

export interface ChangeRecord extends ChangeDraft {
  readonly id: string;
  readonly pk: string;
  readonly kind: 'change';
  /** Unique per change: what a notification's id is, and what receivers drop repeats by. */
  readonly changeId: string;
  readonly atMs: number;
  readonly ttl: number;
}

export const changeRecordId = (atMs: number, changeId: string): string => `$change.${String(atMs).padStart(13, '0')}.${changeId.slice(0, 8)}`;
/** 8 days: a delta token is good for 7 (SPEC 9), and a reader may hold one to its last second. */
export const changeRecordTtlSeconds = 8 * 24 * 3600;

/** The record of `change`, as the batch that commits the change creates it. */
export function changeRecordOf(change: ChangeDraft, partitionKey: string): ChangeRecord {
  const changeId = randomUUID();
  const atMs = Date.now();
  return { ...change, id: changeRecordId(atMs, changeId), pk: partitionKey, kind: 'change', changeId, atMs, ttl: changeRecordTtlSeconds };
}

/**
 * Runs `operations` (all in `partitionKey`: a group side, or a group's owner partition) as one
 * transactional batch with the record of `change` created last, so that on the embedded endpoint
 * too (which stops at the first failure without undoing earlier operations) a record exists only
 * if every operation before it succeeded. Returns the answers of `operations` alone, in their order.
 */
export async function runLoggedBatch(container: Container, partitionKey: string, operations: readonly OperationInput[], change: ChangeDraft): Promise<OperationResponse[]> {
  const record = changeRecordOf(change, partitionKey);
  const results = await runTransactionalBatch(container, partitionKey, [...operations, { operationType: 'Create', resourceBody: record as unknown as JSONObject }]);
  for (const listener of committedListeners) listener(change.tenantId);
  return results.slice(0, operations.length);
}

const committedListeners = new Set<(tenantId: string) => void>();

/**
 * Calls `listener` with the tenant after each change record committed in this process: the
 * notification outbox's fast path (src/subscriptions/outbox.ts). Only a hint: the log stays the
 * source of truth, and the outbox's timer sweep finds whatever a hint missed (another instance's
 * commit, a process that stopped before dispatching). Listeners must not throw or block.
 */
export function onChangeCommitted(listener: (tenantId: string) => void): () => void {
  committedListeners.add(listener);
  return () => committedListeners.delete(listener);
}
