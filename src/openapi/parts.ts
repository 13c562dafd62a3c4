import { errorCodes } from '../http/errors';
import { groupPickerOperationId, type OperationMetadata } from './operations';
import type { HeaderObject, ParameterObject, ResponseObject } from './swagger';

/**
 * Path values are encoded once: a user principal name may hold `#`, `'` or `^`, which the
 * connector must send percent-encoded, and the service decodes once (Power Platform's
 * x-ms-url-encoding, https://learn.microsoft.com/connectors/custom-connectors/openapi-extensions).
 */
const singleEncoding = { 'x-ms-url-encoding': 'single' } as const;

/** Parameters shared by several operations (`#/parameters/...`). */
export const sharedParameters: Record<string, ParameterObject> = {
  groupId: {
    name: 'groupId',
    in: 'path',
    required: true,
    type: 'string',
    ...singleEncoding,
    description: 'The object ID (a GUID) of the group. The picker lists the groups you belong to; any other ID may be typed in.',
    'x-ms-summary': 'Group ID',
    'x-ms-dynamic-values': { operationId: groupPickerOperationId, 'value-collection': 'value', 'value-path': 'id', 'value-title': 'displayName' },
  },
  userId: {
    name: 'userId',
    in: 'path',
    required: true,
    type: 'string',
    ...singleEncoding,
    description: 'The object ID (a GUID) or the user principal name of the user.',
    'x-ms-summary': 'User ID or UPN',
  },
  memberId: {
    name: 'memberId',
    in: 'path',
    required: true,
    type: 'string',
    ...singleEncoding,
    description: 'The object ID (a GUID) of the member to remove.',
    'x-ms-summary': 'Member ID',
  },
  ownerId: {
    name: 'ownerId',
    in: 'path',
    required: true,
    type: 'string',
    ...singleEncoding,
    description: 'The object ID (a GUID) of the owner to remove.',
    'x-ms-summary': 'Owner ID',
  },
  objectId: {
    name: 'objectId',
    in: 'path',
    required: true,
    type: 'string',
    ...singleEncoding,
    description: 'The object ID (a GUID) of the user or group.',
    'x-ms-summary': 'Object ID',
  },
  top: {
    name: '$top',
    in: 'query',
    required: false,
    type: 'integer',
    minimum: 1,
    maximum: 999,
    description: 'How many objects a page holds, 1 to 999; 100 when not given.',
    'x-ms-summary': 'Page Size',
    'x-ms-visibility': 'advanced',
  },
  skipToken: {
    name: '$skiptoken',
    in: 'query',
    required: false,
    type: 'string',
    description: 'The opaque token from @odata.nextLink that names the next page.',
    'x-ms-summary': 'Skip Token',
    'x-ms-visibility': 'internal',
  },
  select: {
    name: '$select',
    in: 'query',
    required: false,
    type: 'string',
    description: 'Comma-separated properties to return; @odata.type and id always come back.',
    'x-ms-summary': 'Properties to Return',
    'x-ms-visibility': 'advanced',
  },
  filter: {
    name: '$filter',
    in: 'query',
    required: false,
    type: 'string',
    description:
      "OData filter as in Microsoft Graph: eq on id, displayName, mail, mailNickname, userPrincipalName, securityEnabled, mailEnabled; startswith on displayName, mail, userPrincipalName, mailNickname; groupTypes/any(c:c eq 'Unified'); and, or.",
    'x-ms-summary': 'Filter',
    'x-ms-visibility': 'advanced',
  },
  count: {
    name: '$count',
    in: 'query',
    required: false,
    type: 'boolean',
    description: 'true adds @odata.count, the number of all matching objects; needs ConsistencyLevel: eventual.',
    'x-ms-summary': 'Include Count',
    'x-ms-visibility': 'advanced',
  },
  consistencyLevel: {
    name: 'ConsistencyLevel',
    in: 'header',
    required: false,
    type: 'string',
    description: 'eventual, which $count, $orderby and $search need, as in Microsoft Graph.',
    'x-ms-summary': 'Consistency Level',
    'x-ms-visibility': 'advanced',
  },
  expand: {
    name: '$expand',
    in: 'query',
    required: false,
    type: 'string',
    description: 'members or owners: adds the first 20 of them to the group; members($select=displayName) picks their properties.',
    'x-ms-summary': 'Expand',
    'x-ms-visibility': 'advanced',
  },
  idempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    type: 'string',
    description: 'Any unique value; a retry with the same key within 24 hours gets the first answer again instead of a duplicate error.',
    'x-ms-summary': 'Idempotency Key',
    'x-ms-visibility': 'advanced',
  },
  clientRequestId: {
    name: 'client-request-id',
    in: 'header',
    required: false,
    type: 'string',
    description: 'A GUID of your own that the response echoes; retries of an add that resend it are answered as the first was.',
    'x-ms-summary': 'Client Request ID',
    'x-ms-visibility': 'advanced',
  },
};

const traceHeaders: Record<string, HeaderObject> = {
  'request-id': { type: 'string', description: 'A new GUID for every request.' },
  'client-request-id': { type: 'string', description: 'The client-request-id sent, or the request-id.' },
};
const retryAfter: Record<string, HeaderObject> = { 'Retry-After': { type: 'integer', description: 'Seconds to wait before retrying.' } };
const errorSchema = { $ref: '#/definitions/GraphError' };

/** The codes of src/http/errors.ts that answer with a status, for the response's description. */
const codesFor = (status: number) =>
  Object.entries(errorCodes)
    .filter(([, codeStatus]) => codeStatus === status)
    .map(([code]) => code)
    .join(', ');

const error = (status: number, text: string, headers?: Record<string, HeaderObject>): ResponseObject => ({
  description: `${text} (${codesFor(status)}).`,
  schema: errorSchema,
  headers: { ...traceHeaders, ...headers },
});

/** Error answers shared by the operations (`#/responses/...`), all in the Graph error envelope. */
export const errorResponses: Record<string, ResponseObject> = {
  BadRequest: error(400, 'Bad request: an invalid id, body or query option, a membership rule broken, or /me with an app-only token'),
  Unauthorized: error(401, 'The access token is missing, expired or not issued for this API', {
    'WWW-Authenticate': { type: 'string', description: 'Bearer error="invalid_token".' },
  }),
  Forbidden: error(403, 'The token lacks the permission, or the caller the directory role or ownership, that the operation needs'),
  NotFound: error(404, "An object named by the request does not exist in the caller's tenant"),
  RequestEntityTooLarge: error(413, 'The body is over 1 MiB'),
  UnsupportedMediaType: error(415, 'The body is not JSON by its Content-Type'),
  TooManyRequests: error(429, 'The store is throttling: retry after Retry-After seconds', retryAfter),
  ServiceUnavailable: error(503, 'The store cannot be reached: retry after Retry-After seconds', retryAfter),
};

export function successResponse(success: OperationMetadata['success']): ResponseObject {
  const headers: Record<string, HeaderObject> = { ...traceHeaders };
  if (success.location === true) headers.Location = { type: 'string', description: 'The URL of the object.' };
  return {
    description: success.description,
    ...(success.definition === undefined ? {} : { schema: { $ref: `#/definitions/${success.definition}` } }),
    headers,
  };
}
