import { readFileSync } from 'node:fs';
import path from 'node:path';
import { useHostResolver } from '../../src/subscriptions/notificationUrl';
import { PlatformCallback } from '../connector/platform';
import { TestService, testAudience } from '../support/testService';

/**
 * docs/logic-apps/group-member-webhook.json: a Logic Apps workflow whose HTTP Webhook trigger
 * subscribes to a group's members and unsubscribes when the workflow is disabled or changed
 * (https://learn.microsoft.com/azure/connectors/connectors-native-webhook). Checked for the
 * fields the workflow definition schema requires, then its subscribe and unsubscribe requests are
 * evaluated as Logic Apps evaluates them and sent through the service.
 */
interface WebhookCall {
  method: string;
  uri: string;
  headers?: Record<string, string>;
  body?: Record<string, string>;
  authentication: { type: string; audience: string };
}
interface Workflow {
  definition: {
    $schema: string;
    contentVersion: string;
    parameters: Record<string, { type: string }>;
    triggers: Record<string, { type: string; inputs: { subscribe: WebhookCall; unsubscribe: WebhookCall } }>;
    actions: Record<string, { type: string; foreach?: string; runAfter: Record<string, unknown> }>;
    outputs: Record<string, unknown>;
  };
}

const workflowFile = path.resolve(__dirname, '../../../docs/logic-apps/group-member-webhook.json');
const workflow = JSON.parse(readFileSync(workflowFile, 'utf8')) as Workflow;
const trigger = workflow.definition.triggers.When_a_group_member_is_added_or_removed!;

let service: TestService;
let callback: PlatformCallback;
beforeAll(async () => {
  service = await TestService.start();
  callback = await PlatformCallback.start();
  callback.resolveToLoopback();
});
afterAll(async () => {
  useHostResolver(undefined);
  await callback.close();
  await service.stop();
});

interface Values {
  readonly parameters: Record<string, string>;
  readonly callbackUrl: string;
  readonly nowMs: number;
  readonly subscribeBody?: Record<string, unknown>;
}

/** The expressions the trigger uses, evaluated as Logic Apps would; any other is an error. */
function evaluate(text: string, values: Values): string {
  return text.replace(/@\{([^}]*)\}/g, (_match, expression: string) => {
    const parameter = /^parameters\('([^']+)'\)$/.exec(expression);
    if (parameter?.[1] !== undefined) return values.parameters[parameter[1]] ?? '';
    if (expression === 'listCallbackUrl()') return values.callbackUrl;
    const days = /^addDays\(utcNow\(\), (\d+)\)$/.exec(expression);
    if (days?.[1] !== undefined) return new Date(values.nowMs + Number(days[1]) * 86_400_000).toISOString();
    if (expression === "triggerOutputs()?['subscribe']?['body']?['id']" && typeof values.subscribeBody?.id === 'string') return values.subscribeBody.id;
    throw new Error(`expression not understood: ${expression}`);
  });
}

/** The managed identity's token: an app token for the API's audience, with a read permission. */
const identityToken = (values: Values) => service.token({ audience: evaluate(trigger.inputs.subscribe.authentication.audience, values), app: { roles: ['GroupMember.Read.All'] } });

async function send(call: WebhookCall, values: Values) {
  const token = await identityToken(values);
  const body = call.body === undefined ? undefined : Object.fromEntries(Object.entries(call.body).map(([name, value]) => [name, evaluate(value, values)]));
  const uri = new URL(evaluate(call.uri, values));
  return service.request(call.method, `${uri.pathname}${uri.search}`, { token, ...(body === undefined ? {} : { body }) });
}

describe('Logic Apps HTTP Webhook trigger (docs/logic-apps/group-member-webhook.json)', () => {
  it('has what the workflow definition schema requires, and a webhook trigger with subscribe and unsubscribe', () => {
    expect(workflow.definition.$schema).toBe('https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#');
    expect(workflow.definition.contentVersion).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(Object.keys(workflow.definition.triggers)).toHaveLength(1);
    expect(trigger.type).toBe('HttpWebhook');
    expect([trigger.inputs.subscribe.method, trigger.inputs.unsubscribe.method]).toEqual(['POST', 'DELETE']);
    expect(trigger.inputs.subscribe.body?.notificationUrl).toBe('@{listCallbackUrl()}');
    for (const call of [trigger.inputs.subscribe, trigger.inputs.unsubscribe])
      expect(call.authentication).toEqual({ type: 'ManagedServiceIdentity', audience: "@{parameters('membershipApiAudience')}" });
    for (const [name, action] of Object.entries(workflow.definition.actions)) expect([name, typeof action.type, typeof action.runAfter]).toEqual([name, 'string', 'object']);
    // Every parameter the expressions name is declared.
    const named = [...JSON.stringify(workflow.definition).matchAll(/parameters\('([^']+)'\)/g)].map((match) => match[1]!);
    expect(named.filter((name) => !(name in workflow.definition.parameters))).toEqual([]);
  });

  it('subscribes (201 with the callback URL and no request to it), and its unsubscribe deletes the subscription (204, then 404)', async () => {
    const group = await service.createGroup();
    const values: Values = { parameters: { membershipApiBaseUrl: service.baseUrl, membershipApiAudience: testAudience, groupId: group.id }, callbackUrl: callback.url(), nowMs: Date.now() };
    const subscribed = await send(trigger.inputs.subscribe, values);
    expect(subscribed.status).toBe(201);
    expect(subscribed.json).toMatchObject({ resource: `groups/${group.id}/members`, changeType: 'updated', notificationUrl: values.callbackUrl });
    expect(callback.requests).toEqual([]);
    const read = () => identityToken(values).then((token) => service.request('GET', `/v1.0/subscriptions/${subscribed.json.id}`, { token }));
    expect((await read()).status).toBe(200);

    const unsubscribed = await send(trigger.inputs.unsubscribe, { ...values, subscribeBody: subscribed.json });
    expect(unsubscribed.status).toBe(204);
    expect((await read()).status).toBe(404);
  });
});
