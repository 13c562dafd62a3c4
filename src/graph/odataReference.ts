import { z } from 'zod';
import { getServiceBaseUrls, guidPattern } from '../config/settings';
import type { ObjectType } from '../directory/directoryObjects';
import { groupProperties } from '../directory/schemas';
import { GraphError, graphErrors } from '../http/errors';
import { parseBody } from './validation';

/** Graph hosts whose @odata.id URLs are accepted: the global service and the national clouds. */
const graphHosts = new Set(['graph.microsoft.com', 'canary.graph.microsoft.com', 'graph.microsoft.us', 'dod-graph.microsoft.us', 'microsoftgraph.chinacloudapi.cn', 'graph.microsoft.de']);

// Maps, not object literals: a reference to 'constructor/{id}' must not find Object.prototype.
const collectionTypes = new Map<string, ObjectType | undefined>([
  ['directoryobjects', undefined],
  ['users', 'user'],
  ['groups', 'group'],
]);

/** What a `$ref` body or an `@odata.bind` link points at. */
export interface ObjectReference {
  readonly id: string;
  /** The type the reference insists on (`/users/…`, `@odata.type`), if any. */
  readonly expectedType?: ObjectType;
}

const invalidReference = (detail: string) => new GraphError('Request_BadRequest', `Invalid object reference: ${detail}`);

/**
 * Parses `https://graph.microsoft.com/v1.0/directoryObjects/{id}` and its variants: /users and
 * /groups, v1.0 or beta, the national clouds, this service's own base URL, or relative.
 */
export function parseODataId(value: string, serviceBaseUrl: string): ObjectReference {
  let path: string;
  if (/^[a-z][a-z0-9+.-]*:/i.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw invalidReference(`'${value}' is not a URL.`);
    }
    // This service is the base the request was answered on or any configured base URL, never a
    // host only the request's Host header named (see clientBaseUrl).
    const ownHosts = [serviceBaseUrl, ...getServiceBaseUrls()].map((base) => new URL(base).host);
    const isOwn = ownHosts.includes(url.host);
    if (!isOwn && !(url.protocol === 'https:' && graphHosts.has(url.hostname.toLowerCase()))) {
      throw invalidReference(`'${url.host}' is not a Microsoft Graph host.`);
    }
    if (url.search !== '' || url.hash !== '') throw invalidReference('a reference has no query or fragment.');
    path = url.pathname;
  } else {
    path = value;
  }
  const parts = path.split('/').filter((part) => part.length > 0);
  if (parts.length === 3 && /^(v1\.0|beta)$/i.test(parts[0]!)) parts.shift();
  if (parts.length !== 2 || !collectionTypes.has(parts[0]!.toLowerCase())) {
    throw invalidReference(`'${value}' is not a directoryObjects, users or groups URL.`);
  }
  let id: string;
  try {
    id = decodeURIComponent(parts[1]!);
  } catch {
    throw graphErrors.invalidObjectId(parts[1]!);
  }
  if (!guidPattern.test(id)) throw graphErrors.invalidObjectId(id);
  const expectedType = collectionTypes.get(parts[0]!.toLowerCase());
  return { id: id.toLowerCase(), ...(expectedType === undefined ? {} : { expectedType }) };
}

const odataTypes = new Map<string, ObjectType | null>([
  ['microsoft.graph.directoryobject', null],
  ['microsoft.graph.user', 'user'],
  ['microsoft.graph.group', 'group'],
]);

/**
 * The seeds' body form: the object's JSON with `id`. Properties the group and directoryObject
 * tables name are type-checked (a $ref POST never changes the object, so they are then ignored);
 * other properties are ignored, as Graph ignores them on a reference.
 */
const seedReferenceSchema = z.looseObject({
  ...Object.fromEntries(Object.entries(groupProperties).map(([name, type]) => [name, type.optional()])),
  '@odata.id': z.string().optional(),
  '@odata.type': z.string().optional(),
  id: z.string().optional(),
});

export function parseReferenceBody(body: unknown, serviceBaseUrl: string): ObjectReference {
  const parsed = parseBody(seedReferenceSchema, body, 'directoryObject');
  const odataId = parsed['@odata.id'];
  const id = parsed.id;
  let reference: ObjectReference;
  if (odataId !== undefined) {
    reference = parseODataId(odataId, serviceBaseUrl);
    if (id !== undefined && id.toLowerCase() !== reference.id) throw invalidReference("'id' and '@odata.id' name different objects.");
  } else if (id !== undefined) {
    if (!guidPattern.test(id)) throw graphErrors.invalidObjectId(id);
    reference = { id: id.toLowerCase() };
  } else {
    throw new GraphError('Request_BadRequest', "The request body must name the object to add with '@odata.id' or 'id'.");
  }
  const odataType = parsed['@odata.type'];
  if (odataType === undefined) return reference;
  const typed = odataTypes.get(odataType.replace(/^#/, '').toLowerCase());
  if (typed === undefined) throw new GraphError('Request_BadRequest', `'${odataType}' is not a directoryObject type that can be referenced here.`);
  if (typed === null) return reference;
  if (reference.expectedType !== undefined && reference.expectedType !== typed) throw invalidReference("'@odata.type' does not fit '@odata.id'.");
  return { ...reference, expectedType: typed };
}
