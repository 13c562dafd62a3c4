import { getObjectsByIds, readDirectoryObjects } from '../src/directory/directoryObjectReads';
import { getByIdsSchema } from '../src/directory/schemas';
import { directoryObjectsResult } from '../src/graph/entityResults';
import { readObjectOptions } from '../src/graph/listing';
import { parseBody } from '../src/graph/validation';
import { authenticated } from '../src/http/pipeline';
import { noLookupErrors } from '../src/openapi/operations';
import { getRepositories } from '../src/store/repositories';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/** POST /directoryObjects/getByIds: the users and groups of the caller's tenant among up to 1,000 ids (SPEC 6). */
export const getDirectoryObjectsByIds: HttpFunctionDefinition = {
  name: 'getDirectoryObjectsByIds',
  route: graphRoute('directoryObjects/getByIds'),
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: authenticated({
    readsQueryOptions: true,
    acceptsBody: true,
    permission: readDirectoryObjects,
    handle: async (request) => {
      const { select } = readObjectOptions(request);
      const input = parseBody(getByIdsSchema, request.body, 'getByIds');
      const { directory } = await getRepositories();
      return directoryObjectsResult(request, await getObjectsByIds(directory, request.caller.tenantId, input), select);
    },
  }),
  openApi: [
    {
      path: '/v1.0/directoryObjects/getByIds',
      method: 'post',
      operationId: 'GetDirectoryObjectsByIds',
      tag: 'Directory',
      summary: 'Get directory objects by IDs',
      description: "Gets the users and groups of the caller's tenant among up to 1,000 object IDs, optionally only those of the given types. IDs that match nothing are left out.",
      body: { definition: 'DirectoryObjectIds', summary: 'IDs', description: 'The object IDs, and optionally the types to return.' },
      success: { status: 200, description: 'OK: the objects found.', definition: 'DirectoryObjectCollection' },
      errors: noLookupErrors,
    },
  ],
};
