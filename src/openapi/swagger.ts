/**
 * The parts of a Swagger 2.0 (OpenAPI 2.0) document this service writes. Power Automate and
 * Logic Apps custom connectors import only this version, so the served document uses it too.
 * https://swagger.io/specification/v2/
 */
export interface SchemaObject {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  description?: string;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  required?: string[];
  properties?: Record<string, SchemaObject>;
  items?: SchemaObject;
  additionalProperties?: boolean | SchemaObject;
  readOnly?: boolean;
  $ref?: string;
  'x-nullable'?: boolean;
  'x-ms-summary'?: string;
  'x-ms-visibility'?: Visibility;
  /** The value sent when the field is not shown (internal) or left empty. */
  default?: unknown;
  /** A webhook trigger's body property that the platform fills with its callback URL. */
  'x-ms-notification-url'?: boolean;
  /** A picker on a body property: the values come from another operation's answer. */
  'x-ms-dynamic-values'?: DynamicValues;
}

/** Power Platform's x-ms-visibility: how prominently a connector shows a field or action. */
export type Visibility = 'important' | 'advanced' | 'internal';

export interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header' | 'body';
  required: boolean;
  type?: 'string' | 'integer' | 'boolean';
  format?: string;
  minimum?: number;
  maximum?: number;
  schema?: SchemaObject;
  description: string;
  'x-ms-summary': string;
  'x-ms-visibility'?: Visibility;
  /** Path parameters only: how often the value is percent-encoded. */
  'x-ms-url-encoding'?: 'single' | 'double';
  /** A picker: the values come from another operation's answer. */
  'x-ms-dynamic-values'?: DynamicValues;
}

/** https://learn.microsoft.com/connectors/custom-connectors/openapi-extensions#use-dynamic-values */
export interface DynamicValues {
  operationId: string;
  'value-collection': string;
  'value-path': string;
  'value-title': string;
}

export interface HeaderObject {
  type: 'string' | 'integer';
  description: string;
}

export interface ResponseObject {
  description: string;
  schema?: SchemaObject;
  headers?: Record<string, HeaderObject>;
}

export type Reference = { $ref: string };

export interface OperationObject {
  operationId: string;
  summary: string;
  description: string;
  tags?: string[];
  consumes?: string[];
  parameters: (ParameterObject | Reference)[];
  responses: Record<string, ResponseObject | Reference>;
  security?: Record<string, string[]>[];
  'x-ms-visibility'?: Visibility;
  'x-ms-pageable'?: { nextLinkName: string };
  /** A webhook trigger: the platform POSTs here to subscribe and DELETEs the 201's Location to unsubscribe. */
  'x-ms-trigger'?: 'single' | 'batch';
  'x-ms-trigger-hint'?: string;
}

/**
 * What a webhook trigger's notifications carry, declared on the trigger's path item (not on the
 * operation): where Power Platform's apiDefinition schema puts it, and where certified connectors
 * do (microsoft/PowerPlatformConnectors, e.g. certified-connectors/Cognito Forms).
 */
export interface NotificationContent {
  description: string;
  schema: SchemaObject;
}

export type PathItem = Partial<Record<HttpVerb, OperationObject>> & { 'x-ms-notification-content'?: NotificationContent };

const verbs: readonly string[] = ['get', 'post', 'patch', 'delete'] satisfies HttpVerb[];

/** The operations of a path item in their order, without its extensions. */
export const operationsOfPath = (item: PathItem): [HttpVerb, OperationObject][] => Object.entries(item).filter(([key]) => verbs.includes(key)) as [HttpVerb, OperationObject][];

export type HttpVerb = 'get' | 'post' | 'patch' | 'delete';

export interface SwaggerDocument {
  swagger: '2.0';
  info: { title: string; description: string; version: string; contact: { name: string; url: string; email: string } };
  host: string;
  basePath: string;
  schemes: string[];
  consumes: string[];
  produces: string[];
  paths: Record<string, PathItem>;
  definitions: Record<string, SchemaObject>;
  parameters: Record<string, ParameterObject>;
  responses: Record<string, ResponseObject>;
  securityDefinitions: Record<string, Record<string, unknown>>;
  security: Record<string, string[]>[];
  tags: { name: string; description: string }[];
  'x-ms-connector-metadata': { propertyName: string; propertyValue: string }[];
}
