/**
 * The embedded Cosmos endpoint scopes a query to the partition its request names, as Cosmos DB
 * does (src/local/partitionScopedQueries.ts), through the real @azure/cosmos client against the
 * endpoint the tests share. The queries below deliberately name another partition in their
 * filter too: Cosmos DB still returns only the requested partition's documents, and so must the
 * stand-in, or it would hide a query that relies on its filter alone.
 */
import { randomUUID } from 'node:crypto';
import { CosmosClient, type Container } from '@azure/cosmos';
// The embedded endpoint accepts any key; the client still signs with one.
const embeddedCosmosKey = 'embedded-cosmos-accepts-any-key';

let container: Container;
let client: CosmosClient;

beforeAll(async () => {
  client = new CosmosClient({ endpoint: String(process.env.TEST_COSMOS_ENDPOINT), key: embeddedCosmosKey, connectionPolicy: { enableEndpointDiscovery: false } });
  const { database } = await client.databases.createIfNotExists({ id: `partition-scope-${randomUUID()}` });
  ({ container } = await database.containers.createIfNotExists({ id: 'items', partitionKey: { paths: ['/pk'] } }));
});

afterAll(() => client.dispose());

const bothPartitions = 'SELECT c.id FROM c WHERE c.pk = @a OR c.pk = @b';
const parameters = [
  { name: '@a', value: 'a' },
  { name: '@b', value: 'b' },
];

async function idsIn(partitionKey: string, maxItemCount?: number): Promise<string[]> {
  const pages = container.items.query<{ id: string }>({ query: bothPartitions, parameters }, { partitionKey, ...(maxItemCount === undefined ? {} : { maxItemCount }) });
  const ids: string[] = [];
  while (pages.hasMoreResults()) {
    const { resources } = await pages.fetchNext();
    ids.push(...resources.map((resource) => resource.id));
  }
  return ids;
}

test('a query with a partition key reads only that partition, page after page, and follows creates, replaces and deletes', async () => {
  for (let i = 0; i < 7; i += 1) {
    await container.items.create({ id: `a${i}`, pk: 'a' });
    await container.items.create({ id: `b${i}`, pk: 'b' });
  }
  expect(await idsIn('a')).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6']);
  expect(await idsIn('b', 3)).toEqual(['b0', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6']);

  await container.item('a2', 'a').delete();
  await container.item('a4', 'a').replace({ id: 'a4', pk: 'a', changed: true });
  await container.items.upsert({ id: 'a7', pk: 'a' });
  expect(await idsIn('a', 2)).toEqual(['a0', 'a1', 'a3', 'a4', 'a5', 'a6', 'a7']);
  expect(await idsIn('c')).toEqual([]);

  // Without a partition key the query still spans the container, in the same order.
  const { resources } = await container.items.query<{ id: string }>({ query: bothPartitions, parameters }).fetchAll();
  expect(resources.map((resource) => resource.id)).toEqual(['a0', 'b0', 'a1', 'b1', 'b2', 'a3', 'b3', 'a4', 'b4', 'a5', 'b5', 'a6', 'b6', 'a7']);
});

test('a transactional batch lands in the partition index too', async () => {
  await container.items.batch(
    [
      { operationType: 'Create', resourceBody: { id: 'batched1', pk: 'z' } },
      { operationType: 'Create', resourceBody: { id: 'batched2', pk: 'z' } },
    ],
    'z',
  );
  const { resources } = await container.items.query<{ id: string }>({ query: 'SELECT c.id FROM c WHERE c.pk = @z', parameters: [{ name: '@z', value: 'z' }] }, { partitionKey: 'z' }).fetchAll();
  expect(resources.map((resource) => resource.id)).toEqual(['batched1', 'batched2']);
});
