import { app } from '@azure/functions';
import { warmUp } from '../src/startup/warmUp';
import { httpFunctions } from './catalog';
import { reconcileMembershipsTimer } from './reconcileMemberships';

// The entry point the Functions host loads (package.json "main"): it only registers.
app.setup({ enableHttpStream: false });

for (const { name, ...options } of httpFunctions) {
  app.http(name, { ...options, methods: [...options.methods] });
}

const { name: timerName, ...timerOptions } = reconcileMembershipsTimer;
app.timer(timerName, timerOptions);

// The first request's one-time work (keys, Cosmos client, schemas), done before the host sends
// any: the Node.js worker runs appStart hooks inside startApp, awaiting each, before it answers
// the host's WorkerInitRequest (or, on a pre-warmed instance, FunctionEnvironmentReloadRequest),
// and the host loads functions and dispatches invocations only after that answer.
// Azure/azure-functions-nodejs-worker src/startApp.ts (`await executeHooks('appStart', …)`),
// src/hooks/executeHooks.ts (`await callback(context)`), src/eventHandlers/WorkerInitHandler.ts
// and FunctionEnvironmentReloadHandler.ts (`await startApp(…)` before the response).
// warmUp never throws (a throwing hook would fail the worker's init) and is bounded in time.
app.hook.appStart(() => warmUp());

export { httpFunctions };
