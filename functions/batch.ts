import { maxBatchRequests } from '../src/batch/batchRequest';
import { batchHandler } from '../src/batch/batchEndpoint';
import { batchConcurrency } from '../src/batch/batchRunner';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';

/**
 * POST /$batch (SPEC 8): up to 20 inner requests, each run by its own function in this process
 * with the outer request's token. catalog.ts lists this function too, so the catalogue is read
 * when a request comes, not at load (as getOpenApi does).
 */
export const batch: HttpFunctionDefinition = {
  name: 'batch',
  route: graphRoute('$batch'),
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: batchHandler('batch', () => (require('./catalog') as typeof import('./catalog')).httpFunctions),
  openApi: [
    {
      path: '/v1.0/$batch',
      method: 'post',
      operationId: 'Batch',
      tag: 'Service',
      // Hidden from Power Platform: a flow already runs its actions as steps, and a connector
      // action whose body is a list of raw HTTP requests gives the designer nothing to show.
      visibility: 'internal',
      summary: 'Run up to 20 requests in one call',
      description: `JSON batching, as in Microsoft Graph: up to ${maxBatchRequests} requests, each answered on its own (dependsOn orders them; 424 when a dependency failed). At most ${batchConcurrency} run at once. Every request uses the batch's token.`,
      body: { definition: 'BatchRequest', summary: 'Batch', description: 'The requests: id, method, url relative to the version, headers, body, dependsOn.' },
      success: { status: 200, description: 'OK: one response per request, in request order.', definition: 'BatchResponse' },
      // A throttled store is an inner 429: the batch itself answers 200.
      errors: [400, 401],
    },
  ],
};
