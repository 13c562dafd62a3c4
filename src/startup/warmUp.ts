import { edgeSelection } from '../membership/edgeQuery';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { format } from 'node:util';
import { HttpResponse, InvocationContext, type HttpHandler } from '@azure/functions';
import { getTokenVerifier } from '../auth';
import { getServiceSettings } from '../config/settings';
import { createGroupSchema, createUserSchema } from '../directory/schemas';
import { parseReferenceBody } from '../graph/odataReference';
import { streamedHttpRequest } from '../http/streamedRequest';
import { getRepositories } from '../store/repositories';
import { runMetered } from '../store/storeMeter';

/**
 * The longest start-up waits for the warm-up. The worker answers the host's init (or, on a
 * pre-warmed instance, its specialization) only after the appStart hooks, so this delays the app's
 * readiness and must stay far inside the host's worker start-up timeout.
 */
export const warmUpBudgetInMs = 5_000;
/**
 * How many times the warm-up runs a request's code paths. V8 compiles a function to bytecode on
 * its first call and to baseline machine code only after it has run a few times (Sparkplug), so
 * one pass leaves the first real request about 3x slower than a warm one; a few passes pay that
 * before the host sends it. Each pass is a nil-tenant point read and query (about 2 RU) and a
 * tokenless request per function (no store access).
 */
const warmUpRounds = 4;

/** A tenant and object no request can name: reads under it find nothing and touch no data. */
const nobody = '00000000-0000-0000-0000-000000000000';

export type WarmUpLog = (message: string) => void;

/** An HTTP function as functions/catalog.ts defines it. */
export interface WarmUpFunction {
  readonly name: string;
  readonly methods: readonly string[];
  readonly handler: HttpHandler;
  /** Its documented operations; one marked anonymous needs no token (GET /health, /openapi.json). */
  readonly openApi?: readonly { readonly anonymous?: boolean }[];
}

/**
 * The one-time work of a worker's first request, done at app start (functions/index.ts registers
 * it as the `appStart` hook) so that the first request costs what a warm one does:
 *   - each accepted tenant's OpenID discovery, key set download and key import, and the token
 *     verification code compiled by one refused verification (EntraTokenVerifier.warmUp);
 *   - the Cosmos client: in Azure its account read (endpoint discovery), the managed identity's
 *     first token and the first TLS connections; here and there, the SDK's read and query code.
 *     Done by the repositories' own reads under a tenant that does not exist: a point read that
 *     finds nothing and a query of an empty partition with a listing's default page size (about
 *     1 RU each), nothing written, inside the per-request store meter as a request's reads are;
 *   - the code every request runs around its handler (the pipeline, error answers, the library's
 *     request, response and log conversions, node:http's server side), by one request without a
 *     token to each function that needs one: refused with 401 before any read
 *     (refuseRequestsWithoutToken);
 *   - zod compiling the body schemas (on first parse), by parsing sample bodies in memory.
 * It never fails the start: each part that fails or outlasts warmUpBudgetInMs is logged as a
 * warning, and the first request then does that part itself, as it would without the hook.
 */
export async function warmUp(
  log: WarmUpLog = (message) => console.warn(message),
  httpFunctions: readonly WarmUpFunction[] = [],
  /** GET /health: its 200 (one database metadata read) compiles a successful answer's path too. */
  readiness?: WarmUpFunction,
): Promise<void> {
  const parts: Record<string, () => Promise<unknown>> = {
    'signing keys': () => getTokenVerifier().warmUp(),
    'Cosmos DB client': () =>
      // Metered as a request's reads are: the meter's AsyncLocalStorage, first entered here, is
      // otherwise switched on (promise hooks and all) in the middle of the first request.
      runMetered(async () => {
        const { directory, memberships } = await getRepositories();
        for (let round = 0; round < warmUpRounds; round += 1) {
          await directory.getObject(nobody, nobody);
          // A listing's default page size (src/graph/listing.ts).
          await memberships.queryEdges(edgeSelection(nobody, 'members', nobody, {}), { top: 100 });
        }
      }).result,
    // Only functions that need a token: an anonymous one would do its work (the health check
    // reads the store), and the catch-alls have nothing to compile that the 401 does not.
    'HTTP functions': async () => {
      const authenticated = httpFunctions.filter(({ openApi }) => openApi !== undefined && openApi.every((operation) => operation.anonymous !== true));
      for (let round = 0; round < warmUpRounds; round += 1) {
        await refuseRequestsWithoutToken(authenticated);
        if (readiness !== undefined) await answerReadiness(readiness);
      }
    },
    'body schemas': async () => {
      createGroupSchema.safeParse({ displayName: 'warm-up', mailNickname: 'warm-up', mailEnabled: false, securityEnabled: true });
      createUserSchema.safeParse({ displayName: 'warm-up', userPrincipalName: 'warm-up@contoso.example' });
      parseReferenceBody({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${nobody}` }, 'https://graph.microsoft.com');
      await Promise.resolve();
    },
  };
  try {
    getServiceSettings();
  } catch (error) {
    // The first request reports a settings error to its caller; nothing here can do better.
    log(`warm-up skipped: ${String(error)}`);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), warmUpBudgetInMs);
  });
  try {
    await Promise.all(
      Object.entries(parts).map(async ([name, part]) => {
        const outcome = await Promise.race([part().then(() => 'done' as const), budget]).catch((error: unknown) => error);
        if (outcome === 'timeout') log(`warm-up of the ${name} took over ${warmUpBudgetInMs} ms; the first request finishes it`);
        else if (outcome !== 'done') log(`warm-up of the ${name} failed; the first request does it instead: ${String(outcome)}`);
      }),
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Each function that needs a token gets one request without one through its real handler, with
 * the library's own request, context and response classes, in process: the pipeline answers 401
 * before any read. What the library does around a handler is done to that answer too: its log
 * line formatted as InvocationModel#log formats user logs (util.format), and, for the first
 * function, the answer written to a loopback node:http response as the library's HTTP-stream
 * proxy writes it (sendProxyResponse in @azure/functions src/http/httpProxy.ts: each header
 * set, then `for await (const chunk of userRes.body.values()) proxyRes.write(chunk)`), read by a
 * client on the other end. That compiles what every request runs around its handler, with no
 * data and no cache involved.
 */
async function refuseRequestsWithoutToken(functions: readonly WarmUpFunction[]): Promise<void> {
  const [first, ...rest] = functions;
  if (first === undefined) return;
  const refused = await refuseWithoutToken(first);
  const server = http.createServer((incoming, outgoing) => {
    incoming.resume();
    void (async () => {
      for (const [name, value] of refused.headers.entries()) outgoing.setHeader(name, value);
      outgoing.statusCode = refused.status;
      for await (const chunk of refused.body?.values() ?? []) outgoing.write(chunk);
      outgoing.end();
    })().catch((error: unknown) => outgoing.destroy(error instanceof Error ? error : new Error(String(error))));
  });
  try {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port, path: `/v1.0/groups/${nobody}/members`, agent: false }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode)).on('error', reject);
      });
      request.on('error', reject).end();
    });
    if (status !== 401) throw new Error(`a loopback exchange of ${first.name}'s 401 arrived as ${status}`);
    await Promise.all(
      rest.map(async (definition) => {
        for await (const chunk of (await refuseWithoutToken(definition)).body?.values() ?? []) void chunk;
      }),
    );
  } finally {
    server.close();
  }
}

async function answerReadiness({ name, handler }: WarmUpFunction): Promise<void> {
  const context = new InvocationContext({ invocationId: randomUUID(), functionName: name, logHandler: (_level: unknown, ...args: unknown[]) => void format(...args) });
  const response = new HttpResponse(await handler(streamedHttpRequest(new Request('https://localhost/health'), {}), context));
  // 503 (the store not reachable yet) is an answer too; the warm-up only wants the path compiled.
  for await (const chunk of response.body?.values() ?? []) void chunk;
}

async function refuseWithoutToken({ name, methods, handler }: WarmUpFunction): Promise<HttpResponse> {
  const method = methods[0] ?? 'GET';
  const withBody = method === 'POST' || method === 'PATCH' || method === 'PUT';
  // As the worker hands a request to a function under HTTP streams (functions/index.ts).
  const nativeRequest = new Request(`https://localhost/v1.0/groups/${nobody}/members`, {
    method,
    headers: withBody ? { 'content-type': 'application/json' } : {},
    ...(withBody ? { body: '{}' } : {}),
  });
  const request = streamedHttpRequest(nativeRequest, {});
  const logHandler = (_level: unknown, ...args: unknown[]) => void format(...args);
  const context = new InvocationContext({ invocationId: randomUUID(), functionName: name, logHandler });
  const response = new HttpResponse(await handler(request, context));
  if (response.status !== 401) throw new Error(`${name} answered a request without a token with ${response.status}`);
  return response;
}
