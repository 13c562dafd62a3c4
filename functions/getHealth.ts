import { GraphError } from '../src/http/errors';
import { anonymous } from '../src/http/pipeline';
import { checkStoreReadiness } from '../src/store/readiness';
import type { HttpFunctionDefinition } from './httpFunction';

/** GET /health: anonymous readiness, 200 once the store answers. */
export const getHealth: HttpFunctionDefinition = {
  name: 'getHealth',
  route: 'health',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: anonymous(async () => {
    if (!(await checkStoreReadiness())) {
      throw new GraphError('ServiceUnavailable', 'The store is not reachable.', { 'Retry-After': '5' });
    }
    return { status: 200, body: { status: 'Healthy' } };
  }),
  openApi: [
    {
      path: '/health',
      method: 'get',
      operationId: 'GetHealth',
      tag: 'Service',
      visibility: 'internal',
      anonymous: true,
      summary: 'Check service health',
      description: 'Answers 200 once the store answers and 503 otherwise. Needs no token.',
      success: { status: 200, description: 'OK: the service is ready.', definition: 'Health' },
      errors: [503],
    },
  ],
};
