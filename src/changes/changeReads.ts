import type { Container, SqlParameter } from '@azure/cosmos';
import type { ChangeRecord } from './changeLog';

/**
 * How long after its writer's clock read (`atMs`) a change record may still commit: a batch's
 * request times out after 5 s and the SDK retries a throttled one 3 times within 3 s more
 * (src/store/cosmosStore.ts), so a minute is far beyond any batch's life, and beyond the clock
 * skew NTP leaves between instances. Readers of the log that walk it by time (delta tokens, the
 * outbox) read again this far back, and report the current state of what the records name.
 */
export const commitLagMs = 60_000;

/**
 * The records of a tenant (or of every tenant) written after `sinceMs` by their writers' clocks:
 * one cross-partition query on indexed paths (kind, tenantId, atMs), optionally for some groups.
 */
export async function listChangesSince(container: Container, sinceMs: number, options: { readonly tenantId?: string; readonly groupIds?: readonly string[] } = {}): Promise<ChangeRecord[]> {
  const parameters: SqlParameter[] = [{ name: '@since', value: sinceMs }];
  let query = "SELECT * FROM c WHERE c.kind = 'change' AND c.atMs > @since";
  if (options.tenantId !== undefined) {
    parameters.push({ name: '@tenantId', value: options.tenantId });
    query += ' AND c.tenantId = @tenantId';
  }
  if (options.groupIds !== undefined) {
    parameters.push({ name: '@groupIds', value: [...options.groupIds] });
    query += ' AND ARRAY_CONTAINS(@groupIds, c.groupId)';
  }
  const { resources } = await container.items.query<ChangeRecord>({ query, parameters }).fetchAll();
  return resources;
}
