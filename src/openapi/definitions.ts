import { z } from 'zod';
import { batchRequestSchema, batchResponseSchema } from '../batch/batchRequest';
import { createGroupSchema, createUserSchema, getByIdsSchema, groupProperties, serverManagedGroupProperties } from '../directory/schemas';
import { errorCodes } from '../http/errors';
import { checkMemberGroupsSchema, checkMemberObjectsSchema, getMemberGroupsSchema, idCollectionSchema } from '../membership/transitiveSchemas';
import { updateGroupSchema, updateUserSchema } from '../directory/updateSchemas';
import { labelFor } from './labels';
import { toSwaggerSchema } from './schemaConversion';
import { subscriptionDefinitions } from '../subscriptions/subscriptionSchemas';
import { triggerDefinitions } from './trigger';
import type { SchemaObject, Visibility } from './swagger';

/**
 * The document's `definitions`, each converted from the zod schema that validates the request
 * (NewUser, NewGroup) or built from the same parts (the objects the service answers with).
 */
const guid = createUserSchema.shape.id.unwrap();
const userType = '#microsoft.graph.user';
const groupType = '#microsoft.graph.group';
const optionalAll = <T extends Record<string, z.ZodType>>(shape: T) =>
  Object.fromEntries(Object.entries(shape).map(([name, type]) => [name, type.optional()])) as { [K in keyof T]: z.ZodOptional<T[K]> };

/** A user as stored: what POST /users accepted, less passwordProfile, plus what the service sets. */
const { passwordProfile: _password, '@odata.type': _userType, ...userInput } = createUserSchema.shape;
const userShape = {
  '@odata.context': z.string().optional(),
  '@odata.type': z.literal(userType),
  ...userInput,
  id: guid,
  createdDateTime: groupProperties.createdDateTime,
};

/** A group as stored: seed 003's table, every property optional as not every group has each. */
const groupShape = {
  '@odata.context': z.string().optional(),
  '@odata.type': z.literal(groupType),
  ...optionalAll(groupProperties),
  id: guid,
};

/** A member, owner or parent in a list: a user or a group, told apart by @odata.type. */
const { '@odata.context': _context, ...anyObjectShape } = { ...optionalAll(userShape), ...optionalAll(groupShape) };
const directoryObjectShape = { ...anyObjectShape, '@odata.type': z.enum([userType, groupType]), id: guid };

/** The $ref POST body (SPEC §1 "Request body: a reference"), as src/graph/odataReference.ts reads it. */
const referenceSchema = z.looseObject({
  '@odata.id': z.string().optional(),
  id: guid.optional(),
  '@odata.type': z.enum(['#microsoft.graph.directoryObject', userType, groupType]).optional(),
});

const graphErrorSchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(errorCodes) as [keyof typeof errorCodes, ...(keyof typeof errorCodes)[]]),
    message: z.string(),
    innerError: z.object({ date: z.string(), 'request-id': z.string(), 'client-request-id': z.string() }),
  }),
});

const healthSchema = z.object({ status: z.literal('Healthy') });
const openApiDocumentSchema = z.object({ swagger: z.literal('2.0'), info: z.looseObject({}), host: z.string(), paths: z.looseObject({}) });

const createGroupInputs = [
  'displayName',
  'mailNickname',
  'mailEnabled',
  'securityEnabled',
  'description',
  'groupTypes',
  'isAssignableToRole',
  'visibility',
  'membershipRule',
  'owners@odata.bind',
  'members@odata.bind',
];

function newGroupVisibility(): Record<string, Visibility> {
  const visibility: Record<string, Visibility> = { '@odata.type': 'internal' };
  for (const name of Object.keys(createGroupSchema.shape)) {
    if (name in visibility) continue;
    if ((createGroupSchema.shape as Record<string, z.ZodType>)[name]?.safeParse(undefined).success === false) visibility[name] = 'important';
    else if ((serverManagedGroupProperties as readonly string[]).includes(name) && name !== 'id') visibility[name] = 'internal';
    else if (!createGroupInputs.includes(name)) visibility[name] = 'advanced';
  }
  return visibility;
}

export function buildDefinitions(): Record<string, SchemaObject> {
  const collection: SchemaObject = {
    type: 'object',
    required: ['@odata.context', 'value'],
    properties: {
      '@odata.context': { type: 'string' },
      '@odata.nextLink': { type: 'string', format: 'uri' },
      value: { type: 'array', items: { $ref: '#/definitions/DirectoryObject' } },
    },
  };
  return {
    NewUser: annotate(toSwaggerSchema(createUserSchema, 'input'), {
      '@odata.type': 'internal',
      passwordProfile: 'internal',
      displayName: 'important',
      userPrincipalName: 'important',
      id: 'advanced',
    }),
    NewGroup: annotate(toSwaggerSchema(createGroupSchema, 'input'), newGroupVisibility()),
    UserUpdate: annotate(toSwaggerSchema(updateUserSchema, 'input'), { '@odata.type': 'internal', passwordProfile: 'internal', displayName: 'important' }),
    GroupUpdate: annotate(toSwaggerSchema(updateGroupSchema, 'input'), { '@odata.type': 'internal', displayName: 'important', 'owners@odata.bind': 'advanced', 'members@odata.bind': 'advanced' }),
    DirectoryObjectReference: annotate(toSwaggerSchema(referenceSchema, 'input'), { id: 'important', '@odata.id': 'advanced', '@odata.type': 'advanced' }),
    User: annotate(open(toSwaggerSchema(z.object(userShape), 'output')), { '@odata.context': 'internal' }),
    Group: annotate(open(toSwaggerSchema(z.object(groupShape), 'output')), { '@odata.context': 'internal' }),
    DirectoryObject: annotate(open(toSwaggerSchema(z.object(directoryObjectShape), 'output')), {}),
    DirectoryObjectIds: annotate(toSwaggerSchema(getByIdsSchema, 'input'), { ids: 'important', types: 'advanced' }),
    DirectoryObjectCollection: annotate(collection, { '@odata.context': 'internal', '@odata.nextLink': 'internal' }),
    GraphError: annotate(open(toSwaggerSchema(graphErrorSchema, 'output')), {}),
    Health: annotate(open(toSwaggerSchema(healthSchema, 'output')), {}),
    OpenApiDocument: annotate(open(toSwaggerSchema(openApiDocumentSchema, 'output')), {}),
    BatchRequest: annotate(toSwaggerSchema(batchRequestSchema, 'input'), {}),
    BatchResponse: annotate(open(toSwaggerSchema(batchResponseSchema, 'output')), {}),
    ...subscriptionDefinitions((schema, direction) => (direction === 'input' ? toSwaggerSchema(schema, 'input') : open(toSwaggerSchema(schema, 'output'))), annotate),
    ...triggerDefinitions(),
    MemberGroupIds: annotate(toSwaggerSchema(checkMemberGroupsSchema, 'input'), { groupIds: 'important' }),
    MemberObjectIds: annotate(toSwaggerSchema(checkMemberObjectsSchema, 'input'), { ids: 'important' }),
    MemberGroupsOptions: annotate(toSwaggerSchema(getMemberGroupsSchema, 'input'), { securityEnabledOnly: 'important' }),
    IdCollection: annotate(open(toSwaggerSchema(idCollectionSchema, 'output')), { '@odata.context': 'internal' }),
  };
}

/** Responses may gain properties (Graph's do): clients must not be told that they cannot. */
function open(schema: SchemaObject): SchemaObject {
  const { additionalProperties, properties, items, ...rest } = schema;
  const result: SchemaObject = { ...rest };
  if (properties !== undefined) result.properties = Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, open(property)]));
  if (items !== undefined) result.items = open(items);
  if (additionalProperties !== undefined && additionalProperties !== false) result.additionalProperties = additionalProperties;
  return result;
}

/** Adds a Title Case x-ms-summary (and a description where one is known) to every property. */
function annotate(schema: SchemaObject, visibility: Record<string, Visibility>): SchemaObject {
  if (schema.items !== undefined) return { ...schema, items: annotate(schema.items, {}) };
  if (schema.properties === undefined) return schema;
  const properties: Record<string, SchemaObject> = {};
  for (const [name, property] of Object.entries(schema.properties)) {
    const { summary, description } = labelFor(name);
    const annotated: SchemaObject = { ...annotate(property, {}) };
    if (annotated.description === undefined && description !== undefined) annotated.description = description;
    annotated['x-ms-summary'] = summary;
    const shown = visibility[name];
    if (shown !== undefined) annotated['x-ms-visibility'] = shown;
    properties[name] = annotated;
  }
  return { ...schema, properties };
}
