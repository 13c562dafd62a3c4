import { AsyncLocalStorage } from 'node:async_hooks';

/** Cosmos DB work done on behalf of one request: network round trips and request units. */
export interface StoreMeter {
  requests: number;
  requestCharge: number;
}

const meterStorage = new AsyncLocalStorage<StoreMeter>();

/** Runs `work` with a fresh meter that every Cosmos request made inside it adds to. */
export function runMetered<T>(work: () => Promise<T>): { meter: StoreMeter; result: Promise<T> } {
  const meter: StoreMeter = { requests: 0, requestCharge: 0 };
  return { meter, result: meterStorage.run(meter, work) };
}

export function recordStoreRequest(requestCharge: number): void {
  const meter = meterStorage.getStore();
  if (meter === undefined) return;
  meter.requests += 1;
  meter.requestCharge += requestCharge;
}
