import type { InvocationContext, Timer } from '@azure/functions';
import { reconcileMemberships } from '../src/membership/reconciler';
import { getCosmosStore } from '../src/store/cosmosStore';

/** Timer: every 15 minutes, repair what no client retry will (see src/membership/reconciler.ts). */
export const reconcileMembershipsTimer = {
  name: 'reconcileMemberships',
  schedule: '0 */15 * * * *',
  handler: async (_timer: Timer, context: InvocationContext): Promise<void> => {
    const store = await getCosmosStore();
    const report = await reconcileMemberships(store.memberships, store.directory);
    context.info('reconcileMemberships', report);
  },
};
