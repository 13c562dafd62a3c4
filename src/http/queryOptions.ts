import type { HttpRequest } from '@azure/functions';
import { GraphError } from './errors';

const none: ReadonlySet<string> = new Set();

/**
 * A request's OData query options by lower-cased name (option names are case-insensitive: $TOP
 * is $top). An option the route does not support is a 400 naming it, never silently ignored
 * (SPEC section 6: "on every route"). Parameters without `$` are not OData options and pass
 * (a webhook's `validationToken`, for one).
 */
export function readQueryOptions(request: HttpRequest, supported: ReadonlySet<string> = none): Map<string, string> {
  const query = new Map<string, string>();
  for (const [name, value] of request.query) {
    const option = name.toLowerCase();
    if (option.startsWith('$') && !supported.has(option)) {
      throw new GraphError('BadRequest', `Query option '${name}' is not supported on this resource.`);
    }
    query.set(option, value);
  }
  return query;
}
