import { app } from '@azure/functions';
import { httpFunctions } from './catalog';
import { warmUpOnStart } from './appStart';
import { queueFunctions, timerFunctions } from './triggers';

// The entry point the Functions host loads (package.json "main"): it only registers.
// HTTP streams (@azure/functions >= 4.3, host >= 4.28): the host forwards each request to the
// worker as it arrives and request.body reads that connection, so src/http/jsonBody.ts can stop at
// 1 MiB instead of the host buffering up to its 100 MiB FUNCTIONS_REQUEST_BODY_SIZE_LIMIT first
// and handing the worker the whole body
// (https://learn.microsoft.com/azure/azure-functions/node-http-stream,
// https://github.com/Azure/azure-functions-nodejs-library/issues/97). Handlers see the same
// HttpRequest: headers and route params from the host, the query from the URL, GET/HEAD with no body.
app.setup({ enableHttpStream: true });

for (const { name, ...options } of httpFunctions) {
  app.http(name, { ...options, methods: [...options.methods] });
}

// The reconciler and the notification outbox's sweep (timers), notification delivery (queue):
// functions/triggers.ts, which the local host runs too (src/local/triggerHost.ts).
for (const { name, ...options } of timerFunctions) app.timer(name, options);
for (const { name, ...options } of queueFunctions) app.storageQueue(name, options);

// The first request's one-time work (keys, Cosmos client, schemas), done before the host sends
// any: the Node.js worker runs appStart hooks inside startApp, awaiting each, before it answers
// the host's WorkerInitRequest (or, on a pre-warmed instance, FunctionEnvironmentReloadRequest),
// and the host loads functions and dispatches invocations only after that answer.
// Azure/azure-functions-nodejs-worker src/startApp.ts (`await executeHooks('appStart', …)`),
// src/hooks/executeHooks.ts (`await callback(context)`), src/eventHandlers/WorkerInitHandler.ts
// and FunctionEnvironmentReloadHandler.ts (`await startApp(…)` before the response).
// warmUp never throws (a throwing hook would fail the worker's init) and is bounded in time.
// It also sends each function that needs a token one request without one (refused with 401).
app.hook.appStart(warmUpOnStart);

export { httpFunctions };
