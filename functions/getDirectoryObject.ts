import { readDirectoryObjects } from '../src/directory/directoryObjectReads';
import { getObjectOrNotFound, parseObjectId } from '../src/directory/directoryService';
import { entityResult } from '../src/graph/entityResults';
import { readObjectOptions } from '../src/graph/listing';
import { authenticated } from '../src/http/pipeline';
import { allErrors } from '../src/openapi/operations';
import { getRepositories } from '../src/store/repositories';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/**
 * GET /directoryObjects/{id}: a user or a group of the caller's tenant (SPEC 6). A GET of
 * `directoryObjects/getByIds` lands here as a non-GUID id: 400, as in Graph.
 */
export const getDirectoryObject: HttpFunctionDefinition = {
  name: 'getDirectoryObject',
  route: graphRoute('directoryObjects/{objectId}'),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    readsQueryOptions: true,
    permission: readDirectoryObjects,
    handle: async (request) => {
      const { select } = readObjectOptions(request);
      const id = parseObjectId(request.request.params.objectId ?? '');
      const { directory } = await getRepositories();
      return entityResult(request, await getObjectOrNotFound(directory, request.caller.tenantId, { id }), select, 'directoryObjects');
    },
  }),
  openApi: [
    {
      path: '/v1.0/directoryObjects/{objectId}',
      method: 'get',
      operationId: 'GetDirectoryObject',
      tag: 'Directory',
      summary: 'Get a directory object',
      description: 'Gets a user or a group by object ID; @odata.type tells which.',
      success: { status: 200, description: 'OK: the user or group.', definition: 'DirectoryObject' },
      errors: allErrors,
    },
  ],
};
