import { startAzurite, startEmbeddedCosmos, type RunningStore } from '../../src/local/embeddedStores';

/**
 * One embedded Cosmos endpoint and one Azurite for the whole run, started before any test file.
 * Each test file then uses its own database, so files never see each other's data.
 */
export default async function globalSetup(): Promise<void> {
  const cosmos = await startEmbeddedCosmos();
  const azurite = await startAzurite();
  process.env.TEST_COSMOS_ENDPOINT = cosmos.connection;
  process.env.AzureWebJobsStorage = azurite.connection;
  (globalThis as { testStores?: RunningStore[] }).testStores = [cosmos, azurite];
}
