import { GraphError, graphErrors } from '../http/errors';

const unreachableCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/** Seconds a client should wait after the store said it was unavailable. */
const unavailableRetryAfterSeconds = 2;

interface CosmosLikeError {
  code?: unknown;
  statusCode?: unknown;
  retryAfterInMs?: unknown;
  retryAfterInMilliseconds?: unknown;
  name?: unknown;
  cause?: unknown;
}

/**
 * Maps a failure of a Cosmos DB call to the answer a client can act on: 429 when the store
 * throttles (after the SDK's own short retries), 503 when it cannot be reached, times out or
 * fails on its side. Anything else is not a store fault and is returned as undefined.
 */
export function toStoreFault(error: unknown): GraphError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const fault = error as CosmosLikeError;
  const status = typeof fault.code === 'number' ? fault.code : typeof fault.statusCode === 'number' ? fault.statusCode : undefined;
  if (status === 429) {
    const retryAfterMs = Number(fault.retryAfterInMs ?? fault.retryAfterInMilliseconds ?? 1000);
    return graphErrors.throttled(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  }
  // 408 request timeout, 410 gone (partition moved), 449 retry-with, and the store's own 5xx.
  if (status === 408 || status === 410 || status === 449 || (status !== undefined && status >= 500)) {
    return graphErrors.storeUnavailable(unavailableRetryAfterSeconds);
  }
  if (typeof fault.code === 'string' && unreachableCodes.has(fault.code)) return graphErrors.storeUnavailable(unavailableRetryAfterSeconds);
  if (fault.name === 'TimeoutError' || fault.name === 'AbortError') return graphErrors.storeUnavailable(unavailableRetryAfterSeconds);
  if (status === undefined && fault.cause !== undefined && fault.cause !== error) return toStoreFault(fault.cause);
  return undefined;
}

/**
 * Runs an idempotent store call (a read, or a write whose repetition changes nothing, such as an
 * If-Match replace recomputed from fresh reads) again after a store fault, at most `attempts`
 * times in all, with a short random pause between. Any other failure, and the last fault, is
 * thrown. For work that must end even when a share of requests fails (the closure's recompute, the
 * nesting journal's marks): one call of many failing should not throw away the others.
 */
export async function retryStoreFaults<T>(operation: () => Promise<T>, attempts = 2): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= attempts || toStoreFault(error) === undefined) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40 * attempt));
    }
  }
}
