import type { InvocationContext, Timer } from '@azure/functions';
import { finishDirectoryChanges } from '../src/directory/objectLifecycle';
import { finishPendingNestings } from '../src/membership/closureJournal';
import { reconcileMemberships } from '../src/membership/reconciler';
import { getCosmosStore } from '../src/store/cosmosStore';
import { getRepositories } from '../src/store/repositories';

/**
 * Timer: every 15 minutes, repair what no client retry will (see src/membership/reconciler.ts),
 * and finish the deletions and updates that a request left unfinished (src/directory/objectLifecycle.ts),
 * then the nested-group closure updates still pending in a tenant's journal (src/membership/closureJournal.ts),
 * once the member sides they are recomputed from were reconciled.
 */
export const reconcileMembershipsTimer = {
  name: 'reconcileMemberships',
  schedule: '0 */15 * * * *',
  handler: async (_timer: Timer, context: InvocationContext): Promise<void> => {
    const store = await getCosmosStore();
    const repositories = await getRepositories();
    const changes = await finishDirectoryChanges(repositories);
    context.info('finishDirectoryChanges', changes);
    const report = await reconcileMemberships(store.memberships, store.directory);
    context.info('reconcileMemberships', report);
    const closure = await finishPendingNestings(repositories.memberships);
    context.info('finishPendingNestings', closure);
  },
};
