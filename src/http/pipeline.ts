import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getTokenVerifier, type Caller } from '../auth';
import { requirePermission, type Permission } from '../auth/permissions';
import { runMetered } from '../store/storeMeter';
import { toGraphError } from './errorMapper';
import { parseJson, readJsonText } from './jsonBody';
import { readQueryOptions } from './queryOptions';
import { apiVersionOf, clientBaseUrl, createRequestIds, type RequestIds } from './requestContext';
import { errorResult, toHttpResponse, type GraphResult } from './responses';

export interface AnonymousRequest {
  readonly request: HttpRequest;
  readonly context: InvocationContext;
  readonly ids: RequestIds;
  /** Scheme and host the client used, for absolute links. */
  readonly baseUrl: string;
  readonly apiVersion: 'v1.0' | 'beta';
}

export interface GraphRequest extends AnonymousRequest {
  readonly caller: Caller;
  /** The parsed JSON body, for routes that take one; undefined otherwise. */
  readonly body: unknown;
  /** The body as it came, for recognizing a retry of this exact request. */
  readonly bodyText: string | undefined;
}

interface AuthenticatedRoute {
  /** Whether the route takes a JSON body (checked for size and type before authentication). */
  readonly acceptsBody?: boolean;
  /** The permission the route needs (403 without it), checked before the body is parsed. */
  readonly permission: Permission;
  /**
   * Whether the handler reads its OData query options (src/http/queryOptions.ts), refusing those it
   * does not support. Otherwise the route takes none, and any `$` option is a 400 naming it
   * before the handler runs (SPEC 6), rather than silently ignored.
   */
  readonly readsQueryOptions?: boolean;
  readonly handle: (request: GraphRequest) => Promise<GraphResult>;
}

/**
 * The request lifecycle every authenticated function shares, in order: request ids, body limits
 * (413/415), authentication (401), permission (403), query options the route does not take (400),
 * JSON parsing (400), the handler (which validates, checks rights on the objects and acts), and
 * error mapping (Graph envelope, 429/503 for store faults, a bare 500 for the rest).
 */
export function authenticated(route: AuthenticatedRoute): HttpHandler {
  return (request, context) =>
    runPipeline(request, context, async (base) => {
      const bodyText = route.acceptsBody === true ? await readJsonText(request) : undefined;
      const caller = await getTokenVerifier().verifyAuthorizationHeader(request.headers.get('authorization'));
      logContext.set(context, caller);
      requirePermission(caller, route.permission);
      if (route.readsQueryOptions !== true) readQueryOptions(request);
      const body = bodyText === undefined ? undefined : parseJson(bodyText);
      return route.handle({ ...base, caller, body, bodyText });
    });
}

/** The same lifecycle without authentication, for /health and the OpenAPI document. */
export function anonymous(handle: (request: AnonymousRequest) => Promise<GraphResult>): HttpHandler {
  return (request, context) => runPipeline(request, context, handle);
}

// The caller is known only part-way through; the request log line needs it at the end.
const logContext = new WeakMap<InvocationContext, Caller>();

async function runPipeline(request: HttpRequest, context: InvocationContext, steps: (base: AnonymousRequest) => Promise<GraphResult>): Promise<HttpResponseInit> {
  const startedAt = performance.now();
  const ids = createRequestIds(request);
  const base: AnonymousRequest = { request, context, ids, baseUrl: clientBaseUrl(request), apiVersion: apiVersionOf(request) };
  const { meter, result } = runMetered(() => steps(base));
  let answer: GraphResult;
  try {
    answer = await result;
  } catch (error) {
    answer = errorResult(toGraphError(error, context, ids.requestId), ids);
  }
  const caller = logContext.get(context);
  context.info('request', {
    requestId: ids.requestId,
    clientRequestId: ids.clientRequestId,
    method: request.method,
    route: context.functionName,
    status: answer.status,
    durationMs: Math.round((performance.now() - startedAt) * 10) / 10,
    tenantId: caller?.tenantId,
    appId: caller?.appId,
    cosmosRequests: meter.requests,
    cosmosRequestCharge: Math.round(meter.requestCharge * 100) / 100,
  });
  return toHttpResponse(answer, ids);
}
