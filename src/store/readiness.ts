import { getCosmosStore } from './cosmosStore';

/** Whether the database answers a metadata read: enough to serve requests, cheap to ask. */
export async function checkStoreReadiness(): Promise<boolean> {
  try {
    const store = await getCosmosStore();
    await store.database.read({ abortSignal: AbortSignal.timeout(3_000) });
    return true;
  } catch {
    return false;
  }
}
