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
  it('logs one line per request: request-id, caller app, tenant, status, duration, Cosmos requests and RU', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    const appId = '5f3c1e1a-0000-4000-8000-00000000a11c';
    const token = await service.token({ appId, app: { roles: ['GroupMember.ReadWrite.All'] } });
    const response = await service.addMember(group.id, user.id, { token });
    expect(response.status).toBe(204);
    const log = requestLog(response.headers.get('request-id'));
    expect(log).toMatchObject({ route: 'addMember', status: 204, tenantId: service.tenantId, appId });
    expect(log!.durationMs).toBeGreaterThan(0);
    // Group and member reads, then the two edge writes; the embedded store charges 1 RU a request.
    expect(log!.cosmosRequests).toBe(4);
    expect(log!.cosmosRequestCharge).toBeGreaterThan(0);
  });

  it('logs rejected requests too, without a caller when the token was refused', async () => {
    const response = await service.request('GET', '/v1.0/me', { token: null });
    const log = requestLog(response.headers.get('request-id'));
    expect(log).toMatchObject({ route: 'getMe', status: 401, cosmosRequests: 0 });
    expect(log!.tenantId).toBeUndefined();
  });
});
