import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isMemberSideUpsert } from '../support/faultProxy';
import { TestService, testAudience } from '../support/testService';

/**
 * The Logic Apps HTTP action in docs/logic-apps, evaluated the way Logic Apps evaluates its
 * inputs (parameters, trigger body, run name) and sent through the service, retries included.
 */
interface HttpAction {
  type: string;
  inputs: {
    method: string;
    uri: string;
    headers: Record<string, string>;
    body: Record<string, string>;
    authentication: { type: string; audience: string };
    retryPolicy: { type: string; count: number };
  };
}

const actionFile = path.resolve(__dirname, '../../../docs/logic-apps/add-member-action.json');
const action = (JSON.parse(readFileSync(actionFile, 'utf8')) as Record<string, HttpAction>).Add_user_to_group!;

let service: TestService;
beforeAll(async () => {
  service = await TestService.start();
});
afterAll(() => service.stop());

/** The few workflow expressions the action uses, evaluated as Logic Apps would. */
function evaluate(text: string, values: { parameters: Record<string, string>; triggerBody: Record<string, string>; runName: string }): string {
  return text.replace(/@\{([^}]*)\}/g, (_match, expression: string) => {
    const parameter = /^parameters\('([^']+)'\)$/.exec(expression);
    if (parameter?.[1] !== undefined) return values.parameters[parameter[1]] ?? '';
    const trigger = /^triggerBody\(\)\?\['([^']+)'\]$/.exec(expression);
    if (trigger?.[1] !== undefined) return values.triggerBody[trigger[1]] ?? '';
    if (expression === 'workflow().run.name') return values.runName;
    throw new Error(`expression not understood: ${expression}`);
  });
}

async function send(values: Parameters<typeof evaluate>[1]): Promise<{ status: number; retryAfter: string | null }> {
  const inputs = action.inputs;
  const audience = evaluate(inputs.authentication.audience, values);
  // What the managed identity's token looks like: an app token for the API's audience.
  const token = await service.token({ audience, app: { roles: ['GroupMember.ReadWrite.All'] } });
  const headers = Object.fromEntries(Object.entries(inputs.headers).map(([name, value]) => [name, evaluate(value, values)]));
  const body = Object.fromEntries(Object.entries(inputs.body).map(([name, value]) => [name, evaluate(value, values)]));
  const uri = new URL(evaluate(inputs.uri, values));
  const response = await service.request(inputs.method, `${uri.pathname}${uri.search}`, { token, headers, body });
  return { status: response.status, retryAfter: response.headers.get('retry-after') };
}

describe('Logic Apps HTTP action (docs/logic-apps/add-member-action.json)', () => {
  it('is an HTTP POST with managed identity to a parameterised audience, an Idempotency-Key, and exponential retries', () => {
    expect(action.type).toBe('Http');
    expect(action.inputs.method).toBe('POST');
    expect(action.inputs.authentication).toEqual({ type: 'ManagedServiceIdentity', audience: "@{parameters('membershipApiAudience')}" });
    expect(action.inputs.headers['Idempotency-Key']).toContain('workflow().run.name');
    expect(action.inputs.retryPolicy.type).toBe('exponential');
  });

  it('adds the member, and a retry of the same run replays 204 instead of the duplicate 400', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    const values = { parameters: { membershipApiBaseUrl: service.baseUrl, membershipApiAudience: testAudience, groupId: group.id }, triggerBody: { userId: user.id }, runName: '08585123456789' };
    expect((await send(values)).status).toBe(204);
    expect((await send(values)).status).toBe(204);
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: true });
    // Another run adding the same user is told the truth.
    expect((await send({ ...values, runName: '08585999999999' })).status).toBe(400);
  });

  it('is safe to retry after a 503 from a failed second write: the retry completes the membership', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    const values = { parameters: { membershipApiBaseUrl: service.baseUrl, membershipApiAudience: testAudience, groupId: group.id }, triggerBody: { userId: user.id }, runName: '08585000000001' };
    service.proxy.rule = (request) => (isMemberSideUpsert(request) ? { kind: 'status', status: 503 } : undefined);
    try {
      const first = await send(values);
      expect(first.status).toBe(503);
      expect(first.retryAfter).not.toBeNull();
    } finally {
      service.proxy.rule = () => undefined;
    }
    expect((await send(values)).status).toBe(204);
    expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: true });
  });
});
