import type { HttpVerb, Visibility } from './swagger';

/**
 * What the OpenAPI document says about one operation of an HTTP function. Each function carries
 * its own list (`openApi` on functions/httpFunction.ts's HttpFunctionDefinition); document.ts
 * fails to build when a routed function has none, when an entry names a path its route does not
 * expand to, or when a path of the route (other than a cast variant) has no entry.
 *
 * Types and small builders only: every function module imports this one, so it stays free of
 * the generator (zod schemas, document assembly), which GET /openapi.json loads on first use.
 */
export interface OperationMetadata {
  /** The Swagger path, as routes.ts expands the function's route template. */
  readonly path: string;
  readonly method: HttpVerb;
  readonly operationId: string;
  /**
   * The action's name in the designer, in the certification wording: sentence case, letters,
   * digits, spaces and parentheses only, no trailing period (test/openapi checks it).
   */
  readonly summary: string;
  readonly description: string;
  readonly tag: 'Membership' | 'Directory' | 'Service';
  readonly visibility?: Visibility;
  readonly body?: { readonly definition: string; readonly summary: string; readonly description: string };
  readonly success: { readonly status: 200 | 201 | 204; readonly description: string; readonly definition?: string; readonly location?: boolean };
  readonly errors: readonly ErrorStatus[];
  /** A membership add: retried safely with Idempotency-Key or client-request-id (SPEC §4). */
  readonly idempotent?: boolean;
  /** A paged list: $top, $skiptoken, $select, $filter, $count (with ConsistencyLevel) and x-ms-pageable. */
  readonly paged?: boolean;
  /** Takes $select and $expand (GET /groups/{id}). */
  readonly expandable?: boolean;
  /** No token needed (GET /health, GET /openapi.json). */
  readonly anonymous?: boolean;
  /**
   * A webhook trigger (x-ms-trigger): the body names the definition whose x-ms-notification-url
   * property the platform fills, and `notification` the definition of what is POSTed to it.
   */
  readonly trigger?: { readonly notification: string; readonly notificationDescription: string };
}

/** Error statuses an operation documents (SPEC §2 and §4); each maps to a shared response. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 429 | 503;

export const allErrors: readonly ErrorStatus[] = [400, 401, 403, 404, 429, 503];
/** For operations that name no object to look up. */
export const noLookupErrors: readonly ErrorStatus[] = [400, 401, 403, 429, 503];

export const referenceBody = (summary: string, description: string) => ({ definition: 'DirectoryObjectReference', summary, description }) as const;
export const groupReferenceBody = referenceBody('Group Reference', 'The group to join: its id, or its @odata.id URL.');
export const createdGroup = { status: 201, description: 'Created: the group joined, with a Location header.', definition: 'Group', location: true } as const;
export const pageOf = (what: string) => ({ status: 200, description: `OK: a page of ${what}.`, definition: 'DirectoryObjectCollection' }) as const;

/**
 * The operation whose answer fills the group pickers (x-ms-dynamic-values on every group ID).
 * There is no GET /groups list yet: the groups the signed-in user belongs to are the ones a
 * connection can always list, and the ones AddMyJoinedGroupMemberOf accepts.
 */
export const groupPickerOperationId = 'ListMyJoinedGroups';
/**
 * The picker of the trigger's group: every group of the tenant, as creating a subscription needs
 * Group.Read.All (or GroupMember.Read.All) anyway, which lists them all.
 */
export const triggerGroupPickerOperationId = 'ListGroups';
