import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { finished } from 'node:stream';
import { InvocationContext, type HttpResponseInit, type LogHandler } from '@azure/functions';
import { compileRouteTemplate, inHostOrder, requestPathSegments, selectRoute } from '../http/routeTemplate';
import { streamedHttpRequest } from '../http/streamedRequest';
import { closeServer } from './closeServer';
import type { HttpFunctionDefinition } from '../../functions/httpFunction';

/**
 * What the Functions host caps request bodies at: FUNCTIONS_REQUEST_BODY_SIZE_LIMIT, 104857600
 * by default (https://learn.microsoft.com/azure/azure-functions/node-http-stream).
 */
const hostBodyLimitBytes = 100 * 1024 * 1024;
/** How long Kestrel drains a body the app left unread before it closes the connection. */
const drainDeadlineMs = 5_000;
/** How much of a body the function left unread is drained before the connection is closed. */
const drainLimitBytes = 1024 * 1024;

export interface FunctionsHostOptions {
  readonly functions: readonly HttpFunctionDefinition[];
  readonly port: number;
  readonly host?: string;
  /** Serve HTTPS with this certificate instead of HTTP. */
  readonly tls?: { readonly key: string; readonly cert: string };
  readonly logHandler?: LogHandler;
  /**
   * The app's appStart hooks (functions/index.ts registers the same ones with app.hook.appStart),
   * awaited in order before the host listens: the Node.js worker awaits them before it answers
   * the host's init, and the host sends no request before that answer
   * (Azure/azure-functions-nodejs-worker src/startApp.ts, src/hooks/executeHooks.ts).
   */
  readonly appStartHooks?: readonly (() => Promise<void> | void)[];
}

export interface RunningFunctionsHost {
  readonly baseUrl: string;
  readonly server: http.Server;
  close(): Promise<void>;
}

/**
 * Serves the registered HTTP functions as the Azure Functions host would: routes tried in the
 * host's order (by function name, never registration order: see inHostOrder), matched on path
 * segments split before decoding, real HttpRequest and InvocationContext objects, the handler's
 * response written back. Nothing more: features the host lacks do not belong here.
 */
export async function startFunctionsHost(options: FunctionsHostOptions): Promise<RunningFunctionsHost> {
  const routes = inHostOrder(options.functions).map((definition) => ({ definition, template: compileRouteTemplate(definition.route) }));
  const logHandler: LogHandler = options.logHandler ?? (() => undefined);

  const listener: http.RequestListener = (incoming, outgoing) => {
    void serve(incoming, outgoing)
      .catch(() => {
        if (!outgoing.headersSent) outgoing.writeHead(500);
        outgoing.end();
      })
      .finally(() => discardUnreadBody(incoming, outgoing));
  };

  async function serve(incoming: http.IncomingMessage, outgoing: http.ServerResponse): Promise<void> {
    const protocol = options.tls === undefined ? 'http' : 'https';
    // Concatenated, not resolved: a path such as //v1.0/groups is a path here, not a host.
    let url: URL;
    try {
      url = new URL(`${protocol}://${incoming.headers.host ?? 'localhost'}${incoming.url ?? '/'}`);
    } catch {
      outgoing.writeHead(400).end();
      return;
    }
    const method = (incoming.method ?? 'GET').toUpperCase();
    const selected = selectRoute(routes, method, requestPathSegments(url.pathname));

    // Kestrel refuses a declared body over its limit before any function runs.
    if (Number(incoming.headers['content-length'] ?? 0) > hostBodyLimitBytes) {
      outgoing.writeHead(413).end();
      return;
    }
    if (selected === undefined) {
      outgoing.writeHead(404).end();
      return;
    }

    // From rawHeaders: Node keeps only the first of a repeated Authorization header, while the
    // Functions host passes them all on, joined.
    const headers: Record<string, string> = {};
    for (let index = 0; index + 1 < incoming.rawHeaders.length; index += 2) {
      const name = incoming.rawHeaders[index]!.toLowerCase();
      const value = incoming.rawHeaders[index + 1]!;
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    // As the worker builds it under HTTP streams (createStreamRequest in @azure/functions'
    // src/http/HttpRequest.ts): a fetch Request whose body is the connection itself, read only as
    // the handler reads, and the query taken from the URL. GET and HEAD get no body there either.
    const body = method === 'GET' || method === 'HEAD' ? undefined : new StreamedBody(incoming);
    const nativeRequest = new Request(url.toString(), { method, headers, ...(body === undefined ? {} : { body: body.stream, duplex: 'half' as const }) });
    const request = streamedHttpRequest(nativeRequest, selected.params);
    const context = new InvocationContext({ invocationId: randomUUID(), functionName: selected.definition.name, logHandler });
    const response = (await selected.definition.handler(request, context)) as HttpResponseInit;
    // The host answers a body over its own limit itself, whatever the function made of it.
    if (body?.overHostLimit === true) outgoing.writeHead(413).end();
    else writeResponse(outgoing, response);
  }

  for (const hook of options.appStartHooks ?? []) await hook();

  // Kestrel, under the Functions host, allows 32 KiB of request headers; Node's default is 16.
  const serverOptions = { maxHeaderSize: 32 * 1024 };
  const server = options.tls === undefined ? http.createServer(serverOptions, listener) : https.createServer({ ...serverOptions, ...options.tls }, listener);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const scheme = options.tls === undefined ? 'http' : 'https';
  return {
    baseUrl: `${scheme}://localhost:${port}`,
    server,
    close: () => closeServer(server),
  };
}

/**
 * A request body read from the connection only as the function reads it, never held whole, and
 * capped at the host's limit.
 */
class StreamedBody {
  readonly stream: ReadableStream<Uint8Array>;
  /** Set when the function read past the host's limit. */
  overHostLimit = false;
  private readonly chunks: AsyncIterator<Buffer>;
  private released: Promise<void> | undefined;

  constructor(incoming: http.IncomingMessage) {
    // Not destroyed on return: a function that stops reading (jsonBody cancels at 1 MiB) must not
    // take the connection with it, since its answer still goes out on it.
    this.chunks = incoming.iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer>;
    let size = 0;
    this.stream = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const next = await this.chunks.next();
          if (next.done === true) {
            controller.close();
            return;
          }
          size += next.value.length;
          if (size > hostBodyLimitBytes) {
            this.overHostLimit = true;
            controller.error(new Error(`The request body is larger than the host's ${hostBodyLimitBytes} bytes.`));
            void this.release();
            return;
          }
          controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength));
        },
        cancel: () => this.release(),
      },
      // Nothing is read ahead of the function.
      { highWaterMark: 0 },
    );
    bodies.set(incoming, this);
  }

  /** Stops reading for the function; the connection and what is left of the body stay. */
  release(): Promise<void> {
    this.released ??= Promise.resolve(this.chunks.return?.()).then(() => undefined);
    return this.released;
  }
}

const bodies = new WeakMap<http.IncomingMessage, StreamedBody>();

/**
 * Once the answer is out, whatever the function left of the body is read and dropped, never kept,
 * but only so much of it. Kestrel drains an unread body so that the connection can serve the next
 * request, and closes the connection when draining takes over five seconds
 * (https://learn.microsoft.com/aspnet/core/fundamentals/servers/kestrel/request-draining). Here
 * the drain also stops after 1 MiB: in Node every discarded read is a fresh buffer that only a
 * later garbage collection frees, so draining a 95 MiB upload would grow the process by tens of
 * MiB of garbage and burn a core for nothing. Past that, reading stops and the connection is
 * ended after the answer; it is destroyed only when the client has gone or the five seconds are
 * up, because closing a socket with unread data makes the kernel reset the connection, which can
 * discard an answer the client has not yet received.
 */
function discardUnreadBody(incoming: http.IncomingMessage, outgoing: http.ServerResponse): void {
  finished(outgoing, () => {
    const socket = incoming.socket;
    if (incoming.complete || incoming.destroyed || socket === null) return;
    const deadline = setTimeout(() => socket.destroy(), drainDeadlineMs);
    deadline.unref();
    socket.once('close', () => clearTimeout(deadline));
    incoming.once('end', () => clearTimeout(deadline));
    let drained = 0;
    let stopped = false;
    const drain = (chunk: Buffer) => {
      drained += chunk.length;
      if (drained <= drainLimitBytes) return;
      stopped = true;
      incoming.off('data', drain);
      incoming.pause();
      socket.pause();
      socket.end();
    };
    incoming.on('data', drain);
    void Promise.resolve(bodies.get(incoming)?.release()).finally(() => {
      if (!stopped) incoming.resume();
    });
  });
}

function writeResponse(outgoing: http.ServerResponse, response: HttpResponseInit): void {
  const headers: Record<string, string> = {};
  if (response.headers !== undefined) {
    const entries = response.headers instanceof Headers ? [...response.headers.entries()] : Object.entries(response.headers as Record<string, string>);
    for (const [name, value] of entries) headers[name] = value;
  }
  let payload: string | Uint8Array | undefined;
  if (response.jsonBody !== undefined) {
    payload = JSON.stringify(response.jsonBody);
    headers['Content-Type'] ??= 'application/json';
  } else if (typeof response.body === 'string' || response.body instanceof Uint8Array) {
    payload = response.body;
  }
  outgoing.writeHead(response.status ?? 200, headers);
  outgoing.end(payload);
}
