import type { RunningStore } from '../../src/local/embeddedStores';

export default async function globalTeardown(): Promise<void> {
  for (const store of (globalThis as { testStores?: RunningStore[] }).testStores ?? []) await store.close();
}
