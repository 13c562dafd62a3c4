/**
 * Reads the ARM JSON that the Bicep compiler makes of infra/main.bicep (scripts/bicep.sh), and
 * flattens it for assertions: every resource of every nested deployment (module), copy loops
 * expanded, and each template expression rewritten in terms of the top-level template only:
 * - parameters('p') inside a module becomes the expression its caller passed (or the default);
 * - variables('v') becomes the variable's value, indexed and dereferenced where it is a literal;
 * - reference(<deployment M>).outputs.o.value becomes module M's output expression;
 * - copyIndex() becomes the loop index.
 * So an app setting's value reads as what it will be at deployment time, e.g.
 * `reference(resourceId('Microsoft.DocumentDB/databaseAccounts', format('cosmos-{0}', …)), …).documentEndpoint`.
 * This is textual rewriting, not an ARM evaluator: it knows only these four functions.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON value as text: a string as it is, anything else as JSON. */
export function jsonText(value: Json | undefined): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? null);
}
type JsonObject = { [key: string]: Json };

export interface Compiled {
  /** The ARM JSON as the compiler wrote it. */
  readonly template: JsonObject;
  /** What the compiler printed on stderr (its diagnostics, the linter's included). */
  readonly diagnostics: string;
}

/** Finds the repository root: this file runs from test/infra (ts) or dist/test/infra (js). */
export function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'azure.yaml'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no azure.yaml in ${start} or any directory above it`);
    dir = parent;
  }
}

/** Builds infra/main.bicep with the project's compiler script (restoring the compiler on first use). */
export function compileMainBicep(repoRoot: string): Compiled {
  const result = spawnSync('bash', [path.join(repoRoot, 'scripts', 'bicep.sh'), 'build', '--stdout'], {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`scripts/bicep.sh build exited with ${String(result.status ?? result.signal)}:\n${result.stderr}${result.error?.message ?? ''}`);
  return { template: JSON.parse(result.stdout) as JsonObject, diagnostics: result.stderr };
}

interface Scope {
  /** Module path, e.g. '' for main.bicep, 'api' for the module named api. */
  readonly name: string;
  readonly template: JsonObject;
  readonly parent: Scope | undefined;
  /** What the caller passed: properties.parameters of the deployment resource. */
  readonly bindings: JsonObject;
  readonly copyIndex: number | undefined;
  /** Nested deployments of this template by name, for reference(...).outputs. */
  readonly modules: Map<string, Scope>;
}

export interface FlatResource {
  /** The module the resource is declared in ('' for main.bicep). */
  readonly module: string;
  readonly type: string;
  /** The resource with every expression rewritten (strings still in ARM's "[...]" form). */
  readonly body: JsonObject;
}

const isObject = (value: Json | undefined): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);
const asObject = (value: Json | undefined): JsonObject => (isObject(value) ? value : {});

/** The index of the bracket or parenthesis closing the one at `open`, skipping string literals. */
function matching(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i += 1) {
    const ch = text.charAt(i);
    if (ch === "'") {
      i += 1;
      while (i < text.length && !(text.charAt(i) === "'" && text.charAt(i + 1) !== "'")) i += text.charAt(i) === "'" ? 2 : 1;
    } else if (ch === '(' || ch === '[') depth += 1;
    else if (ch === ')' || ch === ']') {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  throw new Error(`unbalanced expression: ${text}`);
}

/** Length of the accessor chain (`.a`, `[0]`, `.b`…) starting at `start`. */
function accessorsLength(text: string, start: number): number {
  let i = start;
  for (;;) {
    const member = /^\.[A-Za-z_$][\w$]*/.exec(text.slice(i));
    if (member !== null) {
      i += member[0].length;
    } else if (text.charAt(i) === '[') {
      i = matching(text, i) + 1;
    } else {
      return i - start;
    }
  }
}

const literal = (value: string): string => `'${value.replace(/'/g, "''")}'`;
const unquote = (text: string): string | undefined => /^'((?:[^']|'')*)'$/.exec(text.trim())?.[1]?.replace(/''/g, "'");

/** A JSON value as expression text: literals quoted, "[expr]" strings rewritten. */
function asExpression(value: Json, scope: Scope): string {
  if (typeof value === 'string') {
    return value.startsWith('[') && !value.startsWith('[[') && value.endsWith(']') ? rewrite(value.slice(1, -1), scope) : literal(value);
  }
  return JSON.stringify(value);
}

/** Applies `[0].name`-style accessors to a literal JSON value; undefined when one is not literal. */
function access(value: Json, accessors: string): Json | undefined {
  let current: Json | undefined = value;
  for (const m of accessors.matchAll(/\.([A-Za-z_$][\w$]*)|\[(\d+)\]|(.)/g)) {
    if (m[3] !== undefined || current === undefined) return undefined;
    if (m[1] !== undefined) current = isObject(current) ? current[m[1]] : undefined;
    else current = Array.isArray(current) ? current[Number(m[2])] : undefined;
  }
  return current;
}

function parameterValue(name: string, scope: Scope): string | undefined {
  const bound = asObject(scope.bindings[name]);
  if ('value' in bound && scope.parent !== undefined) return asExpression(bound.value ?? null, scope.parent);
  // A module parameter its caller leaves out takes its default; main.bicep's own stay symbolic.
  const declared = asObject(asObject(scope.template.parameters)[name]);
  if (scope.parent !== undefined && 'defaultValue' in declared) return asExpression(declared.defaultValue ?? null, scope);
  return undefined;
}

/** Rewrites one ARM expression (without its brackets) as described at the top of this file. */
function rewrite(expr: string, scope: Scope): string {
  let out = '';
  let i = 0;
  while (i < expr.length) {
    const ch = expr.charAt(i);
    if (ch === "'") {
      let j = i + 1;
      while (j < expr.length && !(expr.charAt(j) === "'" && expr.charAt(j + 1) !== "'")) j += expr.charAt(j) === "'" ? 2 : 1;
      out += expr.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const call = /^([A-Za-z_][\w.]*)\(/.exec(expr.slice(i));
    if (call === null || /[\w.]/.test(expr.charAt(i - 1))) {
      out += ch;
      i += 1;
      continue;
    }
    const name = call[1] ?? '';
    const open = i + name.length;
    const close = matching(expr, open);
    const args = rewrite(expr.slice(open + 1, close), scope);
    const accessorEnd = close + 1 + accessorsLength(expr, close + 1);
    const accessors = rewrite(expr.slice(close + 1, accessorEnd), scope);
    out += replaceCall(name, args, accessors, scope) ?? `${name}(${args})${accessors}`;
    i = accessorEnd;
  }
  return out;
}

function replaceCall(name: string, args: string, accessors: string, scope: Scope): string | undefined {
  if (name === 'copyIndex' && args.trim() === '' && scope.copyIndex !== undefined) return `${scope.copyIndex}${accessors}`;
  if (name === 'parameters') {
    const value = parameterValue(unquote(args) ?? '', scope);
    return value === undefined ? undefined : `${value}${accessors}`;
  }
  if (name === 'variables') {
    const value = asObject(scope.template.variables)[unquote(args) ?? ''];
    if (value === undefined) return undefined;
    const accessed = access(value, accessors);
    if (accessed !== undefined) return asExpression(accessed, scope);
    return `${asExpression(value, scope)}${accessors}`;
  }
  if (name === 'reference') {
    const module = /'Microsoft\.Resources\/deployments', '([^']+)'\)/.exec(args)?.[1];
    const output = /^\.outputs\.([A-Za-z_]\w*)\.value/.exec(accessors);
    const target = module === undefined ? undefined : scope.modules.get(module);
    if (target === undefined || output === null) return undefined;
    const value = asObject(asObject(target.template.outputs)[output[1] ?? '']).value;
    if (value === undefined) throw new Error(`module ${module} has no output ${output[1]}`);
    return `${asExpression(value, target)}${accessors.slice(output[0].length)}`;
  }
  return undefined;
}

/** Rewrites every expression in a JSON value, object keys included. */
function rewriteJson(value: Json, scope: Scope): Json {
  if (typeof value === 'string') {
    if (!(value.startsWith('[') && !value.startsWith('[[') && value.endsWith(']'))) return value;
    const rewritten = rewrite(value.slice(1, -1), scope);
    // An expression that came down to a literal (a variable's value, say) becomes that literal.
    const text = unquote(rewritten);
    if (text !== undefined) return text;
    if (/^[[{]/.test(rewritten)) {
      try {
        return JSON.parse(rewritten) as Json;
      } catch {
        // not a JSON literal: an expression such as [parameters('x')][0] stays one
      }
    }
    return `[${rewritten}]`;
  }
  if (Array.isArray(value)) return value.map((item) => rewriteJson(item, scope));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [rewriteJson(key, scope) as string, rewriteJson(item, scope)]));
  return value;
}

function copyCount(count: Json | undefined, scope: Scope): number {
  if (typeof count === 'number') return count;
  const variable = /^\[length\(variables\('(\w+)'\)\)\]$/.exec(jsonText(count))?.[1];
  const value = variable === undefined ? undefined : asObject(scope.template.variables)[variable];
  if (!Array.isArray(value)) throw new Error(`copy count this reader cannot evaluate: ${jsonText(count)}`);
  return value.length;
}

function resourcesOf(template: JsonObject): JsonObject[] {
  const resources = template.resources;
  if (Array.isArray(resources)) return resources.filter(isObject);
  return Object.values(asObject(resources)).filter(isObject); // languageVersion 2.0: symbolic names
}

function flattenScope(scope: Scope, out: FlatResource[]): void {
  for (const resource of resourcesOf(scope.template)) {
    const nested = asObject(resource.properties).template;
    if (resource.type === 'Microsoft.Resources/deployments' && isObject(nested)) {
      const child: Scope = {
        name: [scope.name, jsonText(resource.name)].filter((part) => part !== '').join('/'),
        template: nested,
        parent: scope,
        bindings: asObject(asObject(resource.properties).parameters),
        copyIndex: undefined,
        modules: new Map(),
      };
      scope.modules.set(jsonText(resource.name), child);
    }
  }
  for (const resource of resourcesOf(scope.template)) {
    const instances = resource.copy === undefined ? [undefined] : [...Array(copyCount(asObject(resource.copy).count, scope)).keys()];
    for (const copyIndex of instances) {
      const instance: Scope = { ...scope, copyIndex };
      const rest = Object.fromEntries(Object.entries(resource).filter(([key]) => key !== 'copy'));
      const nested = asObject(resource.properties).template;
      const body = isObject(nested) ? (rewriteJson({ ...rest, properties: { ...asObject(rest.properties), template: null } }, instance) as JsonObject) : (rewriteJson(rest, instance) as JsonObject);
      out.push({ module: scope.name, type: jsonText(resource.type), body });
      const child = scope.modules.get(jsonText(resource.name));
      if (isObject(nested) && child !== undefined) flattenScope(child, out);
    }
  }
}

/** Every resource of the compiled template and its modules, expressions rewritten. */
export function flatten(template: JsonObject): { resources: FlatResource[]; outputs: Record<string, string> } {
  const root: Scope = { name: '', template, parent: undefined, bindings: {}, copyIndex: undefined, modules: new Map() };
  const resources: FlatResource[] = [];
  flattenScope(root, resources);
  const outputs = Object.fromEntries(Object.entries(asObject(template.outputs)).map(([name, output]) => [name, asExpression(asObject(output).value ?? null, root)]));
  return { resources, outputs };
}

/** A value at a dotted path ('properties.siteConfig.appSettings'). */
export function at(value: Json | undefined, dotted: string): Json | undefined {
  let current = value;
  for (const key of dotted.split('.')) current = isObject(current) ? current[key] : undefined;
  return current;
}

/** An "[expr]" string without its brackets; literals come back quoted, so both compare alike. */
export function expression(value: Json | undefined): string {
  if (typeof value === 'string') return value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : literal(value);
  return JSON.stringify(value);
}
