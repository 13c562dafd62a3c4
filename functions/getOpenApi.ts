import { anonymous } from '../src/http/pipeline';
// catalog.ts lists this function too, so the list is read when a request comes, not at load.
import { httpFunctions } from './catalog';
import type { HttpFunctionDefinition } from './httpFunction';

/** GET /openapi.json: the OpenAPI 2.0 document of every route, anonymous, for this host. */
export const getOpenApi: HttpFunctionDefinition = {
  name: 'getOpenApi',
  route: 'openapi.json',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: anonymous(async ({ baseUrl }) => {
    // Loaded on first use: no other request needs the generator, and a cold worker should not pay for it.
    const { servedOpenApiDocument } = require('../src/openapi/served') as typeof import('../src/openapi/served');
    return { status: 200, body: servedOpenApiDocument(httpFunctions, baseUrl) };
  }),
  openApi: [
    {
      path: '/openapi.json',
      method: 'get',
      operationId: 'GetOpenApi',
      tag: 'Service',
      visibility: 'internal',
      anonymous: true,
      summary: 'Get the OpenAPI document',
      description: 'Gets this document, with the host the request used. Needs no token.',
      success: { status: 200, description: 'OK: the OpenAPI 2.0 document.', definition: 'OpenApiDocument' },
      errors: [],
    },
  ],
};
