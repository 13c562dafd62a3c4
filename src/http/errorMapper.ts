import type { InvocationContext } from '@azure/functions';
import { toStoreFault } from '../store/storeFaults';
import { ConcurrentChange, GraphError, graphErrors } from './errors';

/**
 * Turns anything a handler threw into a GraphError: our own errors as they are, store faults as
 * 429/503 with Retry-After, and everything else as a 500 that names only the request id (the
 * details go to the log, never to the client).
 */
export function toGraphError(error: unknown, context: InvocationContext, requestId: string): GraphError {
  if (error instanceof GraphError) return error;
  if (error instanceof ConcurrentChange) return graphErrors.throttled(1);
  const storeFault = toStoreFault(error);
  if (storeFault !== undefined) {
    context.warn(`request ${requestId}: store fault answered ${storeFault.status}: ${describe(error)}`);
    return storeFault;
  }
  context.error(`request ${requestId}: unexpected failure: ${describe(error)}`);
  return new GraphError('InternalServerError', `An internal error occurred. Quote request-id ${requestId} when reporting it.`);
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}${error.stack ? `\n${error.stack}` : ''}`;
  return String(error);
}
