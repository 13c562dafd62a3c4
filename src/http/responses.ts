import type { HttpResponseInit } from '@azure/functions';
import type { GraphError } from './errors';
import type { RequestIds } from './requestContext';

/** What a handler answers; the pipeline adds the headers every response carries. */
export interface GraphResult {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export function standardHeaders(ids: RequestIds): Record<string, string> {
  return {
    'request-id': ids.requestId,
    'client-request-id': ids.clientRequestId,
    Date: new Date().toUTCString(),
    'Cache-Control': 'no-store',
  };
}

export function toHttpResponse(result: GraphResult, ids: RequestIds): HttpResponseInit {
  const headers = { ...standardHeaders(ids), ...result.headers };
  if (result.body === undefined) return { status: result.status, headers };
  // A text answer (the `/$count` segment's `text/plain` number) names its own Content-Type.
  if (typeof result.body === 'string' && result.headers?.['Content-Type'] !== undefined) return { status: result.status, headers, body: result.body };
  return {
    status: result.status,
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: JSON.stringify(result.body),
  };
}

export function errorResult(error: GraphError, ids: RequestIds): GraphResult {
  return {
    status: error.status,
    headers: error.headers,
    body: {
      error: {
        code: error.code,
        message: error.message,
        innerError: { date: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), 'request-id': ids.requestId, 'client-request-id': ids.clientRequestId },
      },
    },
  };
}
