import fc from 'fast-check';
import { errorCodes } from '../../src/http/errors';
import { requestPathSegments } from '../../src/http/routeTemplate';
import type { TestResponse, TestService } from '../support/testService';

/**
 * Shared pieces of the fuzz suites: the seed (fixed, so a red run is reproducible; FUZZ_SEED
 * overrides it, FUZZ_RUNS_SCALE multiplies every numRuns), a request description that a failure
 * message can print, and the checks every response must pass.
 */
export const fuzzSeed = process.env.FUZZ_SEED === undefined ? 20250805 : Number(process.env.FUZZ_SEED);
const runsScale = Number(process.env.FUZZ_RUNS_SCALE ?? '1');

export function runs(numRuns: number): number {
  return Math.max(1, Math.round(numRuns * (Number.isFinite(runsScale) && runsScale > 0 ? runsScale : 1)));
}

/**
 * Runs a property with the suite's seed. Shrinking is off: the service is stateful (successful
 * adds change what later requests see) and the unshrunk counterexample is printed in full anyway.
 * The seed and fast-check's replay path are in the message, with the command that reproduces it.
 */
export async function assertProperty<T>(name: string, property: fc.IAsyncPropertyWithHooks<T>, numRuns: number): Promise<void> {
  const details = await fc.check(property, { seed: fuzzSeed, numRuns: runs(numRuns), endOnFailure: true });
  if (!details.failed) return;
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  const counterexample = details.counterexample === null ? '' : `\ncounterexample: ${clip(fc.stringify(details.counterexample), 600)}`;
  throw new Error(
    `[fuzz] property '${name}' failed after ${details.numRuns} run(s) with FUZZ_SEED=${fuzzSeed} (fast-check path "${details.counterexamplePath ?? ''}"; rerun: FUZZ_SEED=${fuzzSeed} npx jest dist/test/fuzz)\n${cause}${counterexample}`,
  );
}

/** One HTTP request as the fuzzers build it, printable in a failure message. */
export interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly rawBody?: string;
  /** A token name from the suite's table, or null for the Authorization header given in headers (or none). */
  readonly token: string | null;
  /** Which route the generator aimed at (for messages; the host decides what it really hits). */
  readonly aim: string;
}

export function describeRequest(request: FuzzRequest): string {
  const body = request.rawBody === undefined ? '' : `\n  body (${request.rawBody.length} chars): ${clip(request.rawBody, 600)}`;
  const headers = Object.entries(request.headers)
    .map(([name, value]) => `\n  ${name}: ${clip(value, 300)}`)
    .join('');
  return `${request.method} ${clip(request.path, 600)}  [aim ${request.aim}, token ${request.token ?? 'from headers/none'}]${headers}${body}`;
}

export function clip(text: string, max: number): string {
  const printable = JSON.stringify(text);
  return printable.length <= max ? printable : `${printable.slice(0, max)}… (${text.length} chars)`;
}

export function describeResponse(response: TestResponse): string {
  const headers = ['content-type', 'request-id', 'client-request-id', 'www-authenticate', 'allow', 'location', 'retry-after']
    .map((name) => [name, response.headers.get(name)] as const)
    .filter(([, value]) => value !== null)
    .map(([name, value]) => `${name}: ${value}`)
    .join('; ');
  return `${response.status} {${headers}} ${clip(response.text, 800)}`;
}

export class FuzzFailure extends Error {
  override readonly name = 'FuzzFailure';
}

const guidLike = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const clientRequestIdPattern = /^[\x21-\x7e]{1,128}$/;

/** Methods the Functions host can route (HttpMethod); others never reach a function. */
export const routableMethods = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

/** fetch strips only HTTP whitespace (space, tab) around header values, not every Unicode space. */
const httpTrim = (value: string) => value.replace(/^[ \t]+|[ \t]+$/g, '');

/** The path as fetch sends it (dot segments resolved), or as given when it is no URL path. */
function resolvedPath(path: string): string {
  try {
    return path.startsWith('/') ? new URL(`http://host${path}`).pathname : new URL(path, 'http://host/').pathname;
  } catch {
    return path;
  }
}

function isAbsoluteUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host !== '';
  } catch {
    return false;
  }
}

/**
 * What SPEC section 4 promises of every response of a routable method: never a 5xx (no store
 * fault is injected by these suites), request-id / client-request-id / Date / Cache-Control,
 * and on any error the Graph envelope whose code belongs to the status; 401 carries
 * WWW-Authenticate, 405 carries Allow; links in a success are absolute URLs.
 */
export function responseViolations(request: FuzzRequest, response: TestResponse): string[] {
  const problems: string[] = [];
  const { status, headers } = response;
  if (status >= 500) problems.push(`a ${status}: no store fault was injected, so nothing may answer 5xx`);
  // The Functions host never hands such a method to a function, nor a path with nothing after
  // the slashes (no function takes an empty path: a catch-all's regex constraint refuses an
  // empty value, functions/notFound.ts): it answers on its own.
  // fetch resolves dot segments (also %2e) before sending: "/users/.." goes out as "/".
  const sentPath = resolvedPath(request.path.split(/[?#]/)[0] ?? '');
  if (!routableMethods.has(request.method.toUpperCase()) || requestPathSegments(sentPath).join('/') === '') {
    if (status >= 200 && status < 300) problems.push(`a ${status} for ${request.method} ${request.path}, which no function is routed`);
    return problems;
  }
  const requestId = headers.get('request-id');
  if (requestId === null || !guidLike.test(requestId)) problems.push(`request-id header is ${JSON.stringify(requestId)}, not a GUID`);
  const sentClientRequestId = Object.entries(request.headers).find(([name]) => name.toLowerCase() === 'client-request-id')?.[1];
  const expectedClientRequestId = sentClientRequestId !== undefined && clientRequestIdPattern.test(httpTrim(sentClientRequestId)) ? httpTrim(sentClientRequestId) : requestId;
  if (headers.get('client-request-id') !== expectedClientRequestId) {
    problems.push(`client-request-id header is ${JSON.stringify(headers.get('client-request-id'))}, expected ${JSON.stringify(expectedClientRequestId)}`);
  }
  if (headers.get('cache-control') !== 'no-store') problems.push(`Cache-Control is ${JSON.stringify(headers.get('cache-control'))}`);
  if (Number.isNaN(Date.parse(headers.get('date') ?? ''))) problems.push('no parseable Date header');

  if (status >= 400) {
    if (status === 401 && headers.get('www-authenticate') !== 'Bearer error="invalid_token"') {
      problems.push(`401 without WWW-Authenticate: Bearer error="invalid_token" (got ${JSON.stringify(headers.get('www-authenticate'))})`);
    }
    if (status === 405) {
      const allow = headers.get('allow');
      if (allow === null || allow.trim() === '') problems.push('405 without an Allow header');
      else if (
        allow
          .split(',')
          .map((method) => method.trim())
          .includes(request.method.toUpperCase())
      )
        problems.push(`405 whose Allow (${allow}) lists the method used`);
    }
    if (request.method.toUpperCase() !== 'HEAD') problems.push(...envelopeViolations(response, requestId, expectedClientRequestId));
  } else if (status >= 200 && status < 300 && request.method.toUpperCase() !== 'HEAD') {
    const location = headers.get('location');
    if (location !== null && !isAbsoluteUrl(location)) problems.push(`Location ${JSON.stringify(location)} is not an absolute URL`);
    const body = response.json as Record<string, unknown> | undefined;
    if (response.text !== '' && body === undefined) problems.push('a success whose body is not JSON');
    if (body !== undefined && typeof body === 'object' && body !== null) {
      for (const link of ['@odata.context', '@odata.nextLink']) {
        if (link in body && !isAbsoluteUrl(body[link])) problems.push(`${link} ${JSON.stringify(body[link])} is not an absolute URL`);
      }
    }
  }
  return problems;
}

function envelopeViolations(response: TestResponse, requestId: string | null, clientRequestId: string | null): string[] {
  const problems: string[] = [];
  if (!/^application\/json/i.test(response.headers.get('content-type') ?? '')) {
    problems.push(`error Content-Type is ${JSON.stringify(response.headers.get('content-type'))}, not application/json`);
  }
  const error = (response.json as { error?: Record<string, unknown> } | undefined)?.error;
  if (typeof error !== 'object' || error === null) return [...problems, 'error body is not the Graph envelope {"error":{…}}'];
  const code = error.code;
  if (typeof code !== 'string' || !(code in errorCodes)) problems.push(`error.code ${JSON.stringify(code)} is not in the catalogue`);
  else if (errorCodes[code as keyof typeof errorCodes] !== response.status) problems.push(`error.code ${code} belongs to ${errorCodes[code as keyof typeof errorCodes]}, answered ${response.status}`);
  if (typeof error.message !== 'string' || error.message === '') problems.push('error.message is missing');
  const inner = error.innerError as Record<string, unknown> | undefined;
  if (typeof inner !== 'object' || inner === null) return [...problems, 'error.innerError is missing'];
  if (inner['request-id'] !== requestId) problems.push(`innerError.request-id ${JSON.stringify(inner['request-id'])} differs from the header ${requestId}`);
  if (inner['client-request-id'] !== clientRequestId) problems.push(`innerError.client-request-id ${JSON.stringify(inner['client-request-id'])} differs from ${clientRequestId}`);
  if (typeof inner.date !== 'string' || Number.isNaN(Date.parse(inner.date))) problems.push('innerError.date is not a date');
  return problems;
}

/** Sends a fuzzed request through the harness (token names resolved by the caller). */
export async function send(service: TestService, request: FuzzRequest, tokenValue: string | null): Promise<TestResponse> {
  return service.request(request.method, request.path, {
    token: tokenValue,
    headers: request.headers,
    ...(request.rawBody === undefined ? {} : { rawBody: request.rawBody }),
  });
}

/** The documents that appeared or vanished between two snapshots. */
export function storeDifference(before: readonly string[], after: readonly string[]): { added: string[]; removed: string[] } {
  const had = new Set(before);
  const has = new Set(after);
  return { added: after.filter((id) => !had.has(id)), removed: before.filter((id) => !has.has(id)) };
}

// ---------------------------------------------------------------------------------------------
// Arbitraries shared by both suites.

/** A header value fetch can send: no CR/LF/NUL, latin-1 only. */
export const headerValueArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)), minLength: 1, maxLength: 60 }) },
  {
    weight: 1,
    arbitrary: fc.string({
      unit: fc
        .integer({ min: 0x20, max: 0xff })
        .filter((code) => code < 0x7f || code > 0x9f)
        .map((code) => String.fromCharCode(code)),
      maxLength: 40,
    }),
  },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 2000 }).map((length) => 'k'.repeat(length)) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'a b', '"quoted"', '\t', 'null', 'undefined', '__proto__', '../..', '%00', 'é', 'ÿÿÿÿ') },
);

/** Values for keys that should have been something else. */
export function hostileValueArb(knownIds: readonly string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(2147483648, -2147483649, 1e308, 0.5, -1, 0),
    fc.string({ maxLength: 30 }),
    fc.string({ unit: 'grapheme', maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.integer({ min: 1_000, max: 200_000 }).map((length) => 'x'.repeat(length)),
    fc.constantFrom('\u0000', '\ud800', '\udfff', '🙂', 'İ', '\u202e', 'ß', 'Ω', '', ' ', '{}', '[]', 'null'),
    fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
    fc.uuid(),
    fc.constantFrom(...knownIds),
    fc.integer({ min: 10, max: 3_000 }).map((depth) => nested(depth)),
  );
}

/** An array/object nesting of the given depth. */
export function nested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let level = 0; level < depth; level += 1) value = level % 2 === 0 ? [value] : { d: value };
  return value;
}

/** Keys that break naive object handling. */
export const hostileKeyArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'valueOf',
    '__defineGetter__',
    '@odata.id',
    '@odata.type',
    '@odata.context',
    'id',
    'ID',
    ' id',
    '',
    'members@odata.bind',
    'owners@odata.bind',
    'passwordProfile',
    'deletedDateTime',
    'unseenCount',
    'groupTypes',
    'isAssignableToRole',
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
);

/** Sets an own enumerable property, also for "__proto__" (assignment would change the prototype). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export type Mutation =
  | { readonly kind: 'drop'; readonly at: number }
  | { readonly kind: 'rename'; readonly at: number; readonly to: string }
  | { readonly kind: 'retype'; readonly at: number; readonly value: unknown }
  | { readonly kind: 'add'; readonly key: string; readonly value: unknown }
  | { readonly kind: 'wrap'; readonly how: 'array' | 'object' | 'string' };

export function mutationArb(knownIds: readonly string[]): fc.Arbitrary<Mutation> {
  const value = hostileValueArb(knownIds);
  return fc.oneof(
    fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({
      kind: fc.constant('rename' as const),
      at: fc.nat(),
      to: fc.oneof(hostileKeyArb, fc.constantFrom('upper', 'lower', 'space', 'prefix')),
    }),
    fc.record({ kind: fc.constant('retype' as const), at: fc.nat(), value }),
    fc.record({ kind: fc.constant('add' as const), key: hostileKeyArb, value }),
    fc.record({ kind: fc.constant('wrap' as const), how: fc.constantFrom('array' as const, 'object' as const, 'string' as const) }),
  );
}

/**
 * A copy of a generated value. structuredClone recurses deeper per level than JSON does, so a
 * hostile value nested a few thousand levels inside a batch step overflows it; JSON copes.
 */
function deepCopy(base: unknown): unknown {
  try {
    return structuredClone(base);
  } catch {
    // Not `instanceof RangeError`: under jest the error comes from another realm.
    return JSON.parse(JSON.stringify(base)) as unknown;
  }
}

/** Applies mutations to a JSON value, most of them to the top-level object's keys. */
export function mutate(base: unknown, mutations: readonly Mutation[]): unknown {
  let value: unknown = deepCopy(base);
  for (const mutation of mutations) {
    if (mutation.kind === 'wrap') {
      value = mutation.how === 'array' ? [value] : mutation.how === 'object' ? { value } : JSON.stringify(value);
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object);
    const key = keys.length === 0 ? undefined : keys[('at' in mutation ? mutation.at : 0) % keys.length];
    switch (mutation.kind) {
      case 'drop':
        if (key !== undefined) delete object[key];
        break;
      case 'rename': {
        if (key === undefined) break;
        const renamed =
          mutation.to === 'upper' ? key.toUpperCase() : mutation.to === 'lower' ? key.toLowerCase() : mutation.to === 'space' ? `${key} ` : mutation.to === 'prefix' ? `x${key}` : mutation.to;
        const moved = object[key];
        delete object[key];
        setOwn(object, renamed, moved);
        break;
      }
      case 'retype':
        if (key !== undefined) setOwn(object, key, mutation.value);
        break;
      case 'add':
        setOwn(object, mutation.key, mutation.value);
        break;
    }
  }
  return value;
}

/** Bodies that are not JSON, or JSON that is not an object. */
export const rawNonJsonArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '{',
    '}',
    '{"@odata.id": ',
    '{"@odata.id": "x"',
    "{'@odata.id': 'x'}",
    '{"a":1,}',
    '{"a":1}{"b":2}',
    '{"a":1} trailing',
    'null',
    'true',
    '0',
    '-0',
    '1e999',
    '"just a string"',
    '[]',
    '[{"@odata.id":"x"}]',
    '\ufeff{}',
    '\u0000',
    '{"a":"\\ud800"}',
    '{"a":"\\u0000"}',
    '{"__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    'NaN',
    'undefined',
    '<xml/>',
    'displayName=x&mailNickname=y',
    '--boundary\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--boundary--',
  ),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value) ?? 'null'),
  fc.integer({ min: 1_000, max: 250_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  fc.integer({ min: 1_000, max: 100_000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  fc.integer({ min: 1_000, max: 250_000 }).map((depth) => '['.repeat(depth)),
);
