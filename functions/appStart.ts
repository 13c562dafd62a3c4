import { warmUp } from '../src/startup/warmUp';
import { httpFunctions } from './catalog';
import { getHealth } from './getHealth';

/**
 * The app's appStart hook, registered by functions/index.ts and awaited by the local host before
 * it listens, so both start the same way: the first request's one-time work (keys, Cosmos client,
 * schemas, each function's 401 path, the readiness answer) done before any request arrives.
 */
export const warmUpOnStart = (): Promise<void> => warmUp(undefined, httpFunctions, getHealth);
