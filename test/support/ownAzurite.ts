import { startAzurite } from '../../src/local/embeddedStores';

/**
 * A test file that runs the queue trigger gets its own Azurite: the suite's shared one serves
 * every file (two jest workers at once), and a worker polling the shared delivery queue would take
 * another file's messages, find no subscription in its own database and drop them. Set before the
 * service starts (the service and SecondInstance read AzureWebJobsStorage); returns the restore.
 */
export async function useOwnAzurite(): Promise<() => Promise<void>> {
  const shared = process.env.AzureWebJobsStorage;
  const azurite = await startAzurite();
  process.env.AzureWebJobsStorage = azurite.connection;
  return async () => {
    process.env.AzureWebJobsStorage = shared;
    await azurite.close();
  };
}
