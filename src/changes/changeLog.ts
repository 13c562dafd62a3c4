import { randomUUID } from 'node:crypto';
import type { Container, JSONObject, OperationInput, OperationResponse } from '@azure/cosmos';
import { graphErrors } from '../http/errors';
import { runTransactionalBatch } from '../store/storeBatch';

/**
 * The change log (issue 12, item 1): one record per committed change of a group's membership
 * (a member added or removed) and of the group itself (created or changed, deleted), kept in the
 * group's own edge partition `{tid}|group|{G}` and written in the SAME transactional batch as the
 * group-side edge (or the group's anchor) whose write it describes.
 *
 * Why the batch and not the change feed: on Cosmos DB a transactional batch commits every
 * operation or none (https://learn.microsoft.com/azure/cosmos-db/nosql/transactional-batch), so
 * a record in the edge's batch exists exactly when the edge change committed: no change without
 * its record, no record for a change that did not commit. The change feed would give the same on
 * Cosmos DB only in its "all versions and deletes" mode (preview, continuous backup required:
 * https://learn.microsoft.com/azure/cosmos-db/nosql/change-feed-modes), and the embedded
 * endpoint (@vercel/cosmosdb-server) has no change feed at all; it does run batches, in order,
 * stopping at the first failure without undoing earlier writes. The operations are ordered so
 * that this leaves nothing wrong there either: the preconditions (reads) first, then the head
 * (below), then the edge write, then the record. A failed head writes nothing; a failed edge
 * write after a written head leaves a gap in the sequence and no record, which readers never
 * need to fill.
 *
 * Order: each group partition holds a head document (`$changes`) with the group's last sequence
 * number, replaced If-Match its etag in the same batch (created when absent), and the record's id
 * is that number (`$change.000000000042`). Two writers of one group cannot both take a number:
 * the second's If-Match fails (412) and it reads the head again and retries. So the records of
 * one group are totally ordered by commit, with no clock involved. Across groups, records also
 * carry the writer's clock (`atMs`), which delta tokens and the outbox use as a coarse watermark
 * with a safety lag (deltaTokens.ts). The head costs no extra round trip in the common case: the
 * last head this process wrote or read is cached, and only a 412 reads it again.
 *
 * Records expire after 8 days (per-item `ttl`, honoured because the container's defaultTtl is -1:
 * https://learn.microsoft.com/azure/cosmos-db/nosql/time-to-live), so a 7-day delta token always
 * finds every record it needs. The embedded endpoint never expires anything.
 */

export type ChangeType = 'memberAdded' | 'memberRemoved' | 'groupChanged' | 'groupDeleted';

export interface ChangeDraft {
  readonly tenantId: string;
  readonly groupId: string;
  readonly changeType: ChangeType;
  readonly memberId?: string;
  readonly memberType?: 'user' | 'group';
}

export interface ChangeRecord extends ChangeDraft {
  readonly id: string;
  readonly pk: string;
  readonly kind: 'change';
  readonly seq: number;
  /** Unique per change: what a notification's id is, and what receivers drop repeats by. */
  readonly changeId: string;
  readonly atMs: number;
  readonly ttl: number;
}

interface ChangeHead {
  readonly id: string;
  readonly pk: string;
  readonly tenantId: string;
  readonly kind: 'changeHead';
  readonly groupId: string;
  readonly seq: number;
}

export const changeHeadId = '$changes';
export const changeRecordId = (seq: number): string => `$change.${String(seq).padStart(12, '0')}`;
/** 8 days: a delta token is good for 7 (SPEC 9), and a reader may hold one to its last second. */
export const changeRecordTtlSeconds = 8 * 24 * 3600;
/** Writers of one group that lose the head race this many times in a row get a 429. */
const maxHeadAttempts = 12;
/** Heads remembered per process; past this the cache starts again (it is only a hint). */
const maxCachedHeads = 10_000;

const heads = new Map<string, { readonly seq: number; readonly etag: string }>();

function statusOf(error: unknown): unknown {
  return (error as { code?: unknown }).code;
}

async function readHead(container: Container, partitionKey: string): Promise<{ seq: number; etag?: string }> {
  try {
    const { resource, etag } = await container.item(changeHeadId, partitionKey).read<ChangeHead>();
    if (resource === undefined) return { seq: 0 };
    return { seq: resource.seq, ...(etag === undefined ? {} : { etag }) };
  } catch (error) {
    if (statusOf(error) === 404) return { seq: 0 };
    throw error;
  }
}

/**
 * Runs `operations` (all in `partitionKey`, a group side) as one transactional batch with the
 * head and the record of `change` added: `preconditions` is how many of them come first and only
 * read. Returns the answers of `operations` alone, in their order, so callers read them as they
 * read a batch without the log. The record is written only when every operation succeeded.
 */
export function runLoggedBatch(container: Container, partitionKey: string, operations: readonly OperationInput[], change: ChangeDraft, preconditions = 0): Promise<OperationResponse[]> {
  // One logged batch per group at a time in this process: writers here never race each other
  // for the head (100 simultaneous adds to one group would otherwise lose to each other in
  // rounds); only other instances do, and they retry with a jittered pause.
  const previous = inFlight.get(partitionKey) ?? Promise.resolve();
  const run = previous.then(() => runLoggedBatchNow(container, partitionKey, operations, change, preconditions));
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  inFlight.set(partitionKey, settled);
  void settled.then(() => {
    if (inFlight.get(partitionKey) === settled) inFlight.delete(partitionKey);
  });
  return run;
}

const inFlight = new Map<string, Promise<void>>();
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function runLoggedBatchNow(container: Container, partitionKey: string, operations: readonly OperationInput[], change: ChangeDraft, preconditions: number): Promise<OperationResponse[]> {
  for (let attempt = 1; attempt <= maxHeadAttempts; attempt += 1) {
    if (attempt > 2) await pause(Math.random() * 5 * attempt);
    const cached = attempt === 1 ? heads.get(partitionKey) : undefined;
    const head = cached ?? (await readHead(container, partitionKey));
    const seq = head.seq + 1;
    const headBody: ChangeHead = { id: changeHeadId, pk: partitionKey, tenantId: change.tenantId, kind: 'changeHead', groupId: change.groupId, seq };
    const record: ChangeRecord = {
      ...change,
      id: changeRecordId(seq),
      pk: partitionKey,
      kind: 'change',
      seq,
      changeId: randomUUID(),
      atMs: Date.now(),
      ttl: changeRecordTtlSeconds,
    };
    const headOperation: OperationInput =
      head.etag === undefined
        ? { operationType: 'Create', resourceBody: headBody as unknown as JSONObject }
        : // The partition key on the operation too: the embedded endpoint reads it from there.
          { operationType: 'Replace', id: changeHeadId, partitionKey, resourceBody: headBody as unknown as JSONObject, ifMatch: head.etag };
    const batch = [
      ...operations.slice(0, preconditions),
      headOperation,
      ...operations.slice(preconditions),
      { operationType: 'Create', resourceBody: record as unknown as JSONObject } as OperationInput,
    ];
    let results: OperationResponse[];
    try {
      results = await runTransactionalBatch(container, partitionKey, batch);
    } catch (error) {
      heads.delete(partitionKey);
      throw error;
    }
    const headResult = results[preconditions];
    const headLost = headResult !== undefined && (headResult.statusCode === 412 || headResult.statusCode === 409 || headResult.statusCode === 404);
    const ownResults = [...results.slice(0, preconditions), ...results.slice(preconditions + 1, preconditions + 1 + (operations.length - preconditions))];
    const failed = results.some((result) => result.statusCode >= 400);
    if (!failed && headResult?.eTag !== undefined) {
      if (heads.size >= maxCachedHeads) heads.clear();
      heads.set(partitionKey, { seq, etag: headResult.eTag });
    } else heads.delete(partitionKey);
    // A precondition that failed decides, whatever the head did (424 after it).
    const preconditionFailed = ownResults.slice(0, preconditions).some((result) => result.statusCode >= 400 && result.statusCode !== 424);
    if (headLost && !preconditionFailed) continue;
    return ownResults;
  }
  throw graphErrors.throttled(1);
}
