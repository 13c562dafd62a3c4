import type { HttpFunctionDefinition } from '../../functions/httpFunction';
import { buildDefinitions } from './definitions';
import { groupPickerOperationId, triggerGroupPickerOperationId, type OperationMetadata } from './operations';
import { errorResponses, sharedParameters, successResponse } from './parts';
import { expandRoute } from './routes';
import { operationsOfPath, type OperationObject, type ParameterObject, type Reference, type SwaggerDocument } from './swagger';

/** The host the committed connector names; whoever imports it puts their Function App's there. */
export const placeholderHost = 'your-function-app.azurewebsites.net';
export const securityScheme = 'oauth2-auth';

/**
 * The operator's own pages and address. The service runs in the operator's subscription and keeps
 * its data there, so the website, privacy policy and contact that apply are the operator's:
 * connector/readme.md lists these placeholders to replace (a test keeps the two in step).
 */
export const operatorPlaceholders = {
  website: 'https://your-organization.example/graph-group-membership',
  privacyPolicy: 'https://your-organization.example/privacy',
  contactEmail: 'connector-admin@your-organization.example',
} as const;

export const publisherName = 'Graph Group Membership maintainers';

const info = {
  title: 'Graph Group Membership',
  description:
    'Adds and removes group members with the requests and answers of Microsoft Graph, in your own Azure Function App. ' +
    'Every path is also served under /beta. Errors use the Graph error envelope; adds retried with the same ' +
    'Idempotency-Key or client-request-id within 24 hours get the first answer again.',
  version: '1.0',
  contact: { name: publisherName, url: operatorPlaceholders.website, email: operatorPlaceholders.contactEmail },
};

/**
 * The OpenAPI 2.0 document for a list of HTTP functions (functions/catalog.ts's), with the
 * placeholder host. Pure and deterministic: the same functions give the same document, byte for
 * byte once serialized, which is what keeps connector/ in step (test/openapi checks it).
 */
export function buildOpenApiDocument(functions: readonly HttpFunctionDefinition[]): SwaggerDocument {
  const paths: SwaggerDocument['paths'] = {};
  for (const definition of functions) {
    const expanded = expandRoute(definition.route);
    if (expanded.length === 0) continue; // the catch-all 404/405 function
    const documented = definition.openApi;
    if (documented === undefined || documented.length === 0) {
      throw new Error(`Function '${definition.name}' (${definition.route}) has no openApi metadata on its definition.`);
    }
    for (const operation of documented) {
      const route = expanded.find((candidate) => candidate.path === operation.path);
      if (route === undefined || !definition.methods.includes(operation.method.toUpperCase() as never)) {
        throw new Error(`Function '${definition.name}': its openApi entry ${operation.operationId} (${operation.method.toUpperCase()} ${operation.path}) is not a path and method it serves.`);
      }
      const variants = expanded.filter((candidate) => candidate.variant && candidate.path.startsWith(`${route.path}/`));
      const undocumentedVariants = variants.filter((variant) => !documented.some((other) => other.path === variant.path));
      // A `/$count` segment (SPEC 6) is its own note: the number alone, not a type.
      const casts = undocumentedVariants.filter((variant) => !variant.path.includes('/$count'));
      const counted = undocumentedVariants.some((variant) => variant.path === `${route.path}/$count`);
      const notes = [
        ...(route.bareRefAccepted ? ['The same request without the trailing /$ref segment is accepted too.'] : []),
        ...(casts.length > 0 ? [`Add ${casts.map((variant) => variant.path.slice(route.path.length)).join(' or ')} to the path to list only that type.`] : []),
        ...(counted ? ['Add /$count to the path (after a type, if any) for the number of matching objects alone, as text/plain; it needs ConsistencyLevel: eventual.'] : []),
      ];
      const item = (paths[operation.path] ??= {});
      item[operation.method] = toOperation(operation, notes);
      if (operation.trigger !== undefined) {
        item['x-ms-notification-content'] = { description: operation.trigger.notificationDescription, schema: { $ref: `#/definitions/${operation.trigger.notification}` } };
      }
    }
    for (const route of expanded) {
      if (!route.variant && !documented.some((operation) => operation.path === route.path)) {
        throw new Error(`Function '${definition.name}' serves ${route.path}, which its openApi metadata does not document.`);
      }
    }
  }
  assertUniqueOperationIds(paths);
  assertGroupPickerSource(paths, groupPickerOperationId);
  assertGroupPickerSource(paths, triggerGroupPickerOperationId);
  return {
    swagger: '2.0',
    info,
    host: placeholderHost,
    basePath: '/',
    schemes: ['https'],
    consumes: ['application/json'],
    produces: ['application/json'],
    paths,
    definitions: buildDefinitions(),
    parameters: sharedParameters,
    responses: errorResponses,
    securityDefinitions: {
      [securityScheme]: {
        type: 'oauth2',
        flow: 'accessCode',
        authorizationUrl: 'https://login.microsoftonline.com/common/oauth2/authorize',
        tokenUrl: 'https://login.microsoftonline.com/common/oauth2/token',
        scopes: {},
        description: 'Microsoft Entra ID: an access token issued for this API (its own audience, not Microsoft Graph).',
      },
    },
    security: [{ [securityScheme]: [] }],
    tags: [
      { name: 'Membership', description: 'Adding, removing and listing group memberships.' },
      { name: 'Directory', description: 'The users and groups that memberships connect.' },
      { name: 'Service', description: 'Readiness and this document.' },
    ],
    // The three entries certification asks for; Categories from its fixed list, ';'-separated.
    'x-ms-connector-metadata': [
      { propertyName: 'Website', propertyValue: operatorPlaceholders.website },
      { propertyName: 'Privacy policy', propertyValue: operatorPlaceholders.privacyPolicy },
      { propertyName: 'Categories', propertyValue: 'IT Operations;Productivity' },
    ],
  };
}

function toOperation(operation: OperationMetadata, notes: readonly string[]): OperationObject {
  const parameters: (ParameterObject | Reference)[] = [...operation.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => {
    if (sharedParameters[name!] === undefined) throw new Error(`No parameter is defined for {${name}} in ${operation.path}.`);
    return { $ref: `#/parameters/${name}` };
  });
  if (operation.paged) {
    parameters.push(
      { $ref: '#/parameters/top' },
      { $ref: '#/parameters/skipToken' },
      { $ref: '#/parameters/select' },
      { $ref: '#/parameters/filter' },
      { $ref: '#/parameters/count' },
      { $ref: '#/parameters/consistencyLevel' },
    );
  }
  if (operation.expandable) parameters.push({ $ref: '#/parameters/select' }, { $ref: '#/parameters/expand' });
  if (operation.idempotent) parameters.push({ $ref: '#/parameters/idempotencyKey' });
  if (operation.method === 'post') parameters.push({ $ref: '#/parameters/clientRequestId' });
  if (operation.body !== undefined) {
    parameters.push({
      name: 'body',
      in: 'body',
      required: true,
      schema: { $ref: `#/definitions/${operation.body.definition}` },
      description: operation.body.description,
      'x-ms-summary': operation.body.summary,
    });
  }
  const responses: OperationObject['responses'] = { [operation.success.status]: successResponse(operation.success) };
  const errors = [...operation.errors, ...(operation.body === undefined ? [] : ([413, 415] as const))].sort((a, b) => a - b);
  for (const status of errors) responses[status] = { $ref: `#/responses/${errorResponseName[status]}` };
  return {
    operationId: operation.operationId,
    summary: operation.summary,
    description: [operation.description, ...notes].join(' '),
    tags: [operation.tag],
    parameters,
    responses,
    ...(operation.anonymous === true ? { security: [] } : {}),
    ...(operation.visibility === undefined ? {} : { 'x-ms-visibility': operation.visibility }),
    ...(operation.paged === true ? { 'x-ms-pageable': { nextLinkName: '@odata.nextLink' } } : {}),
    ...(operation.trigger === undefined ? {} : { 'x-ms-trigger': 'single' as const }),
  };
}

const errorResponseName: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  429: 'TooManyRequests',
  503: 'ServiceUnavailable',
};

/** The group pickers call this operation: it must exist, list groups, and not need a picked value itself. */
function assertGroupPickerSource(paths: SwaggerDocument['paths'], operationId: string): void {
  const source = Object.entries(paths)
    .flatMap(([path, item]) => operationsOfPath(item).map(([, operation]) => ({ path, operation })))
    .find(({ operation }) => operation.operationId === operationId);
  if (source === undefined) throw new Error(`The group picker's operation ${operationId} is not in the document.`);
  if (/\{\w+\}/.test(source.path)) throw new Error(`The group picker's operation ${operationId} (${source.path}) takes a path parameter.`);
}

function assertUniqueOperationIds(paths: SwaggerDocument['paths']): void {
  const seen = new Set<string>();
  for (const item of Object.values(paths)) {
    for (const [, operation] of operationsOfPath(item)) {
      if (seen.has(operation.operationId)) throw new Error(`operationId '${operation.operationId}' is used twice.`);
      seen.add(operation.operationId);
    }
  }
}
