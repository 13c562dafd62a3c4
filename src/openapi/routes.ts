/**
 * Swagger paths from a Functions route template (functions/httpFunction.ts). A `regex(^(a|b)$)`
 * segment of literals becomes one path per literal; the API version becomes `v1.0` (the same
 * paths answer under `beta`, which the description says); an optional `$ref` segment is written
 * in its `$ref` form; another optional segment (a type cast) gives the path without it and, as
 * "variants", one path per value. A catch-all route (`{*path}`) has no paths.
 */
export interface ExpandedRoute {
  /** e.g. `/v1.0/groups/{groupId}/members/$ref`. */
  readonly path: string;
  /** True for a path that only an optional segment's value (a cast) adds. */
  readonly variant: boolean;
  /** The route also answers without its trailing `/$ref`. */
  readonly bareRefAccepted: boolean;
}

export const documentedApiVersion = 'v1.0';

interface Segment {
  readonly choices: readonly string[];
  readonly optional: boolean;
  readonly catchAll: boolean;
}

export function expandRoute(route: string): ExpandedRoute[] {
  const segments = route.split('/').filter((part) => part.length > 0).map((part) => parseSegment(part, route));
  if (segments.some((segment) => segment.catchAll)) return [];
  let paths: { parts: string[]; variant: boolean; bareRefAccepted: boolean }[] = [{ parts: [], variant: false, bareRefAccepted: false }];
  for (const segment of segments) {
    const next: typeof paths = [];
    for (const path of paths) {
      if (segment.optional && segment.choices.length === 1 && segment.choices[0] === '$ref') {
        next.push({ ...path, parts: [...path.parts, '$ref'], bareRefAccepted: true });
        continue;
      }
      if (segment.optional) next.push(path);
      for (const choice of segment.choices) next.push({ ...path, parts: [...path.parts, choice], variant: path.variant || segment.optional });
    }
    paths = next;
  }
  return paths.map(({ parts, variant, bareRefAccepted }) => ({ path: `/${parts.join('/')}`, variant, bareRefAccepted }));
}

function parseSegment(text: string, route: string): Segment {
  if (!(text.startsWith('{') && text.endsWith('}'))) return { choices: [text], optional: false, catchAll: false };
  let body = text.slice(1, -1);
  const catchAll = body.startsWith('*');
  if (catchAll) body = body.slice(1);
  const optional = body.endsWith('?');
  if (optional) body = body.slice(0, -1);
  const colon = body.indexOf(':');
  const name = colon < 0 ? body : body.slice(0, colon);
  const constraint = colon < 0 ? undefined : body.slice(colon + 1);
  if (name === 'apiVersion') return { choices: [documentedApiVersion], optional: false, catchAll };
  const regex = constraint === undefined ? undefined : /^regex\((.*)\)$/.exec(constraint)?.[1];
  if (regex === undefined) return { choices: [`{${name}}`], optional, catchAll };
  return { choices: literalAlternatives(regex, route), optional, catchAll };
}

/** `^microsoft\.graph\.(user|group)$` → the literals it matches; anything richer is an error. */
function literalAlternatives(regex: string, route: string): string[] {
  const match = /^\^([^()|]*)(?:\(([^()]*)\))?([^()|]*)\$$/.exec(regex);
  if (match === null) throw new Error(`Route '${route}': cannot document the constraint regex(${regex}).`);
  const [, prefix = '', group, suffix = ''] = match;
  const alternatives = group === undefined ? [''] : group.split('|');
  return alternatives.map((alternative) => {
    const literal = `${prefix}${alternative}${suffix}`;
    if (/[\\*+?.[\]{}^$|]/.test(literal.replace(/\\[.$\\]/g, ''))) {
      throw new Error(`Route '${route}': regex(${regex}) is not a list of literal segments.`);
    }
    return literal.replace(/\\([.$\\])/g, '$1');
  });
}
