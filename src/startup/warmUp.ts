import { getTokenVerifier } from '../auth';
import { getServiceSettings } from '../config/settings';
import { createGroupSchema, createUserSchema } from '../directory/schemas';
import { parseReferenceBody } from '../graph/odataReference';
import { getRepositories } from '../store/repositories';

/**
 * The longest start-up waits for the warm-up. The worker answers the host's init (or, on a
 * pre-warmed instance, its specialization) only after the appStart hooks, so this delays the app's
 * readiness and must stay far inside the host's worker start-up timeout.
 */
export const warmUpBudgetInMs = 5_000;

/** A tenant and object no request can name: reads under it find nothing and touch no data. */
const nobody = '00000000-0000-0000-0000-000000000000';

export type WarmUpLog = (message: string) => void;

/**
 * The one-time work of a worker's first request, done at app start (functions/index.ts registers
 * it as the `appStart` hook) so that the first request costs what a warm one does:
 *   - each accepted tenant's OpenID discovery, key set download and key import, and the token
 *     verification code compiled by one refused verification (EntraTokenVerifier.warmUp);
 *   - the Cosmos client: in Azure its account read (endpoint discovery), the managed identity's
 *     first token and the first TLS connections; here and there, the SDK's read and query code.
 *     Done by the repositories' own reads under a tenant that does not exist: a point read that
 *     finds nothing and a query of an empty partition (about 1 RU each), nothing written;
 *   - zod compiling the body schemas (on first parse), by parsing sample bodies in memory.
 * It never fails the start: each part that fails or outlasts warmUpBudgetInMs is logged as a
 * warning, and the first request then does that part itself, as it would without the hook.
 */
export async function warmUp(log: WarmUpLog = (message) => console.warn(message)): Promise<void> {
  const parts: Record<string, () => Promise<unknown>> = {
    'signing keys': () => getTokenVerifier().warmUp(),
    'Cosmos DB client': async () => {
      const { directory, memberships } = await getRepositories();
      await directory.getObject(nobody, nobody);
      await memberships.listMembers(nobody, nobody, { top: 1 });
    },
    'body schemas': async () => {
      createGroupSchema.safeParse({ displayName: 'warm-up', mailNickname: 'warm-up', mailEnabled: false, securityEnabled: true });
      createUserSchema.safeParse({ displayName: 'warm-up', userPrincipalName: 'warm-up@contoso.example' });
      parseReferenceBody({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${nobody}` }, 'https://graph.microsoft.com');
      await Promise.resolve();
    },
  };
  try {
    getServiceSettings();
  } catch (error) {
    // The first request reports a settings error to its caller; nothing here can do better.
    log(`warm-up skipped: ${String(error)}`);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), warmUpBudgetInMs);
  });
  try {
    await Promise.all(
      Object.entries(parts).map(async ([name, part]) => {
        const outcome = await Promise.race([part().then(() => 'done' as const), budget]).catch((error: unknown) => error);
        if (outcome === 'timeout') log(`warm-up of the ${name} took over ${warmUpBudgetInMs} ms; the first request finishes it`);
        else if (outcome !== 'done') log(`warm-up of the ${name} failed; the first request does it instead: ${String(outcome)}`);
      }),
    );
  } finally {
    clearTimeout(timer);
  }
}
