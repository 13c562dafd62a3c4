/**
 * The one catalogue of errors this service answers with. Callers branch on `code`, never on
 * message text; the README's error table lists every code (a test keeps the two in step).
 */
export const errorCodes = {
  BadRequest: 400,
  Request_BadRequest: 400,
  Request_UnsupportedQuery: 400,
  InvalidRequest: 400,
  ValidationError: 400,
  Directory_ResultSizeLimitExceeded: 400,
  InvalidAuthenticationToken: 401,
  Authorization_RequestDenied: 403,
  Request_ResourceNotFound: 404,
  NotFound: 404,
  MethodNotAllowed: 405,
  RequestEntityTooLarge: 413,
  SyncStateNotFound: 410,
  UnsupportedMediaType: 415,
  FailedDependency: 424,
  TooManyRequests: 429,
  InternalServerError: 500,
  ServiceUnavailable: 503,
} as const;

export type GraphErrorCode = keyof typeof errorCodes;

export class GraphError extends Error {
  override readonly name = 'GraphError';
  readonly status: number;

  constructor(
    readonly code: GraphErrorCode,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.status = errorCodes[code];
  }
}

/** Factories for the errors whose wording Graph fixes, so that every caller says it the same way. */
export const graphErrors = {
  invalidObjectId: (id: string) => new GraphError('Request_BadRequest', `Invalid object identifier '${id}'.`),
  resourceNotFound: (id: string) => new GraphError('Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`),
  malformedJson: () => new GraphError('BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.'),
  insufficientPrivileges: () => new GraphError('Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
  meRequiresDelegated: () => new GraphError('BadRequest', '/me request is only valid with delegated authentication flow.'),
  invalidToken: (message: string) => new GraphError('InvalidAuthenticationToken', message, { 'WWW-Authenticate': 'Bearer error="invalid_token"' }),
  emptyToken: () => new GraphError('InvalidAuthenticationToken', 'Access token is empty.', { 'WWW-Authenticate': 'Bearer error="invalid_token"' }),
  referenceAlreadyExists: (property: string) => new GraphError('Request_BadRequest', `One or more added object references already exist for the following modified properties: '${property}'.`),
  readOnlyProperty: (property: string) => new GraphError('Request_BadRequest', `Property '${property}' is read-only and cannot be set.`),
  invalidPropertyValue: (property: string, resourceName: string) => new GraphError('Request_BadRequest', `Invalid value specified for property '${property}' of resource '${resourceName}'.`),
  /** Graph refuses to remove a group's last owner (https://learn.microsoft.com/graph/api/group-delete-owners). */
  lastOwner: () => new GraphError('Request_BadRequest', 'The group must have at least one owner, hence this owner cannot be removed.'),
  unifiedTypeChange: () => new GraphError('Request_BadRequest', "The 'Unified' group type cannot be added to or removed from an existing group."),
  invalidPageSize: (value: string) => new GraphError('Request_BadRequest', `Invalid page size specified: '${value}'. Must be between 1 and 999 inclusive.`),
  invalidSkipToken: () => new GraphError('Request_BadRequest', 'The $skiptoken is not valid.'),
  throttled: (retryAfterSeconds: number) =>
    new GraphError('TooManyRequests', 'The store is busy. Retry after the time given in Retry-After.', {
      'Retry-After': String(retryAfterSeconds),
    }),
  storeUnavailable: (retryAfterSeconds: number) =>
    new GraphError('ServiceUnavailable', 'The service is temporarily unavailable. Retry after the time given in Retry-After.', {
      'Retry-After': String(retryAfterSeconds),
    }),
};

/**
 * A write that lost a race with another change of the same object (a PATCH or DELETE between this
 * request's read and its conditional write). Code that can decide again does; whatever reaches the
 * error mapper is answered 429 with Retry-After: nothing of it was written, and the retry decides
 * on what the store holds then.
 */
export class ConcurrentChange extends Error {}
