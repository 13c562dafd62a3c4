/**
 * `node functionsWorker.js <app directory> [--serve]`: loads a Functions app the way the Azure
 * Functions Node.js worker does, so that test/package and the bench can check the deployed
 * package (.deploy/) rather than the tsc output. Core Tools and the host cannot be installed
 * here; this follows the worker's side of the contract (azure-functions-nodejs-worker):
 *   - `@azure/functions-core` is answered by intercepting Module.prototype.require
 *     (src/setupCoreModule.ts), so the app's own copy of @azure/functions, bundled or not,
 *     registers its programming model and its functions through it;
 *   - the entry point is the file package.json's `main` names, required once, then the appStart
 *     hooks it registered, each awaited in order, before the worker answers the host's init (or
 *     specialization) request: the host sends no invocation before that answer (src/startApp.ts,
 *     src/hooks/executeHooks.ts, src/eventHandlers/WorkerInitHandler.ts), so this serves none
 *     before the hooks are done either;
 *   - an invocation goes through the registered programming model: getInvocationModel,
 *     getArguments, invokeFunction, getResponse (src/eventHandlers/InvocationHandler.ts), with
 *     the HTTP request in the RPC shape the host sends.
 * It prints one JSON line: the programming model, every registered function with its bindings as
 * the library recorded them, and how long the require took; with --serve it then listens on
 * loopback and answers HTTP requests by invoking the matching function, as the host would
 * (HTTP functions tried in name order: issue 9 item 1, Azure/azure-functions-host#9876).
 */
import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Module from 'node:module';
import path from 'node:path';
import { PassThrough } from 'node:stream';

interface Binding {
  type: string;
  direction: string;
  route?: string;
  methods?: string[];
  schedule?: string;
}
interface FunctionMetadata {
  name: string;
  bindings: Record<string, Binding>;
}
interface RpcHttpResponse {
  statusCode?: string;
  headers?: Record<string, string>;
  body?: { bytes?: Uint8Array; string?: string };
}
interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], callback: unknown): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<{ returnValue?: { http?: RpcHttpResponse } }>;
}
interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreContext: unknown): InvocationModel;
  getCapabilities?(capabilities: Record<string, string>): Promise<Record<string, string>>;
}

export interface WorkerReport {
  programmingModel: { name: string; version: string } | undefined;
  functions: FunctionMetadata[];
  importMs: number;
  /** The appStart hooks' time, after the import and before the first request. */
  appStartMs: number;
  url?: string;
}

const registered: { metadata: FunctionMetadata; callback: unknown }[] = [];
type HookCallback = (context: unknown) => unknown;
const hooks = new Map<string, HookCallback[]>();
let programmingModel: ProgrammingModel | undefined;
const systemLogs: string[] = [];

/** The parts of the worker's core API that @azure/functions 4.x calls while an app loads and runs. */
const coreApi = {
  version: '3.10.1',
  hostVersion: '4.1040.0',
  setProgrammingModel: (model: ProgrammingModel) => {
    programmingModel = model;
  },
  getProgrammingModel: () => programmingModel,
  registerFunction: (metadata: FunctionMetadata, callback: unknown) => {
    registered.push({ metadata, callback });
    return { dispose: () => undefined };
  },
  registerHook: (hookName: string, callback: HookCallback) => {
    const callbacks = hooks.get(hookName) ?? [];
    callbacks.push(callback);
    hooks.set(hookName, callbacks);
    return { dispose: () => callbacks.splice(callbacks.indexOf(callback), 1) };
  },
  log: (level: string, category: string, message: string) => {
    if (level === 'error' || level === 'critical') systemLogs.push(`${category}: ${message}`);
  },
  Disposable: class {
    constructor(private readonly release: () => void) {}
    dispose(): void {
      this.release();
    }
  },
};

function setupCoreModule(): void {
  const prototype = Module.prototype as unknown as { require: (id: string) => unknown };
  prototype.require = new Proxy(prototype.require, {
    apply(target, thisArg, argArray: [string]) {
      return argArray[0] === '@azure/functions-core' ? coreApi : Reflect.apply(target, thisArg, argArray);
    },
  });
}

function loadApp(appDirectory: string): number {
  const { main: entryPoint } = JSON.parse(readFileSync(path.join(appDirectory, 'package.json'), 'utf8')) as { main: string };
  const started = performance.now();
  require(path.join(appDirectory, entryPoint));
  return performance.now() - started;
}

/** The worker's executeHooks('appStart', …): each callback awaited in registration order. */
async function runAppStartHooks(functionAppDirectory: string): Promise<number> {
  const started = performance.now();
  const hookData = {};
  const context = { hookData, appHookData: hookData, functionAppDirectory };
  for (const callback of hooks.get('appStart') ?? []) await callback(context);
  return performance.now() - started;
}

/**
 * The host's side of an invocation. With HTTP streams on (functions/index.ts), the worker reports
 * an `HttpUri` capability (the library's own proxy server, setupHttpProxy) and the host forwards
 * the client's request there with an `x-ms-invocation-id` header, while the RPC invocation carries
 * only trigger metadata; the library answers on that proxied connection (sendProxyResponse).
 * Without streams the request travels in the RPC message itself. Both are followed here.
 */
async function invoke(
  entry: (typeof registered)[number],
  triggerName: string,
  incoming: http.IncomingMessage,
  outgoing: http.ServerResponse,
  rpcHttp: Record<string, unknown>,
  body: Buffer | undefined,
): Promise<void> {
  const invocationId = randomUUID();
  const coreContext = {
    invocationId,
    request: { inputData: [{ name: triggerName, data: { http: rpcHttp } }], triggerMetadata: httpUri === undefined ? {} : streamTriggerMetadata(rpcHttp) },
    metadata: entry.metadata,
    state: 'invocation',
    log: coreApi.log,
  };
  const model = programmingModel!.getInvocationModel(coreContext);
  if (httpUri === undefined) {
    const { context, inputs } = await model.getArguments();
    const result = await model.invokeFunction(context, inputs, entry.callback);
    const response = (await model.getResponse(context, result)).returnValue?.http;
    outgoing.writeHead(Number(response?.statusCode ?? 200), response?.headers ?? {});
    outgoing.end(response?.body?.bytes === undefined ? response?.body?.string : Buffer.from(response.body.bytes));
    return;
  }
  // The host's forwarder names the original host and scheme; the library rebuilds request.url from
  // them (createStreamRequest: 'Expected headers "x-forwarded-host" and "x-forwarded-proto"').
  const forwarded = { 'x-forwarded-host': incoming.headers.host ?? 'localhost', 'x-forwarded-proto': 'http', 'x-ms-invocation-id': invocationId };
  const proxied = http.request(new URL(incoming.url ?? '/', httpUri), { method: incoming.method, headers: { ...incoming.headers, ...forwarded } });
  const answered = new Promise<void>((resolve, reject) => {
    proxied.on('response', (response) => {
      outgoing.writeHead(response.statusCode ?? 500, response.headers);
      response.pipe(outgoing);
      response.on('end', resolve);
    });
    proxied.on('error', reject);
  });
  proxied.end(body);
  const { context, inputs } = await model.getArguments();
  const result = await model.invokeFunction(context, inputs, entry.callback);
  await model.getResponse(context, result);
  await answered;
}

let httpUri: string | undefined;

/**
 * Under HTTP streams the library takes the request's headers and route parameters from the
 * invocation's trigger metadata, not from the proxied request (createStreamRequest in
 * @azure/functions, Azure/azure-functions-host#9840): `Headers` as JSON, each parameter a string.
 */
function streamTriggerMetadata(rpcHttp: Record<string, unknown>): Record<string, unknown> {
  const params = rpcHttp.params as Record<string, string>;
  return {
    Headers: { json: JSON.stringify(rpcHttp.headers) },
    Query: { json: JSON.stringify(rpcHttp.query) },
    ...Object.fromEntries(Object.entries(params).map(([name, value]) => [name, { string: value }])),
  };
}

/**
 * The host forwards to the worker's HttpUri from its own .NET process (YARP's IHttpForwarder over a
 * SocketsHttpHandler: DefaultHttpProxyService in Azure/azure-functions-host,
 * src/WebJobs.Script.Grpc/Server/DefaultHttpProxyService.cs), so resolving the URI's host name
 * (`localhost`, setupHttpProxy in @azure/functions src/http/httpProxy.ts) costs the worker nothing.
 * Here the forwarder shares the worker's process: the name is resolved once before serving, so
 * that its first getaddrinfo and net.isIP's IPv6 pattern (compiled on first use) are not counted in the worker's first request.
 */
async function resolveProxyHost(uri: string): Promise<string> {
  const url = new URL(uri);
  const { address, family } = await lookup(url.hostname);
  url.hostname = family === 6 ? `[${address}]` : address;
  return url.toString();
}

/**
 * The stand-in's own forwarding path (http.request to a loopback server, the answer piped on),
 * run once against a throwaway server of its own before serving. In Azure that path is the
 * host's, in .NET; here it shares the worker's process, and its first-use compilation is not
 * the app's cold start, so it is paid before the first request is timed. The library's proxy
 * and the app are not involved.
 */
async function warmForwarder(): Promise<void> {
  const target = http.createServer((incoming, outgoing) => {
    incoming.resume();
    incoming.on('end', () => outgoing.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const sink = new PassThrough();
  sink.resume();
  await new Promise<void>((resolve, reject) => {
    const proxied = http.request({ host: '127.0.0.1', port: (target.address() as AddressInfo).port, path: '/', method: 'GET', headers: { 'x-forwarded-proto': 'http' } });
    proxied.on('response', (response) => {
      response.pipe(sink);
      response.on('end', resolve);
    });
    proxied.on('error', reject);
    proxied.end();
  });
  await new Promise<void>((resolve) => target.close(() => resolve()));
}

async function serve(): Promise<string> {
  // As the worker does once the app is loaded (WorkerInitHandler → getCapabilities).
  const capabilities = (await programmingModel!.getCapabilities?.({})) ?? {};
  httpUri = capabilities.HttpUri === undefined ? undefined : await resolveProxyHost(capabilities.HttpUri);
  await warmForwarder();
  // Loaded after the app, so that the import time above is the app's alone.
  const { compileRouteTemplate, compareFunctionNames, requestPathSegments } = require('../../src/http/routeTemplate') as typeof import('../../src/http/routeTemplate');
  const routes = registered
    .flatMap((entry) => {
      const trigger = Object.entries(entry.metadata.bindings).find(([, binding]) => binding.type === 'httpTrigger');
      return trigger === undefined ? [] : [{ entry, triggerName: trigger[0], binding: trigger[1], template: compileRouteTemplate(trigger[1].route ?? entry.metadata.name) }];
    })
    .sort((a, b) => compareFunctionNames(a.entry.metadata.name, b.entry.metadata.name));
  const server = http.createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const url = new URL(`http://${incoming.headers.host ?? 'localhost'}${incoming.url ?? '/'}`);
      const method = incoming.method ?? 'GET';
      let params: Record<string, string> | undefined;
      const route = routes.find(({ binding, template }) => (binding.methods ?? []).includes(method) && (params = template.match(requestPathSegments(url.pathname))) !== undefined);
      if (route === undefined || params === undefined) {
        outgoing.writeHead(404).end();
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(incoming.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      const body = Buffer.concat(chunks);
      const rpcHttp = { method, url: url.toString(), headers, query: Object.fromEntries(url.searchParams), params, ...(body.length === 0 || httpUri !== undefined ? {} : { body: { bytes: body } }) };
      invoke(route.entry, route.triggerName, incoming, outgoing, rpcHttp, body.length === 0 ? undefined : body).catch((error: unknown) => {
        systemLogs.push(String(error));
        if (!outgoing.headersSent) outgoing.writeHead(500);
        outgoing.end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function main(): Promise<void> {
  const [appDirectory, mode] = process.argv.slice(2);
  if (appDirectory === undefined) throw new Error('usage: functionsWorker.js <app directory> [--serve]');
  setupCoreModule();
  const importMs = loadApp(path.resolve(appDirectory));
  const appStartMs = await runAppStartHooks(path.resolve(appDirectory));
  const report: WorkerReport = {
    programmingModel: programmingModel === undefined ? undefined : { name: programmingModel.name, version: programmingModel.version },
    functions: registered.map(({ metadata }) => ({ name: metadata.name, bindings: metadata.bindings })),
    importMs,
    appStartMs,
    ...(mode === '--serve' ? { url: await serve() } : {}),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  // Failures of the worker's own part go to stderr, where the test can see them.
  process.on('exit', () => {
    if (systemLogs.length > 0) process.stderr.write(`${systemLogs.join('\n')}\n`);
  });
}

// Stopped with SIGTERM: exit normally, so that a --cpu-prof run writes its profile.
process.on('SIGTERM', () => process.exit(0));

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
