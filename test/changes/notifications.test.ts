import { randomUUID } from 'node:crypto';
/**
 * Issue 12, items 3 and 4: change notifications delivered through a real Azurite queue by the
 * queue-triggered function, which the local host runs (src/local/triggerHost.ts) with the outbox's
 * timer, both as functions/triggers.ts defines them; changes made through real HTTP, receivers on
 * loopback.
 */
import { getCosmosStore } from '../../src/store/cosmosStore';
import { listChangesSince } from '../../src/changes/changeReads';
import { startTriggerHost, type RunningTriggerHost } from '../../src/local/triggerHost';
import { dispatchTenant, outboxIdle } from '../../src/subscriptions/outbox';
import { challengeExpiringSubscriptions } from '../../src/subscriptions/reauthorization';
import { queueFunctions, timerFunctions } from '../../functions/triggers';
import { TestService } from '../support/testService';
import { Receiver } from './receiver';
import { useOwnAzurite } from '../support/ownAzurite';

let service: TestService;
let triggers: RunningTriggerHost;
const receivers: Receiver[] = [];
const subscriptions: string[] = [];
/** Per change id, every time a receiver got it: duplicates and commit-to-receipt latency, reported at the end. */
const receipts = new Map<string, number[]>();
const savedEnv = { ...process.env };
let restoreStorage: () => Promise<void>;

beforeAll(async () => {
  restoreStorage = await useOwnAzurite();
  // Retries after 1 s (the queue's visibility delay is in whole seconds), not Graph's 30 s.
  process.env.NOTIFICATION_RETRY_BASE_MS = '100';
  process.env.NOTIFICATION_TIMEOUT_MS = '3000';
  service = await TestService.start();
  triggers = await startTriggerHost({
    timers: timerFunctions.filter((definition) => definition.name === 'dispatchNotifications'),
    queues: queueFunctions,
    // Poll often and sweep every second: the tests wait for deliveries, not for the host's idle back-off.
    queueSettings: { maxPollingIntervalMs: 100, visibilityTimeoutMs: 0 },
    schedules: { dispatchNotifications: '* * * * * *' },
  });
});
afterEach(async () => {
  for (const id of subscriptions.splice(0)) await service.request('DELETE', `/v1.0/subscriptions/${id}`);
  for (const receiver of receivers.splice(0)) await receiver.close();
  process.env.NOTIFICATION_RETRY_BUDGET_MS = savedEnv.NOTIFICATION_RETRY_BUDGET_MS ?? '';
  process.env.NOTIFICATION_TIMEOUT_MS = '3000';
  service.proxy.rule = () => undefined;
});
afterAll(async () => {
  await triggers.close();
  await outboxIdle();
  await service.stop();
  await restoreStorage();
  const latencies = [...receipts.values()].map((times) => times[0]!).sort((a, b) => a - b);
  const duplicates = [...receipts.values()].reduce((sum, times) => sum + times.length - 1, 0);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  process.stdout.write(`notifications: ${latencies.length} changes received; commit-to-receipt p50 ${at(0.5)} ms, p99 ${at(0.99)} ms; ${duplicates} duplicate deliveries\n`);
  process.env = savedEnv;
});

const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();

async function startReceiver(): Promise<Receiver> {
  const started = await Receiver.start();
  receivers.push(started);
  return started;
}

async function subscribe(body: Record<string, unknown>, token?: string): Promise<string> {
  const response = await service.request('POST', '/v1.0/subscriptions', {
    // Two hours: further out than the reauthorizationRequired lead (an hour), which tests ask for by name.
    body: { changeType: 'updated,deleted', expirationDateTime: inMinutes(120), ...body },
    ...(token === undefined ? {} : { token }),
  });
  expect(response.status).toBe(201);
  subscriptions.push(response.json.id);
  return response.json.id;
}

/** The change log's records of a group, by the store (what the notifications must carry). */
async function changesOf(groupId: string, tenantId = service.tenantId) {
  const records = await listChangesSince((await getCosmosStore()).memberships, 0, { tenantId, groupIds: [groupId] });
  return records.sort((a, b) => a.atMs - b.atMs);
}

/** Records each notification item's receipt against its change's commit time. */
async function recordReceipts(target: Receiver, tenantId = service.tenantId): Promise<void> {
  const committed = new Map((await listChangesSince((await getCosmosStore()).memberships, 0, { tenantId })).map((record) => [record.changeId, record.atMs]));
  for (const request of target.requests.filter((entry) => entry.query.get('validationToken') === null)) {
    for (const item of (JSON.parse(request.body) as { value: { id: string }[] }).value) {
      const atMs = committed.get(item.id);
      if (atMs !== undefined) receipts.set(item.id, [...(receipts.get(item.id) ?? []), request.atMs - atMs]);
    }
  }
}

describe('change notifications through the queue', () => {
  it('delivers an add and a removal in Graph’s shape, with clientState and the change ids of the log', async () => {
    const target = await startReceiver();
    const group = await service.createGroup();
    const user = await service.createUser();
    const subscriptionId = await subscribe({ resource: `groups/${group.id}/members`, notificationUrl: target.url(), clientState: 'my-secret' });

    expect((await service.addMember(group.id, user.id)).status).toBe(204);
    expect((await service.request('DELETE', `/v1.0/groups/${group.id}/members/${user.id}/$ref`)).status).toBe(204);
    await target.until(() => new Set(target.notifications().map((item) => item.id)).size >= 2);

    const [added, removed] = (await changesOf(group.id)).filter((record) => record.changeType === 'memberAdded' || record.changeType === 'memberRemoved');
    const expiry = (await service.request('GET', `/v1.0/subscriptions/${subscriptionId}`)).json.expirationDateTime;
    const common = { subscriptionId, subscriptionExpirationDateTime: expiry, changeType: 'updated', resource: `Groups/${group.id}`, clientState: 'my-secret', tenantId: service.tenantId };
    const resourceData = { '@odata.type': '#Microsoft.Graph.Group', '@odata.id': `Groups/${group.id}`, id: group.id, organizationId: service.tenantId };
    const byId = new Map(target.notifications().map((item) => [item.id, item]));
    expect(byId.get(added!.changeId)).toEqual({ id: added!.changeId, ...common, resourceData: { ...resourceData, 'members@delta': [{ id: user.id }] } });
    expect(byId.get(removed!.changeId)).toEqual({ id: removed!.changeId, ...common, resourceData: { ...resourceData, 'members@delta': [{ id: user.id, '@removed': 'deleted' }] } });
    expect(new Set(byId.keys())).toEqual(new Set([added!.changeId, removed!.changeId]));
    const posts = target.requests.filter((request) => request.query.get('validationToken') === null);
    expect(posts.every((request) => request.path === '/notify' && request.contentType.startsWith('application/json'))).toBe(true);
    await recordReceipts(target);
  });

  it('notifies an owner change to groups/{id} as an updated of the group without members@delta, and not to groups/{id}/members', async () => {
    const [groupTarget, membersTarget] = [await startReceiver(), await startReceiver()];
    const [owner, added, member] = [await service.createUser(), await service.createUser(), await service.createUser()];
    const group = await service.createGroup({ 'owners@odata.bind': [`https://graph.microsoft.com/v1.0/users/${owner.id}`] });
    const groupSubscription = await subscribe({ resource: `groups/${group.id}`, changeType: 'updated', notificationUrl: groupTarget.url() });
    await subscribe({ resource: `groups/${group.id}/members`, changeType: 'updated', notificationUrl: membersTarget.url() });

    expect((await service.request('POST', `/v1.0/groups/${group.id}/owners/$ref`, { body: { '@odata.id': `https://graph.microsoft.com/v1.0/users/${added.id}` } })).status).toBe(204);
    expect((await service.request('DELETE', `/v1.0/groups/${group.id}/owners/${owner.id}/$ref`)).status).toBe(204);
    const ownerChanges = (await changesOf(group.id)).filter((record) => record.changeType === 'ownerAdded' || record.changeType === 'ownerRemoved');
    expect(ownerChanges.map((record) => [record.changeType, record.ownerId])).toEqual([
      ['ownerAdded', added.id],
      ['ownerRemoved', owner.id],
    ]);
    await groupTarget.until(() => ownerChanges.every((record) => groupTarget.notifications().some((item) => item.id === record.changeId)));
    const resourceData = { '@odata.type': '#Microsoft.Graph.Group', '@odata.id': `Groups/${group.id}`, id: group.id, organizationId: service.tenantId };
    for (const record of ownerChanges) {
      expect(groupTarget.notifications().find((item) => item.id === record.changeId)).toEqual({
        id: record.changeId,
        subscriptionId: groupSubscription,
        subscriptionExpirationDateTime: expect.any(String) as unknown,
        changeType: 'updated',
        resource: `Groups/${group.id}`,
        resourceData,
        clientState: null,
        tenantId: service.tenantId,
      });
    }

    // A member add after them reaches both; the members subscription has that one alone.
    expect((await service.addMember(group.id, member.id)).status).toBe(204);
    const [memberAdded] = (await changesOf(group.id)).filter((record) => record.changeType === 'memberAdded');
    await Promise.all([groupTarget, membersTarget].map((target) => target.until(() => target.notifications().some((item) => item.id === memberAdded!.changeId))));
    await outboxIdle();
    expect(membersTarget.notifications().map((item) => item.id)).toEqual([memberAdded!.changeId]);
    await recordReceipts(groupTarget);
  });

  it('notifies every change of a burst of adds to a whole-tenant subscription, each id at least once', async () => {
    const target = await startReceiver();
    await subscribe({ resource: 'groups', changeType: 'updated', notificationUrl: target.url() });
    const group = await service.createGroup();
    const users = await Promise.all(Array.from({ length: 20 }, () => service.createUser()));
    for (let index = 0; index < users.length; index += 5) {
      const statuses = await Promise.all(users.slice(index, index + 5).map((user) => service.addMember(group.id, user.id)));
      expect(statuses.map((response) => response.status)).toEqual([204, 204, 204, 204, 204]);
    }
    const logged = (await changesOf(group.id)).filter((record) => record.changeType === 'memberAdded');
    expect(logged).toHaveLength(20);
    await target.until(() => logged.every((record) => target.notifications().some((item) => item.id === record.changeId)));
    // Nothing the log does not hold.
    const all = new Set((await listChangesSince((await getCosmosStore()).memberships, 0, { tenantId: service.tenantId })).map((record) => record.changeId));
    expect(target.notifications().filter((item) => !all.has(item.id as string))).toEqual([]);
    await recordReceipts(target);
  });

  it('two outbox runs at once (two instances) send each change once: one holds the tenant’s lease, the other waits', async () => {
    const target = await startReceiver();
    const group = await service.createGroup();
    await subscribe({ resource: `groups/${group.id}/members`, notificationUrl: target.url() });
    const users = await Promise.all(Array.from({ length: 6 }, () => service.createUser()));
    for (const user of users) expect((await service.addMember(group.id, user.id)).status).toBe(204);
    const logged = (await changesOf(group.id)).filter((record) => record.changeType === 'memberAdded');
    await target.until(() => logged.every((record) => target.notifications().some((item) => item.id === record.changeId)));
    await outboxIdle();
    const delivered = target.notifications().length;
    // The tenant's cursor lost (as if never written): every change since the subscription's creation is
    // due again, and two runs start together, as on two instances.
    const { memberships } = await getCosmosStore();
    await memberships.item('$outbox', `${service.tenantId}|subscriptions`).delete();
    const reports = await Promise.all([dispatchTenant(memberships, service.tenantId), dispatchTenant(memberships, service.tenantId)]);
    expect(reports.map((report) => report.notified).sort((a, b) => a - b)).toEqual([0, logged.length]);
    await target.until(() => target.notifications().length >= delivered + logged.length);
    await outboxIdle();
    // Each change twice in all (once at its commit, once after the cursor was lost), never three times.
    const counts = new Map<unknown, number>();
    for (const item of target.notifications()) counts.set(item.id, (counts.get(item.id) ?? 0) + 1);
    expect(logged.map((record) => counts.get(record.changeId))).toEqual(logged.map(() => 2));
  });

  it('retries a receiver that answers 503 twice, with back-off, until it takes the change', async () => {
    const target = await startReceiver();
    const group = await service.createGroup();
    const user = await service.createUser();
    await subscribe({ resource: `groups/${group.id}/members`, notificationUrl: target.url() });
    target.answers.push(503, 503);

    expect((await service.addMember(group.id, user.id)).status).toBe(204);
    await target.until(() => target.notifications().length >= 3);
    const posts = target.requests.filter((request) => request.query.get('validationToken') === null);
    const ids = posts.map((request) => (JSON.parse(request.body) as { value: { id: string }[] }).value.map((item) => item.id));
    const [added] = await changesOf(group.id).then((records) => records.filter((record) => record.changeType === 'memberAdded'));
    expect(ids).toEqual([[added!.changeId], [added!.changeId], [added!.changeId]]);
    // Back-off: the queue's visibility delay keeps each retry at least a second after the failure.
    expect(posts[1]!.atMs - posts[0]!.atMs).toBeGreaterThanOrEqual(900);
    expect(posts[2]!.atMs - posts[1]!.atMs).toBeGreaterThanOrEqual(900);
  });

  it('a receiver that never answers does not hold back another one', async () => {
    // Each attempt may wait 20 s for an answer: a host that let the dead receiver's messages hold
    // the healthy one's would deliver it only after those attempts gave up.
    process.env.NOTIFICATION_TIMEOUT_MS = '20000';
    const dead = await startReceiver();
    const healthy = await startReceiver();
    const group = await service.createGroup();
    for (let index = 0; index < 3; index += 1) await subscribe({ resource: `groups/${group.id}/members`, notificationUrl: dead.url(`/dead${index}`) });
    await subscribe({ resource: `groups/${group.id}/members`, notificationUrl: healthy.url() });
    dead.answers.push(...Array.from({ length: 50 }, () => 'stall' as const));

    const users = await Promise.all([service.createUser(), service.createUser()]);
    for (const user of users) expect((await service.addMember(group.id, user.id)).status).toBe(204);
    await healthy.until(() => new Set(healthy.notifications().map((item) => item.id)).size >= 2);
    // The healthy receiver has every change while the dead one's attempts are still waiting.
    expect(dead.stalled).toBeGreaterThan(0);
    expect(dead.abandoned).toBe(0);
    await recordReceipts(healthy);
  });

  it('sends a missed lifecycle notification once the retry budget is spent', async () => {
    process.env.NOTIFICATION_RETRY_BUDGET_MS = '1500';
    const failing = await startReceiver();
    const lifecycle = await startReceiver();
    failing.notificationStatus = 503;
    const group = await service.createGroup();
    const user = await service.createUser();
    const subscriptionId = await subscribe({ resource: `groups/${group.id}`, notificationUrl: failing.url(), lifecycleNotificationUrl: lifecycle.url('/lifecycle'), clientState: 'state' });

    expect((await service.addMember(group.id, user.id)).status).toBe(204);
    await lifecycle.until(() => lifecycle.notifications('/lifecycle').length >= 1);
    expect(lifecycle.notifications('/lifecycle')).toEqual([
      { subscriptionId, subscriptionExpirationDateTime: expect.any(String) as unknown, tenantId: service.tenantId, clientState: 'state', lifecycleEvent: 'missed' },
    ]);
    // Tried, backed off and tried again before giving up.
    expect(failing.notifications().length).toBeGreaterThanOrEqual(2);
  });

  it('never notifies a subscription of another tenant’s changes', async () => {
    const target = await startReceiver();
    await subscribe({ resource: 'groups', notificationUrl: target.url() });
    const otherToken = await service.appToken(['Directory.ReadWrite.All'], service.otherTenantId);
    const otherGroup = await service.createGroup({}, otherToken);
    const otherUser = await service.createUser({}, otherToken);
    expect((await service.addMember(otherGroup.id, otherUser.id, { token: otherToken })).status).toBe(204);
    // The other tenant's subscriber does get it: the outbox ran for that tenant.
    const otherTarget = await startReceiver();
    await subscribe({ resource: 'groups', notificationUrl: otherTarget.url() }, otherToken);
    const group = await service.createGroup();
    await target.until(() => target.notifications().some((item) => (item.resourceData as { id: string }).id === group.id));
    await outboxIdle();
    expect(target.notifications().every((item) => item.tenantId === service.tenantId)).toBe(true);
    expect(target.notifications().filter((item) => (item.resourceData as { id: string }).id === otherGroup.id)).toEqual([]);
  });

  it('never sends the members of a HiddenMembership group to a subscriber who may not see them (SPEC 2)', async () => {
    // GET …/members answers this caller 403 and delta leaves the members out; a notification must not
    // name them either (SPEC 2: visible only to owners, members, the group-managing roles,
    // Directory.Read.All applications and the member itself).
    const hidden = await service.createGroup({ visibility: 'HiddenMembership' });
    const [outsider, joiner, insider] = [await service.createUser(), await service.createUser(), await service.createUser()];
    expect((await service.addMember(hidden.id, insider.id)).status).toBe(204);
    const outsiderToken = await service.userToken(outsider.id, ['Group.Read.All']);
    expect((await service.request('GET', `/v1.0/groups/${hidden.id}/members`, { token: outsiderToken })).status).toBe(403);
    const outsiderTarget = await startReceiver();
    await subscribe({ resource: 'groups', notificationUrl: outsiderTarget.url() }, outsiderToken);
    // A member of the hidden group, with the same permission, may see its members.
    const insiderTarget = await startReceiver();
    await subscribe({ resource: `groups/${hidden.id}/members`, notificationUrl: insiderTarget.url() }, await service.userToken(insider.id, ['Group.Read.All']));
    const adminTarget = await startReceiver();
    await subscribe({ resource: `groups/${hidden.id}/members`, notificationUrl: adminTarget.url() });

    expect((await service.addMember(hidden.id, joiner.id)).status).toBe(204);
    await adminTarget.until(() => adminTarget.notifications().length > 0);
    await insiderTarget.until(() => insiderTarget.notifications().length > 0);
    await outsiderTarget.until(() => outsiderTarget.notifications().some((item) => (item.resourceData as { id: string }).id === hidden.id));
    await outboxIdle();
    const namedTo = (target: typeof adminTarget) =>
      target
        .notifications()
        .filter((item) => (item.resourceData as { id: string }).id === hidden.id)
        .flatMap((item) => ((item.resourceData as { 'members@delta'?: { id: string }[] })['members@delta'] ?? []).map((entry) => entry.id));
    // The outsider learns that the group changed, as for any group, but not who joined it.
    expect(namedTo(outsiderTarget)).toEqual([]);
    expect(
      outsiderTarget
        .notifications()
        .filter((item) => (item.resourceData as { id: string }).id === hidden.id)
        .map((item) => item.changeType),
    ).toContain('updated');
    expect(namedTo(insiderTarget)).toContain(joiner.id);
    expect(namedTo(adminTarget)).toContain(joiner.id);
  });

  it('loses no change when the store fails during dispatch: the sweep sends it once the store is back', async () => {
    const target = await startReceiver();
    const group = await service.createGroup();
    const user = await service.createUser();
    await subscribe({ resource: `groups/${group.id}/members`, notificationUrl: target.url() });
    // Every read of the tenant's subscriptions and outbox cursor fails: no dispatch can run.
    service.proxy.rule = (request) => (String(request.headers['x-ms-documentdb-partitionkey']).includes('|subscriptions') ? { kind: 'status', status: 503 } : undefined);
    expect((await service.addMember(group.id, user.id)).status).toBe(204);
    await outboxIdle();
    expect(target.notifications()).toEqual([]);
    service.proxy.rule = () => undefined;
    const [added] = (await changesOf(group.id)).filter((record) => record.changeType === 'memberAdded');
    await target.until(() => target.notifications().some((item) => item.id === added!.changeId));
  });
});

describe('reauthorizationRequired and POST /subscriptions/{id}/reauthorize', () => {
  it('a subscription within an hour of its expiry gets one reauthorizationRequired per expiry at its lifecycle URL; one further out, or without a lifecycle URL, none', async () => {
    const [lifecycle, changes] = [await startReceiver(), await startReceiver()];
    const group = await service.createGroup();
    const soon = await subscribe({
      resource: `groups/${group.id}`,
      notificationUrl: changes.url(),
      lifecycleNotificationUrl: lifecycle.url('/lifecycle'),
      clientState: 'c1',
      expirationDateTime: inMinutes(30),
    });
    await subscribe({ resource: `groups/${group.id}`, notificationUrl: changes.url(), lifecycleNotificationUrl: lifecycle.url('/later'), expirationDateTime: inMinutes(120) });
    await subscribe({ resource: `groups/${group.id}`, notificationUrl: changes.url(), expirationDateTime: inMinutes(30) });
    const { memberships } = await getCosmosStore();
    // Passes of the timer (this file's trigger host runs it too; a claim on the subscription lets one send).
    const challengesOf = () => lifecycle.notifications('/lifecycle').filter((item) => item.subscriptionId === soon);
    await challengeExpiringSubscriptions(memberships);
    await lifecycle.until(() => challengesOf().length >= 1);
    await challengeExpiringSubscriptions(memberships);
    const expiry = (await service.request('GET', `/v1.0/subscriptions/${soon}`)).json.expirationDateTime;
    const challenge = { subscriptionId: soon, subscriptionExpirationDateTime: expiry, tenantId: service.tenantId, clientState: 'c1', lifecycleEvent: 'reauthorizationRequired' };
    expect(challengesOf()).toEqual([challenge]);
    expect(lifecycle.notifications('/later')).toEqual([]);

    // A renewal is a new expiry: still within the hour, it is challenged again, once.
    const renewed = await service.request('PATCH', `/v1.0/subscriptions/${soon}`, { body: { expirationDateTime: inMinutes(40) } });
    expect(renewed.status).toBe(200);
    await challengeExpiringSubscriptions(memberships);
    await lifecycle.until(() => challengesOf().length >= 2);
    await challengeExpiringSubscriptions(memberships);
    expect(challengesOf().map((item) => item.subscriptionExpirationDateTime)).toEqual([expiry, renewed.json.expirationDateTime]);
  });

  it('POST /subscriptions/{id}/reauthorize: 204 for its creator, the expiry unchanged; 404 for another caller, an unknown id or a malformed one', async () => {
    const receiver = await startReceiver();
    const id = await subscribe({ resource: 'groups', notificationUrl: receiver.url(), expirationDateTime: inMinutes(30) });
    const before = (await service.request('GET', `/v1.0/subscriptions/${id}`)).json;
    const answer = await service.request('POST', `/v1.0/subscriptions/${id}/reauthorize`);
    expect([answer.status, answer.text]).toEqual([204, '']);
    expect((await service.request('GET', `/v1.0/subscriptions/${id}`)).json).toEqual(before);
    // Another caller of the same tenant: a user signed in through the app.
    const other = await service.userToken((await service.createUser()).id, ['GroupMember.Read.All']);
    for (const [path, token] of [
      [`/v1.0/subscriptions/${id}/reauthorize`, other],
      [`/v1.0/subscriptions/${randomUUID()}/reauthorize`, undefined],
      ['/v1.0/subscriptions/not-a-guid/reauthorize', undefined],
    ] as const) {
      const refused = await service.request('POST', path, token === undefined ? {} : { token });
      expect([path, refused.status, refused.json?.error?.code]).toEqual([path, 404, 'NotFound']);
    }
  });
});
