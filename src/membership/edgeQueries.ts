import type { Container } from '@azure/cosmos';
import type { EdgeDocument } from './edges';

/**
 * The edge queries of the directory lifecycle (src/directory/lifecycleStore.ts), kept among the
 * membership sources because they read the memberships container (test/infra checks that every
 * path they filter on is indexed there; `id` always is:
 * https://learn.microsoft.com/azure/cosmos-db/index-policy#include-exclude-strategy).
 */

/** Every edge of one partition (a group side, a member side or a group's owners). */
export async function edgesOfPartition(container: Container, partitionKey: string): Promise<EdgeDocument[]> {
  const { resources } = await container.items.query<EdgeDocument>({ query: 'SELECT * FROM c WHERE c.pk = @pk', parameters: [{ name: '@pk', value: partitionKey }] }, { partitionKey }).fetchAll();
  return resources;
}

/** The owner edges whose owner is `ownerId`: owner edges have no index by owner, so one query across the tenant's owner partitions. */
export async function ownerEdgesOfOwner(container: Container, tenantId: string, ownerId: string): Promise<EdgeDocument[]> {
  const { resources } = await container.items
    .query<EdgeDocument>({
      query: "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.kind = 'owner' AND c.id = @id",
      parameters: [
        { name: '@tenantId', value: tenantId },
        { name: '@id', value: ownerId },
      ],
    })
    .fetchAll();
  return resources;
}
