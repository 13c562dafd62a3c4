/**
 * `npm run check-consistency` finds users and groups without their anchors (objects written
 * before anchors existed) and `--repair` writes them, so adds to those objects work again. Run
 * as the CLI a user runs, against the database the service under test uses.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { getCosmosStore } from '../../src/store/cosmosStore';
import { objectPartitionKey, type DirectoryObjectDocument } from '../../src/directory/directoryObjects';
import { TestService } from '../support/testService';

let service: TestService;
beforeAll(async () => {
  service = await TestService.start();
});
afterAll(() => service.stop());

const cli = path.resolve(__dirname, '../../src/tools/checkConsistency.js');

async function checkConsistency(...args: string[]): Promise<{ code: number; stdout: string }> {
  const env = { ...process.env, COSMOS_ENDPOINT: String(process.env.TEST_COSMOS_ENDPOINT), COSMOS_KEY: 'embedded-cosmos-accepts-any-key', COSMOS_DATABASE: service.database };
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [cli, '--tenant', service.tenantId, ...args], { env });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '' };
  }
}

/** Makes an object look as it did before anchors: no version, no anchor documents. */
async function asBeforeAnchors(objectId: string): Promise<void> {
  const { directory, memberships } = await getCosmosStore();
  const { resource } = await directory.item(objectId, objectPartitionKey(service.tenantId, objectId)).read<DirectoryObjectDocument & Record<string, unknown>>();
  const { version: _version, _etag, _ts, _rid, _self, _attachments, ...unversioned } = resource!;
  await directory.item(objectId, objectPartitionKey(service.tenantId, objectId)).replace(unversioned);
  const { resources } = await memberships.items
    .query<{ id: string; pk: string }>({ query: "SELECT c.id, c.pk FROM c WHERE c.kind = 'anchor' AND c.objectId = @id", parameters: [{ name: '@id', value: objectId }] })
    .fetchAll();
  for (const anchor of resources) await memberships.item(anchor.id, anchor.pk).delete();
}

test('objects without anchors: adds to them are throttled, check-consistency reports them (exit 1), --repair writes the anchors and adds work again', async () => {
  const [group, user, fine] = [await service.createGroup(), await service.createUser(), await service.createUser()];
  await asBeforeAnchors(group.id);
  await asBeforeAnchors(user.id);
  // A fresh instance has nothing remembered: what a deployment upgraded over old data serves.
  const refused = await service.addMember(group.id, user.id);
  expect({ status: refused.status, retryAfter: refused.headers.get('retry-after') }).toEqual({ status: 429, retryAfter: '1' });

  const before = await checkConsistency();
  expect(before.code).toBe(1);
  expect(before.stdout).toContain('users and groups: 3, without their anchors: 2');
  expect(before.stdout).toContain(`group ${group.id} version 1: $object.1, $group.1`);
  expect(before.stdout).toContain(`user ${user.id} version 1: $object.1`);
  expect(before.stdout).not.toContain(fine.id);

  const repaired = await checkConsistency('--repair');
  expect(repaired.stdout).toContain('repair: 3 anchors written, 0 objects changed meanwhile');
  expect(repaired.stdout).toContain('without their anchors: 0');
  expect(repaired.code).toBe(0);

  expect((await service.addMember(group.id, user.id)).status).toBe(204);
  const members = await service.request('GET', `/v1.0/groups/${group.id}/members`);
  expect(members.json?.value?.map((member) => member.id)).toEqual([user.id]);
  // A PATCH after the repair moves the anchors on as usual: the repaired version is a real one.
  expect((await service.request('PATCH', `/v1.0/users/${user.id}`, { body: { displayName: 'Renamed after the backfill' } })).status).toBe(204);
  expect((await checkConsistency()).code).toBe(0);
});
