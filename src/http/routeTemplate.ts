/**
 * Azure Functions route templates ({name}, {name?}, {*rest}, {name:regex(...)}, {name:guid}) as
 * the host matches them: literals case-insensitively, constraints anchored by the pattern
 * itself, an optional parameter only as the last segment. Used by the local host and by the
 * catch-all function that tells 405 from 404.
 */
export interface RouteTemplate {
  readonly template: string;
  match(path: string): Record<string, string> | undefined;
}

type Segment =
  | { kind: 'literal'; text: string }
  | { kind: 'parameter'; name: string; optional: boolean; catchAll: boolean; constraints: ((value: string) => boolean)[] };

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function compileConstraint(text: string, template: string): (value: string) => boolean {
  const regex = /^regex\((.*)\)$/s.exec(text);
  if (regex?.[1] !== undefined) {
    const pattern = new RegExp(regex[1], 'i');
    return (value) => pattern.test(value);
  }
  switch (text) {
    case 'guid':
      return (value) => guid.test(value);
    case 'int':
      return (value) => /^-?\d+$/.test(value);
    case 'alpha':
      return (value) => /^[a-z]+$/i.test(value);
    default:
      throw new Error(`Route '${template}' uses a constraint this host does not know: '${text}'.`);
  }
}

/** Splits "name:regex(a:b):guid" into its name and constraints, respecting parentheses. */
function splitParameter(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of body) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ':' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}

function compileSegment(text: string, template: string): Segment {
  if (!(text.startsWith('{') && text.endsWith('}'))) return { kind: 'literal', text: text.toLowerCase() };
  let body = text.slice(1, -1);
  const catchAll = body.startsWith('*');
  if (catchAll) body = body.slice(1);
  const optional = body.endsWith('?');
  if (optional) body = body.slice(0, -1);
  const [name = '', ...constraints] = splitParameter(body);
  return { kind: 'parameter', name, optional, catchAll, constraints: constraints.map((constraint) => compileConstraint(constraint, template)) };
}

export function compileRouteTemplate(template: string): RouteTemplate {
  const segments = template.split('/').filter((part) => part.length > 0).map((part) => compileSegment(part, template));
  return {
    template,
    match(path) {
      // One leading and one trailing slash are not segments; an empty segment inside (//) is,
      // and matches nothing, as in ASP.NET Core routing.
      const trimmed = path.replace(/^\//, '').replace(/\/$/, '');
      const parts = trimmed === '' ? [] : trimmed.split('/');
      const params: Record<string, string> = {};
      for (let index = 0; index < segments.length; index += 1) {
        const segment = segments[index]!;
        const part = parts[index];
        if (segment.kind === 'literal') {
          if (part === undefined || part.toLowerCase() !== segment.text) return undefined;
          continue;
        }
        if (segment.catchAll) {
          params[segment.name] = parts.slice(index).join('/');
          return params;
        }
        if (part === undefined || part === '') {
          if (segment.optional && index === segments.length - 1) return params;
          return undefined;
        }
        if (!segment.constraints.every((accepts) => accepts(part))) return undefined;
        params[segment.name] = part;
      }
      return parts.length === segments.length ? params : undefined;
    },
  };
}

/** Decodes a URL path into the segments the host routes on. */
export function decodePath(pathname: string): string {
  return pathname
    .split('/')
    .map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    })
    .join('/');
}
