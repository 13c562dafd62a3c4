/**
 * Azure Functions route templates, parsed and matched as the host does it, in one place: the
 * local host, the catch-all functions (functions/notFound.ts), the OpenAPI generator and the
 * route list `npm start` prints all read the structure parsed here.
 *
 * The host hands every function's route to ASP.NET Core's legacy `Route` (WebJobsRouteBuilder in
 * Azure/azure-webjobs-sdk-extensions, src/WebJobs.Extensions.Http/Routing), so the syntax is
 * ASP.NET Core's RoutePatternParser and RouteParameterParser (dotnet/aspnetcore,
 * src/Http/Routing/src/Patterns): a parameter runs to the first `}` that is not doubled (a `/`
 * inside it belongs to it), `{{`/`}}` escape braces, and in a constraint a `)` closes `regex(...)`
 * only when the end, a `:` or a `=` follows, while a `:` or `=` inside the parentheses is skipped
 * to the next `)`. A regex constraint is compiled with IgnoreCase and CultureInvariant
 * (RegexRouteConstraint); literals compare case-insensitively.
 *
 * Only what this project uses is supported, and anything else is an error at startup rather than
 * a silent difference from the host: simple segments (one literal or one parameter), `regex(...)`
 * constraints, no default values.
 */

export interface RegexConstraint {
  readonly kind: 'regex';
  /** The pattern as the host's Regex sees it (template escapes removed). */
  readonly source: string;
}

export type RouteConstraint = RegexConstraint;

export type RouteSegment =
  | { readonly kind: 'literal'; readonly text: string }
  | {
      readonly kind: 'parameter';
      readonly name: string;
      readonly optional: boolean;
      readonly catchAll: boolean;
      readonly constraints: readonly RouteConstraint[];
    };

export interface RouteTemplate {
  readonly template: string;
  readonly segments: readonly RouteSegment[];
  /** The route values if the request's path segments (see requestPathSegments) match. */
  match(pathSegments: readonly string[]): Record<string, string> | undefined;
}

export function parseRouteTemplate(template: string): RouteSegment[] {
  const fail = (why: string): never => {
    throw new Error(`Route '${template}': ${why}`);
  };
  // RoutePatternParser.TrimPrefix: a leading "~/" or "/" is not part of the route.
  const text = template.startsWith('~/') ? template.slice(2) : template.startsWith('/') ? template.slice(1) : template;
  const segments: RouteSegment[] = [];
  const names = new Set<string>();
  let index = 0;
  while (index < text.length) {
    if (text[index] === '/') fail('consecutive separators (//) are not allowed.');
    let segment: RouteSegment;
    if (text[index] === '{' && text[index + 1] !== '{') {
      // A parameter: up to the first '}' that is not doubled.
      let end = index + 1;
      for (;;) {
        if (end >= text.length) fail('a parameter is not closed.');
        const char = text[end]!;
        if (char === '{') {
          if (text[end + 1] !== '{') fail("a '{' inside a parameter must be doubled.");
          end += 2;
        } else if (char === '}') {
          if (text[end + 1] === '}') end += 2;
          else break;
        } else end += 1;
      }
      const inside = text
        .slice(index + 1, end)
        .replaceAll('}}', '}')
        .replaceAll('{{', '{');
      const parameter = parseParameter(inside, fail);
      if (names.has(parameter.name.toLowerCase())) fail(`the parameter '${parameter.name}' is repeated.`);
      names.add(parameter.name.toLowerCase());
      segment = parameter;
      index = end + 1;
    } else {
      let end = index;
      let literal = '';
      while (end < text.length && text[end] !== '/') {
        const char = text[end]!;
        if (char === '{' || char === '}') {
          if (text[end + 1] !== char) fail('a segment that mixes literals and parameters is not supported here.');
          literal += char;
          end += 2;
        } else {
          literal += char;
          end += 1;
        }
      }
      if (literal.includes('?')) fail("a literal cannot contain '?'.");
      segment = { kind: 'literal', text: literal };
      index = end;
    }
    segments.push(segment);
    if (index < text.length) {
      if (text[index] !== '/') fail('a segment that mixes literals and parameters is not supported here.');
      index += 1;
      if (index === text.length) fail('a route cannot end with a separator.');
    }
  }
  segments.forEach((segment, position) => {
    if (segment.kind === 'parameter' && segment.catchAll && position !== segments.length - 1) fail('a catch-all parameter must be the last segment.');
    if (segment.kind === 'parameter' && segment.optional && segments.slice(position + 1).some((next) => next.kind === 'literal' || !next.optional)) {
      fail('an optional parameter can only be followed by optional parameters.');
    }
  });
  return segments;
}

/** The inside of `{...}`, braces unescaped: RouteParameterParser's grammar. */
function parseParameter(text: string, fail: (why: string) => never): RouteSegment & { kind: 'parameter' } {
  let start = 0;
  let end = text.length - 1;
  const catchAll = text.startsWith('*');
  if (text.startsWith('**')) start = 2;
  else if (catchAll) start = 1;
  const optional = text.endsWith('?');
  if (optional) end -= 1;
  if (catchAll && optional) fail('a catch-all parameter cannot be optional.');

  // The name runs to the first ':' or '=' (one in first position belongs to the name).
  let position = start;
  while (position <= end && !((text[position] === ':' || text[position] === '=') && position !== start)) position += 1;
  const name = text.slice(start, position);
  if (name === '' || /[/{}?*]/.test(name)) fail(`the parameter name '${name}' is invalid.`);

  const constraintTexts: string[] = [];
  let state: 'start' | 'name' | 'parenthesis' = 'start';
  let constraintStart = position;
  for (; position <= end + 1; position += 1) {
    const char = position <= end ? text[position] : undefined;
    if (state === 'start') {
      if (char === undefined) break;
      if (char === ':') {
        state = 'name';
        constraintStart = position + 1;
      } else if (char === '(') state = 'parenthesis';
      else if (char === '=') fail('default values are not supported here.');
    } else if (state === 'name') {
      if (char === undefined || char === ':') {
        if (position > constraintStart) constraintTexts.push(text.slice(constraintStart, position));
        if (char === undefined) break;
        constraintStart = position + 1;
      } else if (char === '(') state = 'parenthesis';
      else if (char === '=') fail('default values are not supported here.');
    } else if (char === undefined) {
      constraintTexts.push(text.slice(constraintStart, position));
      break;
    } else if (char === ')') {
      // Closes the constraint only before the end, a ':' or a '='.
      const next = position + 1 <= end ? text[position + 1] : undefined;
      if (next === undefined || next === ':' || next === '=') {
        constraintTexts.push(text.slice(constraintStart, position + 1));
        if (next === '=') fail('default values are not supported here.');
        if (next === undefined) break;
        state = 'start';
        constraintStart = position + 1;
      }
    } else if (char === ':' || char === '=') {
      // Inside parentheses: jump past the next ')', if there is one (that ')' closes nothing).
      const closing = text.indexOf(')', position + 1);
      if (closing === -1) {
        constraintTexts.push(text.slice(constraintStart, position));
        if (char === '=') fail('default values are not supported here.');
        state = 'name';
        constraintStart = position + 1;
      } else position = closing;
    }
  }
  return { kind: 'parameter', name, optional, catchAll, constraints: constraintTexts.map((constraint) => parseConstraint(constraint, fail)) };
}

function parseConstraint(text: string, fail: (why: string) => never): RouteConstraint {
  // DefaultInlineConstraintResolver: the argument lies between the first '(' and the final ')'.
  const open = text.indexOf('(');
  const key = open >= 0 && text.endsWith(')') ? text.slice(0, open) : text;
  if (key.toLowerCase() === 'regex' && open >= 0 && text.endsWith(')')) return { kind: 'regex', source: text.slice(open + 1, -1) };
  // guid, int, alpha...: the host parses those with .NET's own rules (Guid.TryParse and the
  // like), which an emulation would only approximate. Ids are validated by the handlers.
  return fail(`the constraint '${text}' is not supported here (use regex(...)).`);
}

/**
 * A regex constraint as .NET runs it: case-insensitive, and `$` (without Multiline) also matches
 * before a final newline (https://learn.microsoft.com/dotnet/standard/base-types/anchors-in-regular-expressions),
 * which JavaScript's `$` does not.
 */
export function hostRegex(source: string): RegExp {
  let translated = '';
  let inClass = false;
  for (let index = 0; index < source.length; index += 1) {
    const char = source[index]!;
    if (char === '\\') {
      translated += source.slice(index, index + 2);
      index += 1;
    } else if (inClass) {
      if (char === ']') inClass = false;
      translated += char;
    } else if (char === '[') {
      inClass = true;
      translated += char;
    } else translated += char === '$' ? '(?=\\n?$)' : char;
  }
  return new RegExp(translated, 'i');
}

export function compileRouteTemplate(template: string): RouteTemplate {
  const segments = parseRouteTemplate(template);
  const tests = segments.map((segment) => (segment.kind === 'parameter' ? segment.constraints.map((constraint) => hostRegex(constraint.source)) : []));
  return {
    template,
    segments,
    match(parts) {
      const params: Record<string, string> = {};
      for (let index = 0; index < segments.length; index += 1) {
        const segment = segments[index]!;
        const part = parts[index];
        if (segment.kind === 'literal') {
          if (part === undefined || part.toLowerCase() !== segment.text.toLowerCase()) return undefined;
          continue;
        }
        const accepts = (value: string) => tests[index]!.every((test) => test.test(value));
        if (segment.catchAll) {
          // The rest of the path; an empty rest is no value, which a constraint refuses
          // (RegexRouteConstraint answers false for a missing value).
          const rest = parts.slice(index).join('/');
          if (rest === '') return tests[index]!.length === 0 ? params : undefined;
          if (!accepts(rest)) return undefined;
          params[segment.name] = rest;
          return params;
        }
        // An empty segment matches a parameter only if it is optional, and then as no value.
        if (part === undefined || part === '') {
          if (segment.optional) continue;
          return undefined;
        }
        if (!accepts(part)) return undefined;
        params[segment.name] = part;
      }
      return parts.length <= segments.length ? params : undefined;
    },
  };
}

/**
 * The literals a `regex(^prefix(a|b)suffix$)` constraint accepts, or undefined when the pattern
 * is richer than a list of literals.
 */
export function regexLiterals(source: string): string[] | undefined {
  const match = /^\^([^()|]*)(?:\(([^()]*)\))?([^()|]*)\$$/.exec(source);
  if (match === null) return undefined;
  const [, prefix = '', group, suffix = ''] = match;
  const alternatives = group === undefined ? [''] : group.split('|');
  const literals: string[] = [];
  for (const alternative of alternatives) {
    const literal = `${prefix}${alternative}${suffix}`;
    if (/[\\*+?.[\]{}^$|]/.test(literal.replace(/\\[.$\\]/g, ''))) return undefined;
    literals.push(literal.replace(/\\([.$\\])/g, '$1'));
  }
  return literals;
}

/**
 * The literals a `regex(^(?!(a|b)$))` constraint refuses (it takes any other segment), or
 * undefined for any other pattern: how a parameter leaves a few names to another function, so
 * that no order of the two can matter (`groups/{groupId}` and `groups/delta`).
 */
export function regexExcludedLiterals(source: string): string[] | undefined {
  const match = /^\^\(\?!\(([^()]*)\)\$\)$/.exec(source);
  if (match === null) return undefined;
  return regexLiterals(`^(${match[1] ?? ''})$`);
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/**
 * A regex source (to be tested case-insensitively against the whole path, no leading slash,
 * segments joined by '/') that matches exactly the paths the template matches, ignoring one
 * trailing slash as the host does. Used to build the catch-alls' exclusions; a template whose
 * constraints are not lists of literals cannot be expressed and is an error.
 */
export function templatePathPattern(template: string): string {
  let pattern = '';
  for (const segment of parseRouteTemplate(template)) {
    let part: string;
    if (segment.kind === 'literal') part = escapeRegex(segment.text);
    else if (segment.catchAll) {
      if (segment.constraints.length > 0) throw new Error(`Route '${template}': a constrained catch-all cannot be excluded.`);
      pattern += pattern === '' ? '.*' : '(?:/.*)?';
      continue;
    } else if (segment.constraints.length === 0) part = '[^/]+';
    else {
      const source = segment.constraints.length === 1 ? segment.constraints[0]!.source : '';
      const literals = regexLiterals(source);
      const excluded = literals === undefined ? regexExcludedLiterals(source) : undefined;
      if (literals === undefined && excluded === undefined) throw new Error(`Route '${template}': only a regex listing literals (or refusing a few) can be excluded from the catch-all.`);
      // `\n?`: the host's `$` also accepts a final newline (hostRegex).
      part = literals !== undefined ? `(?:${literals.map(escapeRegex).join('|')})\\n?` : `(?!(?:${excluded!.map(escapeRegex).join('|')})\\n?(?:/|$))[^/]+`;
    }
    // An optional parameter also takes an empty segment (x/ and x// both match x/{y?}).
    if (segment.kind === 'parameter' && segment.optional) pattern += pattern === '' ? `(?:${part})?` : `(?:/(?:${part})?)?`;
    else pattern += pattern === '' ? part : `/${part}`;
  }
  return pattern;
}

/** Doubles the braces in text meant for the inside of a route parameter. */
export function escapeTemplateText(text: string): string {
  return text.replaceAll('{', '{{').replaceAll('}', '}}');
}

/**
 * The path segments the host routes on. Kestrel decodes every escape in the path except %2F
 * ("Kestrel is supposed to decode all valid escape sequences except %2F", dotnet/aspnetcore#30655;
 * aspnet/KestrelHttpServer#124), and routing splits that on '/' without decoding further
 * (aspnet/Mvc#6388). So the path is split first and each segment decoded, %2F left as it is: an
 * encoded slash never becomes a separator. One leading and one trailing slash are not segments;
 * an empty segment inside (//) is one (ASP.NET Core's PathTokenizer).
 */
export function requestPathSegments(pathname: string): string[] {
  const rest = pathname.startsWith('/') ? pathname.slice(1) : pathname;
  if (rest === '') return [];
  return (rest.endsWith('/') ? rest.slice(0, -1) : rest).split('/').map(decodeSegment);
}

function decodeSegment(segment: string): string {
  return segment
    .split(/(%2F)/i)
    .map((piece, index) => (index % 2 === 1 ? piece : piece.replace(/(?:%[0-9A-Fa-f]{2})+/g, decodeEscapes)))
    .join('');
}

/** Decodes a run of escapes; one that is not valid UTF-8 stays as it was, as in Kestrel. */
function decodeEscapes(run: string): string {
  try {
    return decodeURIComponent(run);
  } catch {
    return run.replace(/%[0-7][0-9A-Fa-f]/g, (escape) => decodeURIComponent(escape));
  }
}

/**
 * How the host orders its functions, and so its routes: by function name, StringComparer.
 * OrdinalIgnoreCase (FunctionMetadataManager.LoadFunctionMetadata in Azure/azure-functions-host
 * returns `functionMetadataList.OrderBy(f => f.Name, StringComparer.OrdinalIgnoreCase)`;
 * ScriptHost keeps that order, WebScriptHostHttpRoutesManager maps a route per function in it,
 * and WebJobsRouteBuilder builds a RouteCollection that tries them in turn). No specificity rule
 * applies (azure-functions-host#9876, azure-functions-nodejs-library#300; webjobs-sdk-extensions
 * PR #842 proposes one and is not merged). OrdinalIgnoreCase compares the upper-cased names code
 * unit by code unit, so '_' (0x5F) sorts after every letter.
 */
export function compareFunctionNames(left: string, right: string): number {
  const [a, b] = [left.toUpperCase(), right.toUpperCase()];
  return a < b ? -1 : a > b ? 1 : 0;
}

export function inHostOrder<T extends { readonly name: string }>(functions: readonly T[]): T[] {
  return [...functions].sort((left, right) => compareFunctionNames(left.name, right.name));
}

export interface RoutedFunction {
  readonly name: string;
  readonly route: string;
  readonly methods: readonly string[];
}

/**
 * The first function, in the order given, whose method and route match: the host's
 * RouteCollection with each route's HttpMethodRouteConstraint.
 */
export function selectRoute<T extends RoutedFunction>(
  routes: readonly { readonly definition: T; readonly template: RouteTemplate }[],
  method: string,
  pathSegments: readonly string[],
): { definition: T; params: Record<string, string> } | undefined {
  const upper = method.toUpperCase();
  for (const { definition, template } of routes) {
    if (!definition.methods.some((allowed) => allowed.toUpperCase() === upper)) continue;
    const params = template.match(pathSegments);
    if (params !== undefined) return { definition, params };
  }
  return undefined;
}
