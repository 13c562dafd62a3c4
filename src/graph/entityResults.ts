import { toGraphEntity, type DirectoryObjectDocument, type ObjectType } from '../directory/directoryObjects';
import type { AnonymousRequest, GraphRequest } from '../http/pipeline';
import type { GraphResult } from '../http/responses';
import { pick } from './listing';

/** The entity set of a type: `users`, `groups`. */
const collectionOf = (objectType: ObjectType) => (objectType === 'user' ? 'users' : 'groups');

/**
 * 200 with one object, as GET /users/{id} answers; with $select, only those properties (and the
 * type and id), and `@odata.context` names them as Graph's does (`#users(displayName,mail)/$entity`).
 * `collection` is the entity set the request addressed: GET /directoryObjects/{id} answers
 * `#directoryObjects/$entity` whatever the object's type (the `@odata.type` tells it).
 */
export function entityResult(request: AnonymousRequest, object: DirectoryObjectDocument, select?: readonly string[], collection: string = collectionOf(object.objectType)): GraphResult {
  const root = `${request.baseUrl}/${request.apiVersion}`;
  const entity = toGraphEntity(object);
  const selected = select === undefined ? '' : `(${select.join(',')})`;
  return {
    status: 200,
    body: { '@odata.context': `${root}/$metadata#${collection}${selected}/$entity`, ...(select === undefined ? entity : pick(entity, select)) },
  };
}

/**
 * The `@odata.context` of a list of directory objects, as Graph's: the entity set a type cast
 * names (`#groups`, `#users`), else `#directoryObjects`, with the $select properties
 * (`#groups(displayName,id)`; https://learn.microsoft.com/graph/api/user-list-transitivememberof,
 * examples 4 and 5).
 */
export function listContext(request: AnonymousRequest, objectType?: ObjectType, select?: readonly string[]): string {
  const collection = objectType === undefined ? 'directoryObjects' : collectionOf(objectType);
  return `${request.baseUrl}/${request.apiVersion}/$metadata#${collection}${select === undefined ? '' : `(${select.join(',')})`}`;
}

/**
 * 200 with objects of any type, as POST /directoryObjects/getByIds answers
 * (`#directoryObjects`, https://learn.microsoft.com/graph/api/directoryobject-getbyids); with
 * $select, only those properties of each, named in the context as for a single object.
 */
export function directoryObjectsResult(request: AnonymousRequest, objects: readonly DirectoryObjectDocument[], select?: readonly string[]): GraphResult {
  const value = objects.map((object) => (select === undefined ? toGraphEntity(object) : pick(toGraphEntity(object), select)));
  return { status: 200, body: { '@odata.context': listContext(request, undefined, select), value } };
}

/** 201 with the object and a Location header pointing at it. */
export function createdResult(request: AnonymousRequest, object: DirectoryObjectDocument): GraphResult {
  const root = `${request.baseUrl}/${request.apiVersion}`;
  return {
    status: 201,
    headers: { Location: `${root}/${collectionOf(object.objectType)}/${object.id}` },
    body: { '@odata.context': `${root}/$metadata#${collectionOf(object.objectType)}/$entity`, ...toGraphEntity(object) },
  };
}

/**
 * What identifies a retry of this request: the Idempotency-Key header, else a client-request-id
 * the client chose (the Graph SDKs' retry handler resends it), and the request's own content.
 */
export function requestIdentityOf(request: GraphRequest): { key: string | undefined; fingerprint: string } {
  const idempotencyKey = request.request.headers.get('idempotency-key') ?? undefined;
  const key = idempotencyKey !== undefined && idempotencyKey !== '' ? `idempotency-key:${idempotencyKey}` : request.ids.clientChoseId ? `client-request-id:${request.ids.clientRequestId}` : undefined;
  const path = new URL(request.request.url).pathname.toLowerCase();
  // The raw text, not a re-serialization: a retry resends the same bytes, and a hostile body
  // nested thousands deep must not be walked again here.
  return { key, fingerprint: `${request.request.method} ${path}\n${request.bodyText ?? ''}` };
}
