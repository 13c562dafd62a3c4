import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { closeServer } from '../../src/local/closeServer';
import { operationsOfPath, type OperationObject, type ParameterObject, type SchemaObject, type SwaggerDocument } from '../../src/openapi/swagger';
import { connectorFolder, repositoryRoot } from '../../src/openapi/writeConnector';
import { useHostResolver } from '../../src/subscriptions/notificationUrl';
import type { TestResponse, TestService } from '../support/testService';
import { fillsTemplate } from '../openapi/swaggerChecks';

/**
 * Power Automate's side of the connector's webhook trigger, played from the committed connector/
 * files: what the platform reads there is what this reads, and nothing else.
 * (https://learn.microsoft.com/training/modules/create-triggers-custom-connectors/2-webhook-trigger:
 * the platform POSTs the trigger's body with its callback URL in the x-ms-notification-url
 * property, keeps the 201's Location, and DELETEs it when the flow is turned off.)
 */
const folder = connectorFolder(repositoryRoot(__dirname));
export const connectorDefinition = (): SwaggerDocument => JSON.parse(readFileSync(path.join(folder, 'apiDefinition.swagger.json'), 'utf8')) as SwaggerDocument;
const connectorProperties = () =>
  JSON.parse(readFileSync(path.join(folder, 'apiProperties.json'), 'utf8')) as { properties: { policyTemplateInstances?: { templateId: string; parameters: Record<string, unknown> }[] } };

export interface TriggerOperation {
  readonly path: string;
  readonly operation: OperationObject;
  /** The body schema, its $ref resolved. */
  readonly body: SchemaObject;
}

const resolve = (definition: SwaggerDocument, schema: SchemaObject): SchemaObject =>
  schema.$ref === undefined ? schema : resolve(definition, definition.definitions[schema.$ref.replace('#/definitions/', '')]!);

/** The one operation marked x-ms-trigger, as the designer lists it among the triggers. */
export function triggerOperation(definition: SwaggerDocument = connectorDefinition()): TriggerOperation {
  const triggers = Object.entries(definition.paths).flatMap(([itemPath, item]) =>
    operationsOfPath(item)
      .filter(([, operation]) => operation['x-ms-trigger'] !== undefined)
      .map(([method, operation]) => ({ path: itemPath, method, operation })),
  );
  if (triggers.length !== 1 || triggers[0]!.method !== 'post') throw new Error(`expected one POST trigger, found ${JSON.stringify(triggers.map((trigger) => trigger.operation.operationId))}`);
  const { path: triggerPath, operation } = triggers[0]!;
  const bodyParameter = (operation.parameters as ParameterObject[]).find((parameter) => parameter.in === 'body');
  if (bodyParameter?.schema === undefined) throw new Error('the trigger has no body');
  return { path: triggerPath, operation, body: resolve(definition, bodyParameter.schema) };
}

/** The DELETE operation whose path the Location fills: what the platform's unsubscribe reaches. */
export function unsubscribeOperation(location: string, definition: SwaggerDocument = connectorDefinition()): { path: string; operation: OperationObject } {
  const pathname = new URL(location).pathname;
  const matches = Object.entries(definition.paths).flatMap(([itemPath, item]) => (item.delete !== undefined && fillsTemplate(pathname, itemPath) ? [{ path: itemPath, operation: item.delete }] : []));
  if (matches.length !== 1) throw new Error(`no single DELETE operation for ${pathname}`);
  return matches[0]!;
}

/** The connector's request policies for an operation: SetProperty with `{@body().name}` templates is the only kind it has. */
function applyRequestPolicies(operationId: string, body: Record<string, unknown>): Record<string, unknown> {
  const result = { ...body };
  for (const policy of connectorProperties().properties.policyTemplateInstances ?? []) {
    const parameters = policy.parameters;
    if (!(parameters['x-ms-apimTemplate-operationName'] as string[]).includes(operationId)) continue;
    if (policy.templateId.toLowerCase() !== 'setproperty' || parameters['x-ms-apimTemplate-policySection'] !== 'Request') throw new Error(`policy ${policy.templateId} not played`);
    if (parameters['x-ms-apimTemplateParameter.newPropertyParentPathTemplate'] !== '@body()') throw new Error('only @body() parents are played');
    const template = parameters['x-ms-apimTemplateParameter.propertyValuePathTemplate'] as string;
    result[parameters['x-ms-apimTemplateParameter.newPropertySubPathTemplate'] as string] = template.replace(/\{@body\(\)\.(\w+)\}/g, (_match, name: string) => {
      const value = body[name];
      if (typeof value !== 'string') throw new Error(`the policy reads ${name}, which is not a string`);
      return value;
    });
  }
  return result;
}

/**
 * The platform's callback endpoint, as the service reaches it: a Logic Apps workflow URL signed
 * with sp/sv/sig on a *.logic.azure.com host, that host resolving to this loopback server for the
 * service (its resolver hook), plain http being what the local host allows to loopback. Like the
 * platform, it answers every POST 202 and never echoes a validation token; it records them all.
 */
export class PlatformCallback {
  readonly requests: { query: URLSearchParams; body: string }[] = [];
  private server!: http.Server;

  constructor(
    readonly host = 'prod-07.westeurope.logic.azure.com',
    readonly signed = true,
  ) {}

  static async start(host?: string, signed?: boolean): Promise<PlatformCallback> {
    const callback = new PlatformCallback(host, signed);
    callback.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        callback.requests.push({ query: new URL(request.url ?? '/', 'http://callback').searchParams, body: Buffer.concat(chunks).toString('utf8') });
        response.writeHead(202).end();
      });
    });
    await new Promise<void>((done) => callback.server.listen(0, '127.0.0.1', () => done()));
    return callback;
  }

  /** Resolves the callback host (and only it) to loopback for the service; other names as the system does. */
  resolveToLoopback(address = '127.0.0.1'): void {
    useHostResolver(async (hostname) =>
      hostname === this.host ? [{ address, family: 4 }] : (await lookup(hostname, { all: true })).map(({ address: found, family }) => ({ address: found, family: family === 6 ? 6 : 4 })),
    );
  }

  /** What listCallbackUrl() gives: a workflow trigger URL with its shared-access signature. */
  url(): string {
    const workflow = randomBytes(16).toString('hex');
    const query = `api-version=2016-06-01&sp=%2Ftriggers%2FOnGroupMemberAddedOrRemoved%2Frun&sv=1.0${this.signed ? `&sig=${randomBytes(32).toString('base64url')}` : ''}`;
    return `http://${this.host}:${(this.server.address() as AddressInfo).port}/workflows/${workflow}/triggers/OnGroupMemberAddedOrRemoved/paths/invoke?${query}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return closeServer(this.server);
  }
}

export interface Subscribed {
  readonly response: TestResponse;
  /** The body as it left the platform (policies applied). */
  readonly sent: Record<string, unknown>;
  readonly location: string | null;
}

/**
 * What the platform does when a flow with the trigger is turned on: the trigger's body from its
 * schema (the user's inputs for the visible properties, each internal property its default, the
 * callback URL in the x-ms-notification-url property), the connector's request policies, then the
 * POST to the operation's path. `inputs` are what the user filled in (the picked group's ID in
 * the picker's property).
 */
export async function subscribeViaConnector(service: TestService, inputs: Record<string, unknown>, callbackUrl: string, token: string): Promise<Subscribed> {
  const trigger = triggerOperation();
  const body: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(trigger.body.properties ?? {})) {
    if (property['x-ms-notification-url'] === true) body[name] = callbackUrl;
    else if (name in inputs) body[name] = inputs[name];
    else if (property.default !== undefined) body[name] = property.default;
  }
  const sent = applyRequestPolicies(trigger.operation.operationId, body);
  const response = await service.request('POST', trigger.path, { token, body: sent });
  return { response, sent, location: response.headers.get('location') };
}

/** What the platform does when the flow is turned off: DELETE the Location, through the operation the connector names for it. */
export async function unsubscribeViaConnector(service: TestService, location: string, token: string): Promise<TestResponse> {
  const { path: template } = unsubscribeOperation(location);
  const { pathname } = new URL(location);
  if (!fillsTemplate(pathname, template)) throw new Error(`${pathname} is not ${template}`);
  return service.request('DELETE', pathname, { token });
}
