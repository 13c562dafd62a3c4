import type { HttpHandler } from '@azure/functions';
import { getTokenVerifier } from '../auth';
import { parseJson, readJsonText } from '../http/jsonBody';
import { anonymous } from '../http/pipeline';
import { readQueryOptions } from '../http/queryOptions';
import { parseBatch } from './batchRequest';
import { compiledRoutes, runBatch, type BatchRoutable } from './batchRunner';

/**
 * `POST /$batch`: the outer request is read as every body is (1 MiB, application/json: 413/415),
 * its token checked (401), the batch checked as a whole (400), and then each inner request runs
 * through its own function with the outer token. No permission is asked of the batch itself:
 * each inner request asks for its own, as it would alone.
 *
 * `catalogue` is read when a request comes, not when the module loads: the batch function is in
 * the catalogue it dispatches to.
 */
export function batchHandler(name: string, catalogue: () => readonly BatchRoutable[]): HttpHandler {
  return anonymous(async ({ request, context, apiVersion }) => {
    const text = await readJsonText(request);
    await getTokenVerifier().verifyAuthorizationHeader(request.headers.get('authorization'));
    // Graph's batch URL takes no query options; one is a 400 naming it, before any request runs.
    readQueryOptions(request);
    const steps = parseBatch(parseJson(text));
    const responses = await runBatch({ steps, routes: compiledRoutes(catalogue()), batchFunctionName: name, outer: request, outerContext: context, apiVersion });
    return { status: 200, body: { responses } };
  });
}
