import type { InvocationContext, Timer } from '@azure/functions';
import { finishDirectoryChanges } from '../src/directory/objectLifecycle';
import { reconcileMemberships } from '../src/membership/reconciler';
import { getCosmosStore } from '../src/store/cosmosStore';
import { getRepositories } from '../src/store/repositories';

/**
 * Timer: every 15 minutes, repair what no client retry will (see src/membership/reconciler.ts),
 * and finish the deletions and updates that a request left unfinished (src/directory/objectLifecycle.ts).
 */
export const reconcileMembershipsTimer = {
  name: 'reconcileMemberships',
  schedule: '0 */15 * * * *',
  handler: async (_timer: Timer, context: InvocationContext): Promise<void> => {
    const store = await getCosmosStore();
    const changes = await finishDirectoryChanges(await getRepositories());
    context.info('finishDirectoryChanges', changes);
    const report = await reconcileMemberships(store.memberships, store.directory);
    context.info('reconcileMemberships', report);
  },
};
