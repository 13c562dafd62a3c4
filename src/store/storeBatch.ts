import type { Container, OperationInput, OperationResponse } from '@azure/cosmos';
import { graphErrors } from '../http/errors';
import { toStoreFault } from './storeFaults';

/** Seconds a client should wait when a batch failed for a reason the SDK does not tell. */
const unknownBatchFaultRetryAfterSeconds = 2;

/**
 * The text Cosmos DB answers a throttled request with (429, "Request rate is large"):
 * https://learn.microsoft.com/azure/cosmos-db/nosql/troubleshoot-request-rate-too-large
 */
const throttledMessage = /Request rate is large/i;

/**
 * Runs a transactional batch in one logical partition: every operation or none
 * (https://learn.microsoft.com/azure/cosmos-db/nosql/transactional-batch: a failed operation
 * carries its own status, every other one 424, and nothing is written). A Read that finds
 * nothing (404) fails the batch like any other operation, which is what makes a Read of an
 * object's anchor a precondition of the writes after it (src/membership/anchors.ts).
 *
 * The embedded endpoint (@vercel/cosmosdb-server) runs the operations in order, synchronously,
 * and stops at the first failure (the rest answer 424) without undoing earlier ones: a batch
 * whose only writes come after its reads is therefore all-or-nothing there too, and no other
 * request can run between its operations.
 *
 * `Items.batch` rethrows a failed request as a plain Error whose message is all that is left of
 * the store's status (sdk/cosmosdb/cosmos/src/client/Item/Items.ts): a throttled batch is told
 * by the service's own message (the SDK's retries for it ran already), anything else is answered
 * as the store being unavailable, which is honest (nothing of the batch was written; a retry is
 * safe).
 */
export async function runTransactionalBatch(container: Container, partitionKey: string, operations: OperationInput[]): Promise<OperationResponse[]> {
  try {
    const response = await container.items.batch(operations, partitionKey);
    return response.result ?? [];
  } catch (error) {
    const fault = toStoreFault(error);
    if (fault !== undefined) throw fault;
    if (error instanceof Error && throttledMessage.test(error.message)) throw graphErrors.throttled(1);
    throw graphErrors.storeUnavailable(unknownBatchFaultRetryAfterSeconds);
  }
}

/** The first operation that failed for its own reason (not 424, the others' answer), if any. */
export function failedOperation(results: readonly OperationResponse[]): { readonly index: number; readonly statusCode: number } | undefined {
  const index = results.findIndex((result) => result.statusCode >= 400 && result.statusCode !== 424);
  if (index >= 0) return { index, statusCode: results[index]!.statusCode };
  return results.some((result) => result.statusCode === 424) ? { index: -1, statusCode: 424 } : undefined;
}
