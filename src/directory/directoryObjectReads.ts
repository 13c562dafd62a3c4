import { permissions } from '../auth/permissions';
import { GraphError } from '../http/errors';
import type { DirectoryObjectDocument, ObjectType } from './directoryObjects';
import type { DirectoryRepository } from './directoryRepository';
import { parseObjectId } from './directoryService';
import type { GetByIdsInput } from './schemas';

/**
 * What GET /directoryObjects/{id} and POST /directoryObjects/getByIds need. Graph documents
 * Directory.Read.All (delegated also Directory.AccessAsUser.All) for getByIds
 * (https://learn.microsoft.com/graph/api/directoryobject-getbyids). Here: every permission that
 * reads both users and groups under SPEC 2, which is the group read set (GroupMember.Read.All,
 * Group.Read.All, Directory.Read.All and their write forms; each of them also reads users). Not
 * decided per object returned: an object of either type may come back, and if User.Read.All
 * alone sufficed for users, a caller could tell a group id from a missing one by 403 against 404.
 */
export const readDirectoryObjects = permissions.readGroups;

/** Graph's limit on one getByIds request. */
export const maxIdsPerRequest = 1000;

/**
 * Point reads in flight at once for one getByIds: 1,000 at once would hold 1,000 sockets and
 * answers on one instance and meet the store's throttling all together; 16 keeps a full request
 * to about 63 rounds of point reads.
 */
export const getByIdsConcurrency = 16;

/**
 * The objects of the caller's tenant among `input.ids`, of the requested types, in the order of
 * the ids (first occurrence; a repeated id is answered once). Graph does not promise an order;
 * the request's own is the one a client can rely on most. Unknown ids, and another tenant's, are
 * absent, as in Graph. Each distinct id is one point read through the repository, at most
 * `getByIdsConcurrency` at a time.
 */
export async function getObjectsByIds(directory: DirectoryRepository, tenantId: string, input: GetByIdsInput): Promise<DirectoryObjectDocument[]> {
  if (input.ids.length > maxIdsPerRequest) {
    // Entra's wording (Request_BadRequest), as reported in https://github.com/dougsbaker/CA-Export/issues/11.
    throw new GraphError('Request_BadRequest', `Number of included identifiers cannot exceed '${maxIdsPerRequest}'.`);
  }
  const ids = [...new Set(input.ids.map(parseObjectId))];
  const wanted = typesWanted(input.types);
  if (wanted.size === 0) return [];
  const found = await mapWithConcurrency(ids, getByIdsConcurrency, (id) => directory.getObject(tenantId, id));
  return found.filter((object): object is DirectoryObjectDocument => object !== undefined && wanted.has(object.objectType));
}

/** The kept types a `types` list asks for: none given, or directoryObject, is every type. */
function typesWanted(types: readonly string[] | undefined): Set<ObjectType> {
  const all = new Set<ObjectType>(['user', 'group']);
  if (types === undefined || types.length === 0) return all;
  const names = new Set(types.map((name) => name.toLowerCase()));
  if (names.has('directoryobject')) return all;
  return new Set([...all].filter((type) => names.has(type)));
}

/**
 * `map` over `items` with at most `limit` calls of `task` pending at once; results in item order.
 * After a failure no further task starts (a throttled store is not asked the rest), and the
 * first failure is the answer.
 */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = Array.from({ length: items.length });
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
