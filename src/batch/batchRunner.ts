import { randomUUID } from 'node:crypto';
import { InvocationContext, type HttpHandler, type HttpRequest, type HttpResponseInit, type LogHandler } from '@azure/functions';
import { GraphError } from '../http/errors';
import { errorResult } from '../http/responses';
import { compileRouteTemplate, inHostOrder, requestPathSegments, selectRoute, type RouteTemplate } from '../http/routeTemplate';
import { streamedHttpRequest } from '../http/streamedRequest';
import type { BatchResponseItem, BatchStep } from './batchRequest';

/**
 * How many inner requests of one batch run at once. Four, as Graph runs a batch's requests to
 * one Outlook mailbox (https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits):
 * enough to overlap store round trips, few enough that one batch of 20 cannot take every Cosmos
 * connection and every core from the single requests beside it.
 */
export const batchConcurrency = 4;

/** What the batch needs of a catalogue function: the host's routing data and its handler. */
export interface BatchRoutable {
  readonly name: string;
  readonly route: string;
  readonly methods: readonly string[];
  readonly handler: HttpHandler;
}

interface RunOptions {
  readonly steps: readonly BatchStep[];
  /** The catalogue, matched in the host's order by the host's own matcher. */
  readonly routes: readonly { readonly definition: BatchRoutable; readonly template: RouteTemplate }[];
  /** The batch function itself, which an inner request must never reach. */
  readonly batchFunctionName: string;
  readonly outer: HttpRequest;
  readonly outerContext: InvocationContext;
  readonly apiVersion: 'v1.0' | 'beta';
}

const routeCache = new WeakMap<readonly BatchRoutable[], { definition: BatchRoutable; template: RouteTemplate }[]>();

/** The catalogue compiled once, in the order the Functions host tries its routes. */
export function compiledRoutes(functions: readonly BatchRoutable[]): { definition: BatchRoutable; template: RouteTemplate }[] {
  let routes = routeCache.get(functions);
  if (routes === undefined) {
    routes = inHostOrder(functions).map((definition) => ({ definition, template: compileRouteTemplate(definition.route) }));
    routeCache.set(functions, routes);
  }
  return routes;
}

/**
 * Runs a checked batch and answers every inner request, in request order. A request waits for
 * the ones it depends on and answers 424 if one of them did not succeed (2xx); the others run as
 * soon as a slot is free, at most batchConcurrency at a time. The first request runs alone: what
 * the requests of a batch usually share (the group of 20 adds, the caller's rights on it) is then
 * read once and served from the repositories' caches to the others, so a batch of adds costs no
 * more store requests than the same adds sent one by one.
 */
export async function runBatch(options: RunOptions): Promise<BatchResponseItem[]> {
  const slots = new Semaphore(batchConcurrency);
  const answers: Promise<BatchResponseItem>[] = [];
  for (const step of options.steps) {
    const waitFor = step.dependsOn.map((index) => answers[index]!);
    const first = answers[0];
    answers.push(
      (async () => {
        const dependencies = await Promise.all(waitFor);
        const failed = dependencies.find((answer) => answer.status < 200 || answer.status > 299);
        if (failed !== undefined) return failedDependency(step, failed.id);
        if (first !== undefined && waitFor.length === 0) await first;
        return slots.run(() => dispatch(step, options));
      })(),
    );
  }
  return Promise.all(answers);
}

function failedDependency(step: BatchStep, dependencyId: string): BatchResponseItem {
  const error = new GraphError('FailedDependency', `The request depends on request ${dependencyId}, which did not succeed.`);
  const ids = { requestId: randomUUID(), clientRequestId: step.headers['client-request-id'] ?? randomUUID(), clientChoseId: false };
  const result = errorResult(error, ids);
  return { id: step.id, status: result.status, headers: { 'Content-Type': 'application/json' }, body: result.body as Record<string, unknown> };
}

/**
 * One inner request through the same function, pipeline included, as the host would run it: the
 * route chosen by the host's matcher in the host's order, an HttpRequest built as the worker
 * builds it under HTTP streams, and an InvocationContext of its own, named `batch/<function>` so
 * that its request log line is told apart from a single request's.
 */
async function dispatch(step: BatchStep, options: RunOptions): Promise<BatchResponseItem> {
  const outerUrl = new URL(options.outer.url);
  const url = new URL(`/${options.apiVersion}/${step.relativeUrl}`, outerUrl.origin);
  const selected = selectRoute(options.routes, step.method, requestPathSegments(url.pathname));
  if (selected === undefined || selected.definition.name === options.batchFunctionName) {
    // The catch-alls answer every path but the empty one and the batch's own, both refused when
    // the batch was read; this only keeps a change there from turning into a recursion.
    return { id: step.id, status: 404, headers: {} };
  }

  const headers = new Headers();
  for (const [name, value] of Object.entries(step.headers)) {
    // The outer request's token is the only one that counts, and the length is the body's own.
    if (name === 'authorization' || name === 'content-length' || name === 'host') continue;
    headers.set(name, value);
  }
  // What places the batch: its token, and what a local TLS proxy said about the client's address.
  for (const name of ['authorization', 'x-forwarded-proto', 'x-forwarded-host']) {
    const value = options.outer.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  const withBody = step.body !== undefined && step.method !== 'GET';
  const nativeRequest = new Request(url, { method: step.method, headers, ...(withBody ? { body: step.body } : {}) });
  const request = streamedHttpRequest(nativeRequest, selected.params);
  const context = new InvocationContext({
    invocationId: randomUUID(),
    functionName: `batch/${selected.definition.name}`,
    logHandler: forwardTo(options.outerContext),
  });
  const response = (await selected.definition.handler(request, context)) as HttpResponseInit;
  return toBatchResponse(step.id, response);
}

/** Inner log lines go where the batch's own go (under the worker: the host, with its invocation). */
function forwardTo(outer: InvocationContext): LogHandler {
  return (level, ...args) => {
    if (level === 'error' || level === 'critical') outer.error(...args);
    else if (level === 'warning') outer.warn(...args);
    else if (level === 'debug') outer.debug(...args);
    else if (level === 'trace') outer.trace(...args);
    else if (level === 'information') outer.info(...args);
  };
}

function toBatchResponse(id: string, response: HttpResponseInit): BatchResponseItem {
  const headers: Record<string, string> = {};
  const given = response.headers;
  if (given instanceof Headers) given.forEach((value, name) => (headers[name] = value));
  else if (given !== undefined) for (const [name, value] of Object.entries(given as Record<string, string>)) headers[name] = value;
  const item: BatchResponseItem = { id, status: response.status ?? 200, headers };
  // The pipeline answers JSON objects as text (src/http/responses.ts); a batch carries them parsed.
  if (typeof response.body === 'string' && response.body !== '') return { ...item, body: JSON.parse(response.body) as Record<string, unknown> };
  return item;
}

/** A counting semaphore: at most `limit` calls of run() at once, the rest in arrival order. */
class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active += 1;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) this.active -= 1;
      else next();
    }
  }
}
