import { GraphError } from '../src/http/errors';
import { anonymous } from '../src/http/pipeline';
import { compileRouteTemplate, decodePath } from '../src/http/routeTemplate';
import type { HttpFunctionDefinition } from './httpFunction';

const allMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

/**
 * The last function registered: a catch-all that answers what no other route took. A path that
 * another function serves under a different method is a 405 (with Allow); anything else is 404.
 */
export function createNotFound(routed: readonly HttpFunctionDefinition[]): HttpFunctionDefinition {
  const templates = routed.map((definition) => ({ definition, template: compileRouteTemplate(definition.route) }));
  return {
    name: 'notFound',
    route: '{*path}',
    methods: [...allMethods],
    authLevel: 'anonymous',
    handler: anonymous(async ({ request }) => {
      const path = decodePath(new URL(request.url).pathname);
      const allowed = new Set(templates.filter(({ template }) => template.match(path) !== undefined).flatMap(({ definition }) => definition.methods));
      if (allowed.size > 0) {
        throw new GraphError('MethodNotAllowed', `The HTTP method '${request.method}' is not supported by this resource.`, {
          Allow: [...allowed].join(', '),
        });
      }
      const segment = path.split('/').filter((part) => part.length > 0).pop() ?? '';
      throw new GraphError('NotFound', `Resource not found for the segment '${segment}'.`);
    }),
  };
}
