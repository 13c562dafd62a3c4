import { z } from 'zod';
import { GraphError } from '../http/errors';
import { requestPathSegments } from '../http/routeTemplate';

/**
 * JSON batching (SPEC 8): what a `POST /$batch` body may hold, and its checks. Every problem found
 * here refuses the whole batch with a 400 before any inner request runs, as Graph does; what an
 * inner request gets wrong on its own (a bad id, a missing permission) is its own answer instead.
 * https://learn.microsoft.com/graph/json-batching
 */

/** Graph's limit: "JSON batch requests are currently limited to 20 individual requests." */
export const maxBatchRequests = 20;

/** The methods an inner request may use (Graph's batch takes the same ones). */
const batchMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
type BatchMethod = (typeof batchMethods)[number];
const writeMethods: readonly BatchMethod[] = ['POST', 'PUT', 'PATCH'];

/** One inner request as the client sends it. Unknown properties are ignored, as Graph does. */
export const batchStepSchema = z.object({
  id: z.string().min(1).describe('The id the client gives the request, unique in the batch (case-insensitive).'),
  method: z.string().min(1).describe('GET, POST, PUT, PATCH or DELETE.'),
  url: z.string().min(1).describe('The URL relative to the version, such as /groups/{id}/members/$ref.'),
  headers: z.record(z.string(), z.string()).optional().describe('Request headers; a body needs Content-Type: application/json.'),
  body: z.unknown().optional().describe('The JSON body.'),
  dependsOn: z.array(z.string()).optional().describe('Ids of earlier requests that must succeed first.'),
});

export const batchRequestSchema = z.object({ requests: z.array(batchStepSchema).describe(`The requests, at most ${maxBatchRequests}.`) });

/** One inner answer: `body` is a JSON object, absent for a 204. */
export const batchResponseSchema = z.object({
  responses: z
    .array(
      z.object({
        id: z.string().describe('The id of the request answered.'),
        status: z.number().int().min(100).max(599).describe('The HTTP status of the request; 424 when a request it depends on failed.'),
        headers: z.record(z.string(), z.string()).describe('The response headers, Retry-After included.'),
        body: z.looseObject({}).optional().describe('The JSON body; absent for 204.'),
      }),
    )
    .describe('One response per request, in request order.'),
});

export type BatchResponseItem = z.output<typeof batchResponseSchema>['responses'][number];

/** An inner request, checked and ready to dispatch. */
export interface BatchStep {
  readonly id: string;
  readonly method: BatchMethod;
  /** Path and query below the version segment, without a leading slash. */
  readonly relativeUrl: string;
  /** The inner headers, names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array | undefined;
  /** Indexes of earlier steps this one waits for. */
  readonly dependsOn: readonly number[];
}

const invalidPayload = (detail: string) => new GraphError('BadRequest', `Invalid batch payload format. ${detail}`);
// RFC 9110 5.1 (a token) and 5.5 (no CR, LF or NUL); Fetch's Headers also takes only bytes
// (https://fetch.spec.whatwg.org/#concept-header-value, WebIDL ByteString).
const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const headerValue = /^[\t\x20-\x7e\x80-\xff]*$/;
const jsonMediaType = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
// A scheme (`https:`), or a network-path reference (`//host`): not a URL relative to the version.
const absoluteUrl = /^(?:[a-z][a-z\d+.-]*:|[/\\]{2})/i;

/** Parses and checks a batch body; the first problem refuses the whole batch with a 400. */
export function parseBatch(body: unknown): BatchStep[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !Array.isArray((body as { requests?: unknown }).requests)) {
    throw invalidPayload("The body must be a JSON object with a 'requests' array.");
  }
  const requests = (body as { requests: unknown[] }).requests;
  // Counted before each entry is read, so a huge batch costs no more than a small one.
  // Graph's wording (microsoftgraph/microsoftgraph-postman-collections#9).
  if (requests.length > maxBatchRequests) {
    throw new GraphError('BadRequest', `Number of requests inside batch exceeds the limit. A batch holds at most ${maxBatchRequests} requests.`);
  }
  if (requests.length === 0) throw invalidPayload('The batch holds no requests.');

  const indexById = new Map<string, number>();
  return requests.map((entry, index) => {
    const parsed = batchStepSchema.safeParse(entry);
    if (!parsed.success) {
      const property = parsed.error.issues[0]?.path.join('.') ?? '';
      throw invalidPayload(`Request ${index + 1}: '${property}' is missing or not valid.`);
    }
    const step = parsed.data;
    // Ids compare without regard to case in Graph (microsoft-graph-docs#4449), in its wording
    // (msgraph-sdk-java#559).
    const key = step.id.toLowerCase();
    if (indexById.has(key)) throw new GraphError('BadRequest', `Request Id ${step.id} has to be unique in a batch.`);

    const dependsOn = (step.dependsOn ?? []).map((dependency) => {
      const earlier = indexById.get(dependency.toLowerCase());
      // Only earlier requests: Graph refuses a dependency that comes later ("Invalid dependency
      // for request Id", msgraph-sdk-dotnet-core#891), and so no cycle can be written.
      if (earlier === undefined) {
        throw new GraphError('BadRequest', `Invalid dependency for request Id ${step.id}: '${dependency}' is not the id of an earlier request of the batch.`);
      }
      return earlier;
    });
    indexById.set(key, index);

    const method = step.method.toUpperCase() as BatchMethod;
    if (!batchMethods.includes(method)) throw new GraphError('BadRequest', `Invalid method '${step.method}' for request Id ${step.id}.`);

    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(step.headers ?? {})) {
      // A header no HTTP request could carry is refused here: the Headers of the inner request
      // would throw on it, and that was a 500 (found by test/fuzz/fuzzRoutes.test.ts).
      if (!headerName.test(name) || !headerValue.test(value)) throw invalidPayload(`Request ${step.id}: the header '${name}' is not a valid HTTP header.`);
      headers[name.toLowerCase()] = value;
    }
    const contentType = headers['content-type'];
    // Graph refuses the whole batch when a write has no Content-Type or no body
    // (msgraph-sdk-dotnet#1038, msgraph-sdk-dotnet#2628 quote its answer).
    if (writeMethods.includes(method) && (contentType === undefined || step.body === undefined)) {
      throw new GraphError('BadRequest', `Write request id : ${step.id} does not contain Content-Type header or body.`);
    }

    return { id: step.id, method, relativeUrl: relativeUrlOf(step.id, step.url), headers, body: encodeBody(step.body, contentType, method), dependsOn };
  });
}

/**
 * The inner URL below the batch's version: `/groups/…` or `groups/…`. An absolute URL, one that
 * leaves the version (`../beta/…`, encoded or not), and the batch endpoint itself are refused: a
 * batch never runs another batch (msgraph-sdk-design, BatchRequestContent: "requests cannot
 * contain a batch request payload").
 */
function relativeUrlOf(id: string, url: string): string {
  const invalid = (why: string) => new GraphError('BadRequest', `Invalid request URL '${url}' for request Id ${id}: ${why}`);
  if (absoluteUrl.test(url)) throw invalid('give a URL relative to the version, such as /groups/{id}/members.');
  const relative = url.replace(/^[/\\]/, '');
  // Resolved as a client would resolve it: dot segments (also %2e) and backslashes are folded.
  const probe = 'http://batch.invalid/version/';
  const resolved = new URL(relative, probe);
  if (resolved.origin !== 'http://batch.invalid' || !resolved.pathname.startsWith('/version/')) throw invalid('the URL leaves the version of the batch.');
  const path = resolved.pathname.slice('/version/'.length);
  if (requestPathSegments(path)[0]?.toLowerCase() === '$batch') throw invalid('a batch cannot contain a batch.');
  return `${path}${resolved.search}`;
}

/** JSON bodies travel as JSON; any other declared type as base64 text, as Graph takes them. */
function encodeBody(body: unknown, contentType: string | undefined, method: BatchMethod): Uint8Array | undefined {
  if (body === undefined || method === 'GET') return undefined;
  if (contentType !== undefined && !jsonMediaType.test(contentType) && typeof body === 'string') return Buffer.from(body, 'base64');
  return Buffer.from(JSON.stringify(body));
}
