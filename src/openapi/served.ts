import type { HttpFunctionDefinition } from '../../functions/httpFunction';
import { buildOpenApiDocument } from './document';
import type { SwaggerDocument } from './swagger';

let built: { readonly functions: readonly HttpFunctionDefinition[]; readonly document: SwaggerDocument } | undefined;

/**
 * The document as GET /openapi.json serves it: built once per process (schemas are converted
 * at most once), then given the scheme and host the client used, so that "Import from URL"
 * in Power Platform or a Swagger UI calls this very deployment.
 */
export function servedOpenApiDocument(functions: readonly HttpFunctionDefinition[], baseUrl: string): SwaggerDocument {
  if (built?.functions !== functions) built = { functions, document: buildOpenApiDocument(functions) };
  const url = new URL(baseUrl);
  return { ...built.document, host: url.host, schemes: [url.protocol.replace(/:$/, '')] };
}
