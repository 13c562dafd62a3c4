/**
 * Swagger paths from a Functions route template (functions/httpFunction.ts). A `regex(^(a|b)$)`
 * segment of literals becomes one path per literal; the API version becomes `v1.0` (the same
 * paths answer under `beta`, which the description says); an optional `$ref` segment is written
 * in its `$ref` form; another optional segment (a type cast) gives the path without it and, as
 * "variants", one path per value. A catch-all route (`{*path}`) has no paths.
 */
import { parseRouteTemplate, regexExcludedLiterals, regexLiterals, type RouteSegment } from '../http/routeTemplate';

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
  const parsed = parseRouteTemplate(route);
  if (parsed.some((segment) => segment.kind === 'parameter' && segment.catchAll)) return [];
  const segments = parsed.map((segment) => documentedSegment(segment, route));
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

function documentedSegment(segment: RouteSegment, route: string): Segment {
  if (segment.kind === 'literal') return { choices: [segment.text], optional: false, catchAll: false };
  const { name, optional, catchAll, constraints } = segment;
  if (name === 'apiVersion') return { choices: [documentedApiVersion], optional: false, catchAll };
  const regex = constraints[0]?.source;
  // A parameter that only leaves a few names to another function is still that parameter.
  if (regex === undefined || regexExcludedLiterals(regex) !== undefined) return { choices: [`{${name}}`], optional, catchAll };
  return { choices: literalAlternatives(regex, route), optional, catchAll };
}

/** `^microsoft\.graph\.(user|group)$` → the literals it matches; anything richer is an error. */
function literalAlternatives(regex: string, route: string): string[] {
  if (!/^\^([^()|]*)(?:\(([^()]*)\))?([^()|]*)\$$/.test(regex)) throw new Error(`Route '${route}': cannot document the constraint regex(${regex}).`);
  const literals = regexLiterals(regex);
  if (literals === undefined) throw new Error(`Route '${route}': regex(${regex}) is not a list of literal segments.`);
  return literals;
}
