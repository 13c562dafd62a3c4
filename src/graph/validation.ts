import type { z } from 'zod';
import { GraphError } from '../http/errors';

/**
 * Parses a request body with a module-scope zod schema and answers the first problem the way
 * Graph words it: unknown properties by name, wrong or missing values by property and type.
 */
export function parseBody<T extends z.ZodType>(schema: T, value: unknown, resourceName: string): z.output<T> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GraphError('BadRequest', `The request body must be a JSON object representing a ${resourceName}.`);
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (issue === undefined) throw new GraphError('Request_BadRequest', `Invalid ${resourceName}.`);
  if (issue.code === 'unrecognized_keys') {
    const prefix = issue.path.length > 0 ? `${issue.path.join('.')}.` : '';
    throw new GraphError('Request_BadRequest', `Property '${prefix}${issue.keys[0] ?? ''}' does not exist as a declared property or extension property.`);
  }
  const property = issue.path.filter((part) => typeof part === 'string').join('.') || 'body';
  throw new GraphError('Request_BadRequest', `Invalid value specified for property '${property}' of resource '${resourceName}'.`);
}
