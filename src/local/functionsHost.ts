import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { HttpRequest, InvocationContext, type HttpResponseInit, type LogHandler } from '@azure/functions';
import { compileRouteTemplate, inHostOrder, requestPathSegments, selectRoute } from '../http/routeTemplate';
import { closeServer } from './closeServer';
import type { HttpFunctionDefinition } from '../../functions/httpFunction';

/** What the Functions host caps request bodies at (its maxRequestBodySize default). */
const hostBodyLimitBytes = 100 * 1024 * 1024;

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
    void serve(incoming, outgoing).catch(() => {
      if (!outgoing.headersSent) outgoing.writeHead(500);
      outgoing.end();
    });
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

    const body = await readBody(incoming);
    if (body === undefined) {
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
    const request = new HttpRequest({
      method,
      url: url.toString(),
      headers,
      query: Object.fromEntries(url.searchParams),
      params: selected.params,
      ...(body.byteLength === 0 ? {} : { body: { bytes: body } }),
    });
    const context = new InvocationContext({ invocationId: randomUUID(), functionName: selected.definition.name, logHandler });
    const response = (await selected.definition.handler(request, context)) as HttpResponseInit;
    writeResponse(outgoing, response);
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

async function readBody(incoming: http.IncomingMessage): Promise<Uint8Array | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > hostBodyLimitBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
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
