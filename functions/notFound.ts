import { GraphError } from '../src/http/errors';
import { anonymous } from '../src/http/pipeline';
import { compileRouteTemplate, escapeTemplateText, requestPathSegments, templatePathPattern } from '../src/http/routeTemplate';
import type { HttpFunctionDefinition } from './httpFunction';

const allMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
type Method = (typeof allMethods)[number];

/**
 * The catch-alls: what no other function serves is a 405 (with Allow) when the path exists
 * under another method, else a 404.
 *
 * Why several, and why each carries a regex: the host does not try the most specific route
 * first, nor routes in registration order, but every route in the order of its function's name
 * (src/http/routeTemplate.ts, inHostOrder). A bare `{*path}` for every method would take
 * whatever sorts after `notFound` (removeMember: DELETE …/$ref answered 405). Renaming it to
 * sort last would make correctness hang on a name, so instead no catch-all can match a request
 * that another function serves, in any order: a route constraint cannot see the method, so there
 * is one catch-all per set of methods with the same served paths, and its `{*path:regex(...)}`
 * refuses exactly the paths those methods serve (built from the other routes by
 * templatePathPattern, so it follows the catalogue). Methods nothing serves share the plain
 * `{*path}` of `notFound`; the others are `notFound` followed by their methods (notFoundGet,
 * notFoundPost, notFoundPatch, notFoundDelete). test/http/routes.test.ts checks every function's requests
 * against the whole catalogue in the host's order, in reverse, and with the catch-alls renamed
 * to sort first.
 *
 * One thing a regex constraint cannot take: an empty path (RegexRouteConstraint refuses a
 * missing value), so `GET /` reaches no function and the host answers it itself.
 */
export function createNotFound(routed: readonly HttpFunctionDefinition[]): HttpFunctionDefinition[] {
  const templates = routed.map((definition) => ({ definition, template: compileRouteTemplate(definition.route) }));
  const handler = anonymous(async ({ request }) => {
    // Split before decoding, as the host routes (an encoded slash is not a separator).
    const segments = requestPathSegments(new URL(request.url).pathname);
    const allowed = new Set(templates.filter(({ template }) => template.match(segments) !== undefined).flatMap(({ definition }) => definition.methods));
    if (allowed.size > 0) {
      throw new GraphError('MethodNotAllowed', `The HTTP method '${request.method}' is not supported by this resource.`, {
        Allow: [...allowed].join(', '),
      });
    }
    const segment = segments.filter((part) => part.length > 0).pop() ?? '';
    throw new GraphError('NotFound', `Resource not found for the segment '${segment}'.`);
  });

  const groups = new Map<string, Method[]>();
  for (const method of allMethods) {
    const served = routed.filter((definition) => definition.methods.includes(method)).map((definition) => definition.route);
    const key = JSON.stringify(served);
    groups.set(key, [...(groups.get(key) ?? []), method]);
  }
  return [...groups].map(([key, methods]) => {
    const served = JSON.parse(key) as string[];
    const name = served.length === 0 ? 'notFound' : `notFound${methods.map((method) => method[0] + method.slice(1).toLowerCase()).join('')}`;
    // Any path but those, one trailing slash included (the host ignores it). `(?![\s\S])` is the
    // very end: .NET's `$` would also stop before a final newline, which no served literal takes.
    const exclusion = `^(?!(?:${served.map(templatePathPattern).join('|')})/?(?![\\s\\S]))`;
    const route = served.length === 0 ? '{*path}' : `{*path:regex(${escapeTemplateText(exclusion)})}`;
    return { name, route, methods, authLevel: 'anonymous', handler };
  });
}
