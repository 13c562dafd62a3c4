import { isGroupSideCreate, isMemberSideUpsert, type ProxiedRequest } from '../support/faultProxy';
import { TestService } from '../support/testService';

let service: TestService;
beforeAll(async () => {
  service = await TestService.start();
});
afterAll(() => service.stop());

interface RequestLog {
  requestId: string;
  clientRequestId: string;
  route: string;
  status: number;
  durationMs: number;
  tenantId?: string;
  appId?: string;
  cosmosRequests: number;
  cosmosRequestCharge: number;
}

function requestLog(requestId: string | null): RequestLog | undefined {
  return service.logs.find((entry) => entry.message === 'request' && (entry.details as RequestLog).requestId === requestId)?.details as RequestLog | undefined;
}

describe('request telemetry (through the InvocationContext, which the host sends to Application Insights)', () => {
  /** Sends one request and returns what reached the store meanwhile (the service's Cosmos client goes through the proxy). */
  async function storeTraffic<T>(send: () => Promise<T>): Promise<{ result: T; seen: ProxiedRequest[] }> {
    service.proxy.seen.length = 0;
    service.proxy.record = true;
    try {
      return { result: await send(), seen: service.proxy.seen.splice(0) };
    } finally {
      service.proxy.record = false;
    }
  }

  it('logs one line per request: request-id, caller app, tenant, status, duration, Cosmos requests and RU', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    const appId = '5f3c1e1a-0000-4000-8000-00000000a11c';
    const token = await service.token({ appId, app: { roles: ['GroupMember.ReadWrite.All'] } });
    const { result: response, seen } = await storeTraffic(() => service.addMember(group.id, user.id, { token }));
    expect(response.status).toBe(204);
    const log = requestLog(response.headers.get('request-id'));
    expect(log).toMatchObject({ route: 'addMember', status: 204, tenantId: service.tenantId, appId });
    expect(log!.durationMs).toBeGreaterThan(0);
    // The round trips the store really saw, whether or not this instance had the group and the
    // user cached: the two edge writes, and a point read for each object it had not seen.
    expect(log!.cosmosRequests).toBe(seen.length);
    expect(seen.filter(isGroupSideCreate)).toHaveLength(1);
    expect(seen.filter(isMemberSideUpsert)).toHaveLength(1);
    expect(seen.filter((request) => request.method === 'GET').length).toBeLessThanOrEqual(2);
    expect(seen).toHaveLength(2 + seen.filter((request) => request.method === 'GET').length);
    // The embedded store charges 1 RU a request.
    expect(log!.cosmosRequestCharge).toBeGreaterThan(0);
  });

  it('counts the same way for objects the instance has certainly seen', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    expect((await service.request('GET', `/v1.0/groups/${group.id}`)).status).toBe(200);
    expect((await service.request('GET', `/v1.0/users/${user.id}`)).status).toBe(200);
    const { result: response, seen } = await storeTraffic(() => service.addMember(group.id, user.id));
    expect(response.status).toBe(204);
    const log = requestLog(response.headers.get('request-id'));
    expect(log!.cosmosRequests).toBe(seen.length);
    expect(seen.filter(isGroupSideCreate)).toHaveLength(1);
    expect(seen.filter(isMemberSideUpsert)).toHaveLength(1);
  });

  it('logs rejected requests too, without a caller when the token was refused', async () => {
    const response = await service.request('GET', '/v1.0/me', { token: null });
    const log = requestLog(response.headers.get('request-id'));
    expect(log).toMatchObject({ route: 'getMe', status: 401, cosmosRequests: 0 });
    expect(log!.tenantId).toBeUndefined();
  });
});
