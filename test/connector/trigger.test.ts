/**
 * Issue 12, item 5: the connector's webhook trigger "When a group member is added or removed",
 * played from the platform's side over HTTPS against the local host: the subscribe request built
 * from connector/ as Power Automate builds it, 201 with Location, the DELETE the connector names
 * for that Location, and bad input refused with Graph's errors and nothing stored. Notifications
 * for an add and a removal arrive once delivery exists: subscribeViaConnector (./platform) is what
 * such a test starts with.
 */
import { randomUUID } from 'node:crypto';
import { createLocalCertificate } from '../../src/local/localCertificate';
import type { ParameterObject, ResponseObject, SchemaObject } from '../../src/openapi/swagger';
import { useHostResolver } from '../../src/subscriptions/notificationUrl';
import { startTriggerHost, type RunningTriggerHost } from '../../src/local/triggerHost';
import { outboxIdle } from '../../src/subscriptions/outbox';
import { queueFunctions, timerFunctions } from '../../functions/triggers';
import { Receiver } from '../changes/receiver';
import { useOwnAzurite } from '../support/ownAzurite';
import { validateSwagger } from '../openapi/validateSwagger';
import { anyString, containing, matching } from '../support/matchers';
import { TestService } from '../support/testService';
import { connectorDefinition, PlatformCallback, subscribeViaConnector, triggerOperation, unsubscribeOperation, unsubscribeViaConnector } from './platform';

let service: TestService;
let callback: PlatformCallback;
let restoreStorage: () => Promise<void>;
beforeAll(async () => {
  restoreStorage = await useOwnAzurite();
  service = await TestService.start({ tls: await createLocalCertificate() });
  callback = await PlatformCallback.start();
});
afterAll(async () => {
  useHostResolver(undefined);
  await callback.close();
  await service.stop();
  await restoreStorage();
});
beforeEach(() => callback.resolveToLoopback());
afterEach(() => useHostResolver(undefined));

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
const subscriptionDocuments = async () => (await service.snapshotStore()).filter((entry) => entry.includes('|subscriptions:'));

/** A signed-in user of the connection, with the permission subscriptions need. */
async function connectionUser(): Promise<{ id: string; token: string }> {
  const user = await service.createUser();
  return { id: user.id, token: await service.userToken(user.id, ['GroupMember.Read.All']) };
}

describe('the trigger in connector/apiDefinition.swagger.json', () => {
  it('passes swagger-parser, and is a single webhook trigger whose body carries the callback in one internal x-ms-notification-url property', async () => {
    const definition = await validateSwagger(connectorDefinition());
    const trigger = triggerOperation(definition);
    expect(trigger.operation).toMatchObject({ 'x-ms-trigger': 'single', summary: 'When a group member is added or removed' });
    expect(trigger.operation['x-ms-visibility']).not.toBe('internal');
    const properties = Object.entries(trigger.body.properties ?? {});
    const callbacks = properties.filter(([, property]) => property['x-ms-notification-url'] === true);
    expect(callbacks.map(([name, property]) => [name, property['x-ms-visibility']])).toEqual([['notificationUrl', 'internal']]);
    expect(trigger.body.required).toContain('notificationUrl');
    // Every other internal property has the value the platform sends for it.
    expect(properties.filter(([, property]) => property['x-ms-visibility'] === 'internal' && property['x-ms-notification-url'] !== true && property.default === undefined)).toEqual([]);
  });

  it('picks the group from the tenant’s group list (x-ms-dynamic-values over ListGroups, which needs no input)', async () => {
    const definition = await validateSwagger(connectorDefinition());
    const picker = triggerOperation(definition).body.properties!.resource!['x-ms-dynamic-values']!;
    expect(picker).toEqual({ operationId: 'ListGroups', 'value-collection': 'value', 'value-path': 'id', 'value-title': 'displayName' });
    const source = Object.values(definition.paths).find((item) => item.get?.operationId === 'ListGroups')!.get!;
    expect((source.parameters as ParameterObject[]).filter((parameter) => parameter.required)).toEqual([]);
  });

  it('answers 201 with a Location header, and names an internal DELETE for that Location', async () => {
    const definition = await validateSwagger(connectorDefinition());
    const trigger = triggerOperation(definition);
    const created = (trigger.operation.responses as Record<string, ResponseObject>)['201']!;
    expect(Object.keys(created.headers ?? {})).toContain('Location');
    const unsubscribe = unsubscribeOperation(`https://${definition.host}/v1.0/subscriptions/${randomUUID()}`, definition);
    expect(unsubscribe.operation['x-ms-visibility']).toBe('internal');
    expect(Object.keys(unsubscribe.operation.responses)).toContain('204');
  });

  it('describes the notification (x-ms-notification-content on the path): value[] with the member ID and whether it was removed', async () => {
    const definition = await validateSwagger(connectorDefinition());
    const content = definition.paths[triggerOperation(definition).path]!['x-ms-notification-content']!;
    expect(content.description).toMatch(/\S/);
    const change = content.schema.properties!.value!.items!;
    expect(Object.keys(change.properties!)).toEqual(
      expect.arrayContaining(['subscriptionId', 'clientState', 'changeType', 'resource', 'resourceData', 'tenantId', 'subscriptionExpirationDateTime']),
    );
    const member: SchemaObject = change.properties!.resourceData!.properties!['members@delta']!.items!;
    expect(member.properties!.id!['x-ms-summary']).toBe('Member ID');
    // Graph's notifications carry "@removed": "deleted" (a string), as the delivery writes it.
    expect(member.properties!['@removed']).toMatchObject({ type: 'string', 'x-ms-summary': 'Removed' });
  });
});

describe('the platform’s side, over HTTPS', () => {
  it('subscribes as the platform does (callback in the notification-url property, the picked group completed by the policy): 201, Location, no request to the callback', async () => {
    const [user, group] = [await connectionUser(), await service.createGroup()];
    const callbackUrl = callback.url();
    const before = callback.requests.length;
    const { response, sent, location } = await subscribeViaConnector(service, { resource: group.id, expirationDateTime: inDays(28) }, callbackUrl, user.token);
    expect(service.baseUrl).toMatch(/^https:/);
    expect(sent).toEqual({ resource: `groups/${group.id}/members`, changeType: 'updated', notificationUrl: callbackUrl, expirationDateTime: anyString() });
    expect(response.status).toBe(201);
    expect(location).toBe(`${service.baseUrl}/v1.0/subscriptions/${response.json.id}`);
    expect(response.json).toMatchObject({ resource: `groups/${group.id}/members`, changeType: 'updated', notificationUrl: callbackUrl, creatorId: user.id });
    // The platform's endpoint cannot echo a validation token, and a POST to it would start a run.
    expect(callback.requests.length).toBe(before);

    const read = await service.request('GET', new URL(location!).pathname, { token: user.token });
    expect([read.status, read.json.id]).toEqual([200, response.json.id]);
  });

  it('unsubscribes as the platform does (DELETE the Location through the operation the connector names): 204, then GET 404', async () => {
    const [user, group] = [await connectionUser(), await service.createGroup()];
    const { location } = await subscribeViaConnector(service, { resource: group.id, expirationDateTime: inDays(1) }, callback.url(), user.token);
    const deleted = await unsubscribeViaConnector(service, location!, user.token);
    expect([deleted.status, deleted.text]).toEqual([204, '']);
    const read = await service.request('GET', new URL(location!).pathname, { token: user.token });
    expect([read.status, read.json.error?.code]).toEqual([404, 'NotFound']);
    expect(await subscriptionDocuments()).not.toContainEqual(expect.stringContaining(location!.split('/').pop()!));
  });

  it('refuses to unsubscribe another caller’s subscription (404), which stays', async () => {
    const [owner, other, group] = [await connectionUser(), await connectionUser(), await service.createGroup()];
    const { location } = await subscribeViaConnector(service, { resource: group.id, expirationDateTime: inDays(1) }, callback.url(), owner.token);
    const refused = await unsubscribeViaConnector(service, location!, other.token);
    expect([refused.status, refused.json.error?.code]).toEqual([404, 'NotFound']);
    expect((await service.request('GET', new URL(location!).pathname, { token: owner.token })).status).toBe(200);
  });

  it.each([
    ['a group that does not exist', () => ({ resource: randomUUID(), expirationDateTime: inDays(1) }), 404, 'Request_ResourceNotFound'],
    ['an expiry beyond 41,760 minutes', () => ({ resource: '', expirationDateTime: inDays(30) }), 400, 'InvalidRequest'],
    ['an expiry in the past', () => ({ resource: '', expirationDateTime: inDays(-1) }), 400, 'InvalidRequest'],
  ] as const)('refuses %s with Graph’s error, storing nothing and calling nobody', async (_name, inputs, status, code) => {
    const [user, group] = [await connectionUser(), await service.createGroup()];
    const before = [await subscriptionDocuments(), callback.requests.length] as const;
    const filled = inputs();
    const { response, location } = await subscribeViaConnector(service, { ...filled, resource: filled.resource || group.id }, callback.url(), user.token);
    expect([response.status, response.json.error?.code]).toEqual([status, code]);
    expect(location).toBeNull();
    expect([await subscriptionDocuments(), callback.requests.length]).toEqual(before);
  });

  it('refuses a callback host that resolves to an internal address (400) before any connection, storing nothing', async () => {
    const [user, group] = [await connectionUser(), await service.createGroup()];
    callback.resolveToLoopback('10.20.30.40');
    const before = await subscriptionDocuments();
    const { response } = await subscribeViaConnector(service, { resource: group.id, expirationDateTime: inDays(1) }, callback.url(), user.token);
    expect(response.status).toBe(400);
    expect(response.json.error).toMatchObject({ code: 'InvalidRequest', message: matching('internal address \\(10\\.20\\.30\\.40\\)') });
    expect(await subscriptionDocuments()).toEqual(before);
  });

  it.each([
    ['a look-alike host', 'prod-07.westeurope.logic.azure.com.example.net', true],
    ['an unsigned workflow URL', 'prod-07.westeurope.logic.azure.com', false],
  ] as const)('gives %s Graph’s handshake, which an endpoint answering 202 fails (400 ValidationError), storing nothing', async (_name, host, signed) => {
    const [user, group] = [await connectionUser(), await service.createGroup()];
    const impostor = await PlatformCallback.start(host, signed);
    try {
      impostor.resolveToLoopback();
      const before = await subscriptionDocuments();
      const { response } = await subscribeViaConnector(service, { resource: group.id, expirationDateTime: inDays(1) }, impostor.url(), user.token);
      expect([response.status, response.json.error?.code]).toEqual([400, 'ValidationError']);
      expect(impostor.requests.map((request) => request.query.has('validationToken'))).toEqual([true]);
      expect(await subscriptionDocuments()).toEqual(before);
    } finally {
      await impostor.close();
    }
  });
});

describe('a flow’s life: turned on, a run per change, turned off', () => {
  let triggers: RunningTriggerHost;
  beforeAll(async () => {
    triggers = await startTriggerHost({
      timers: timerFunctions.filter((definition) => definition.name === 'dispatchNotifications'),
      queues: queueFunctions,
      queueSettings: { maxPollingIntervalMs: 100, visibilityTimeoutMs: 0 },
      schedules: { dispatchNotifications: '* * * * * *' },
    });
  });
  afterAll(async () => {
    await triggers.close();
    await outboxIdle();
  });

  /** The notification items the callback got (each POST is one run of the flow). */
  const itemsAt = (url: string) =>
    callback.requests
      .filter((request) => request.query.get('sig') === new URL(url).searchParams.get('sig'))
      .flatMap((request) => (JSON.parse(request.body) as { value: Record<string, unknown>[] }).value);

  async function until(condition: () => boolean): Promise<void> {
    for (let waited = 0; !condition(); waited += 50) {
      if (waited > 30_000) throw new Error('timed out waiting for a notification');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('an add and a removal each reach the callback in the shape x-ms-notification-content describes; after the DELETE, nothing more', async () => {
    const [user, group, member, later] = [await connectionUser(), await service.createGroup(), await service.createUser(), await service.createUser()];
    const callbackUrl = callback.url();
    const { response, location } = await subscribeViaConnector(service, { resource: group.id, expirationDateTime: inDays(2) }, callbackUrl, user.token);
    expect(response.status).toBe(201);

    expect((await service.addMember(group.id, member.id)).status).toBe(204);
    expect((await service.request('DELETE', `/v1.0/groups/${group.id}/members/${member.id}/$ref`)).status).toBe(204);
    await until(() => itemsAt(callbackUrl).length >= 2);
    const items = itemsAt(callbackUrl);
    const common = { subscriptionId: response.json.id, changeType: 'updated', resource: `Groups/${group.id}`, tenantId: service.tenantId };
    expect(items.map((item) => ({ ...item, id: undefined, subscriptionExpirationDateTime: undefined }))).toEqual(
      expect.arrayContaining([
        containing({ ...common, resourceData: containing({ id: group.id, 'members@delta': [{ id: member.id }] }) }),
        containing({ ...common, resourceData: containing({ id: group.id, 'members@delta': [{ id: member.id, '@removed': 'deleted' }] }) }),
      ]),
    );
    // Every property the flow reads is one the trigger's notification schema names (its outputs).
    const definition = await validateSwagger(connectorDefinition());
    const content = definition.paths[triggerOperation(definition).path]!['x-ms-notification-content']!.schema.properties!.value!.items!;
    const memberSchema = content.properties!.resourceData!.properties!['members@delta']!.items!.properties!;
    const memberProperties = Object.keys(memberSchema);
    expect(memberSchema['@removed']!.type).toBe(typeof items.flatMap((item) => (item.resourceData as { 'members@delta': Record<string, unknown>[] })['members@delta']).find((changed) => '@removed' in changed)!['@removed']);
    for (const item of items) {
      expect(Object.keys(content.properties!)).toEqual(expect.arrayContaining(Object.keys(item).filter((key) => key !== 'id')));
      for (const changed of (item.resourceData as { 'members@delta': Record<string, unknown>[] })['members@delta']) expect(memberProperties).toEqual(expect.arrayContaining(Object.keys(changed)));
    }

    expect((await unsubscribeViaConnector(service, location!, user.token)).status).toBe(204);
    // A second subscriber to the same group sees the next change: by then the turned-off flow would have too.
    const witness = await Receiver.start();
    try {
      const created = await service.request('POST', '/v1.0/subscriptions', {
        body: { resource: `groups/${group.id}/members`, changeType: 'updated', notificationUrl: witness.url(), expirationDateTime: inDays(1) },
      });
      expect(created.status).toBe(201);
      expect((await service.addMember(group.id, later.id)).status).toBe(204);
      await witness.until(() => witness.notifications().length >= 1);
      await outboxIdle();
      expect(itemsAt(callbackUrl)).toHaveLength(items.length);
      await service.request('DELETE', `/v1.0/subscriptions/${created.json.id}`);
    } finally {
      await witness.close();
    }
  });
});
