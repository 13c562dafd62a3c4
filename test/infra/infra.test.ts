/**
 * Structural checks of the deployment files (azure.yaml, infra/*.bicep, infra/main.parameters.json).
 *
 * There is no Bicep compiler and no Azure here, so this is NOT a compile or a deployment: it is a
 * small reader of Bicep's surface syntax (comments, strings with ${} interpolation, params, vars,
 * resources, modules, outputs, object keys) that catches the mistakes a refactor makes most
 * often: a module param renamed on one side only, a required param not passed, an app setting the
 * code reads but the infrastructure never sets, a key-based secret creeping back in, the Cosmos DB
 * data-plane role granted to the wrong principal.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { appSettingNames } from '../../src/config/settings';

// ---------------------------------------------------------------------------------------------
// Locating the files: this test runs from test/infra (ts) or dist/test/infra (compiled js).

function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'azure.yaml'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no azure.yaml in ${start} or any directory above it`);
    dir = parent;
  }
}

const repoRoot = findRepoRoot(__dirname);
const infraDir = path.join(repoRoot, 'infra');
const mainBicepPath = path.join(infraDir, 'main.bicep');

function listBicepFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listBicepFiles(full));
    else if (entry.name.endsWith('.bicep')) out.push(full);
  }
  return out.sort();
}

const rel = (file: string): string => path.relative(repoRoot, file).split(path.sep).join('/');

// ---------------------------------------------------------------------------------------------
// Lexing: two views of the same length as the source, so offsets found in one apply to the other.
//   text: comments blanked (newlines kept); strings intact.
//   code: as text, and the literal parts of strings blanked too; ${...} interpolations stay code.
// Structure (braces, keys, identifiers) is searched in `code`, so nothing inside a string or a
// comment can be mistaken for it; literal values are then read from `text`.

interface Lexed {
  text: string;
  code: string;
}

function lexBicep(src: string): Lexed {
  const text: string[] = [];
  const code: string[] = [];
  const blank = (ch: string): string => (ch === '\n' || ch === '\r' ? ch : ' ');
  const keep = (s: string): void => {
    text.push(s);
    code.push(s);
  };
  const hideAll = (s: string): void => {
    for (const ch of s) {
      text.push(blank(ch));
      code.push(blank(ch));
    }
  };
  const hideInCode = (s: string): void => {
    for (const ch of s) {
      text.push(ch);
      code.push(blank(ch));
    }
  };
  // A stack of contexts: code (with its own brace depth, for interpolations) or a string.
  type Frame = { kind: 'code'; depth: number } | { kind: 'string' };
  const stack: Frame[] = [{ kind: 'code', depth: 0 }];
  let i = 0;
  while (i < src.length) {
    const top = stack[stack.length - 1];
    if (top === undefined) throw new Error('lexer stack underflow');
    const ch = src.charAt(i);
    if (top.kind === 'string') {
      if (ch === '\\') {
        hideInCode(src.slice(i, i + 2));
        i += 2;
      } else if (ch === "'") {
        stack.pop();
        keep(ch);
        i += 1;
      } else if (src.startsWith('${', i)) {
        stack.push({ kind: 'code', depth: 0 });
        keep('${');
        i += 2;
      } else {
        hideInCode(ch);
        i += 1;
      }
      continue;
    }
    if (src.startsWith("'''", i)) {
      // Multi-line string: no escapes, no interpolation.
      const end = src.indexOf("'''", i + 3);
      const stop = end === -1 ? src.length : end + 3;
      keep("'''");
      hideInCode(src.slice(i + 3, Math.max(i + 3, stop - 3)));
      if (end !== -1) keep("'''");
      i = stop;
    } else if (ch === "'") {
      stack.push({ kind: 'string' });
      keep(ch);
      i += 1;
    } else if (src.startsWith('//', i)) {
      const end = src.indexOf('\n', i);
      const stop = end === -1 ? src.length : end;
      hideAll(src.slice(i, stop));
      i = stop;
    } else if (src.startsWith('/*', i)) {
      const end = src.indexOf('*/', i + 2);
      const stop = end === -1 ? src.length : end + 2;
      hideAll(src.slice(i, stop));
      i = stop;
    } else if (ch === '{') {
      top.depth += 1;
      keep(ch);
      i += 1;
    } else if (ch === '}') {
      if (top.depth === 0 && stack.length > 1) stack.pop(); // end of a ${...} interpolation
      else top.depth -= 1;
      keep(ch);
      i += 1;
    } else {
      keep(ch);
      i += 1;
    }
  }
  return { text: text.join(''), code: code.join('') };
}

// ---------------------------------------------------------------------------------------------
// Bracket matching and object entries (in `code`).

const OPEN = '{[(';
const CLOSE = '}])';

/** Index just past the bracket that closes the one at `open`. */
function matchBracket(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i += 1) {
    const ch = code.charAt(i);
    if (OPEN.includes(ch)) depth += 1;
    else if (CLOSE.includes(ch)) {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  throw new Error(`unbalanced bracket at offset ${open}`);
}

interface Entry {
  key: string;
  /** The value's source text (comments stripped, trimmed). */
  value: string;
  start: number;
  end: number;
}

/** Top-level `key: value` entries of the object whose `{` is at `open`. */
function objectEntries(lx: Lexed, open: number): Entry[] {
  const close = matchBracket(lx.code, open) - 1;
  const entries: Entry[] = [];
  let i = open + 1;
  while (i < close) {
    // Skip separators between entries.
    while (i < close && /[\s,]/.test(lx.code.charAt(i))) i += 1;
    if (i >= close) break;
    const keyMatch = /^(?:([A-Za-z_]\w*)|'([^']*)')\s*:(?!:)/.exec(lx.text.slice(i, close));
    if (keyMatch === null) throw new Error(`expected an object key at: ${lx.text.slice(i, i + 40)}`);
    const key = keyMatch[1] ?? keyMatch[2] ?? '';
    const valueStart = i + keyMatch[0].length;
    // The value runs to a newline or comma at depth 0.
    let j = valueStart;
    while (j < close) {
      const ch = lx.code.charAt(j);
      if (OPEN.includes(ch)) {
        j = matchBracket(lx.code, j);
        continue;
      }
      if (ch === '\n' || ch === ',') {
        // A value may continue on the next line after an operator (multi-line ternaries).
        const rest = lx.code.slice(j + 1, close);
        if (ch === '\n' && /^\s*[?:]/.test(rest) && !/^\s*[A-Za-z_]\w*\s*:/.test(rest)) {
          j += 1;
          continue;
        }
        break;
      }
      j += 1;
    }
    entries.push({ key, value: lx.text.slice(valueStart, j).trim(), start: i, end: j });
    i = j;
  }
  return entries;
}

/** Entries at a dotted path (e.g. 'properties.siteConfig') inside the object at `open`. */
function entriesAt(lx: Lexed, open: number, dotted: string): Entry[] | undefined {
  let entries = objectEntries(lx, open);
  if (dotted === '') return entries;
  for (const key of dotted.split('.')) {
    const entry = entries.find((e) => e.key === key);
    if (entry === undefined) return undefined;
    const brace = lx.code.indexOf('{', lx.code.indexOf(':', entry.start));
    if (brace === -1 || brace > entry.end) return undefined;
    entries = objectEntries(lx, brace);
  }
  return entries;
}

/** The value of `dotted.key` in the object at `open`, or undefined. */
function valueAt(lx: Lexed, open: number, dotted: string): string | undefined {
  const parts = dotted.split('.');
  const last = parts.pop() ?? '';
  return entriesAt(lx, open, parts.join('.'))?.find((e) => e.key === last)?.value;
}

/** Objects that are the elements of the array whose `[` is at `open`. */
function arrayObjects(lx: Lexed, open: number): number[] {
  const close = matchBracket(lx.code, open) - 1;
  const objects: number[] = [];
  let i = open + 1;
  while (i < close) {
    const ch = lx.code.charAt(i);
    if (ch === '{') objects.push(i);
    i = OPEN.includes(ch) ? matchBracket(lx.code, i) : i + 1;
  }
  return objects;
}

// ---------------------------------------------------------------------------------------------
// Declarations.

interface ParamDecl {
  name: string;
  type: string;
  hasDefault: boolean;
  defaultValue?: string;
  /** Offset of the name in its declaration. */
  nameOffset: number;
}
interface VarDecl {
  name: string;
  value: string;
}
interface ResourceDecl {
  symbol: string;
  type: string;
  existing: boolean;
  /** From the `=` to the end of the body: includes any `[for ... :` header. */
  regionStart: number;
  /** Offset of the body's `{`. */
  body: number;
  end: number;
}
interface ModuleDecl {
  symbol: string;
  source: string;
  /** Offset of the body's `{`. */
  body: number;
}
interface OutputDecl {
  name: string;
  value: string;
}

interface BicepFile {
  file: string;
  lx: Lexed;
  params: ParamDecl[];
  vars: VarDecl[];
  resources: ResourceDecl[];
  modules: ModuleDecl[];
  outputs: OutputDecl[];
  targetScope?: string;
}

/** The expression starting at `from`: to the end of its line, following brackets across lines. */
function expressionAt(lx: Lexed, from: number): string {
  let i = from;
  while (i < lx.code.length && lx.code.charAt(i) !== '\n') {
    i = OPEN.includes(lx.code.charAt(i)) ? matchBracket(lx.code, i) : i + 1;
  }
  return lx.text.slice(from, i).trim();
}

function parseBicep(file: string): BicepFile {
  const lx = lexBicep(fs.readFileSync(file, 'utf8'));
  const { code, text } = lx;
  const parsed: BicepFile = { file, lx, params: [], vars: [], resources: [], modules: [], outputs: [] };

  const paramLine = /^[ \t]*param[ \t]+([A-Za-z_]\w*)[ \t]+([^\n=]*?)[ \t]*(?:=(.*))?$/m;
  for (const m of code.matchAll(new RegExp(paramLine.source, 'gm'))) {
    // Same offsets in `text`, where a literal type ('a' | 'b') is still readable.
    const type = (paramLine.exec(text.slice(m.index, m.index + m[0].length))?.[2] ?? '').trim();
    const hasAssign = m[3] !== undefined;
    const keyword = /param[ \t]+/.exec(m[0]);
    const decl: ParamDecl = {
      name: m[1] ?? '',
      type,
      hasDefault: hasAssign || type.endsWith('?'),
      nameOffset: m.index + (keyword?.index ?? 0) + (keyword?.[0].length ?? 0),
    };
    if (hasAssign) decl.defaultValue = expressionAt(lx, m.index + m[0].indexOf('=') + 1);
    parsed.params.push(decl);
  }
  for (const m of code.matchAll(/^[ \t]*var[ \t]+([A-Za-z_]\w*)[ \t]*=/gm)) {
    parsed.vars.push({ name: m[1] ?? '', value: expressionAt(lx, m.index + m[0].length) });
  }
  for (const m of code.matchAll(/^[ \t]*resource[ \t]+([A-Za-z_]\w*)[ \t]+'[^'\n]*'([ \t]+existing)?[ \t]*=/gm)) {
    const typeStart = m.index + m[0].indexOf("'") + 1;
    const typeEnd = text.indexOf("'", typeStart);
    const regionStart = m.index + m[0].length;
    const body = code.indexOf('{', regionStart);
    parsed.resources.push({
      symbol: m[1] ?? '',
      type: text.slice(typeStart, typeEnd).split('@')[0] ?? '',
      existing: m[2] !== undefined,
      regionStart,
      body,
      end: matchBracket(code, body),
    });
  }
  for (const m of code.matchAll(/^[ \t]*module[ \t]+([A-Za-z_]\w*)[ \t]+'[^'\n]*'[ \t]*=/gm)) {
    const srcStart = m.index + m[0].indexOf("'") + 1;
    parsed.modules.push({
      symbol: m[1] ?? '',
      source: text.slice(srcStart, text.indexOf("'", srcStart)),
      body: code.indexOf('{', m.index + m[0].length),
    });
  }
  for (const m of code.matchAll(/^[ \t]*output[ \t]+([A-Za-z_]\w*)[ \t]+[^\n=]+=/gm)) {
    parsed.outputs.push({ name: m[1] ?? '', value: expressionAt(lx, m.index + m[0].length) });
  }
  const scope = /^[ \t]*targetScope[ \t]*=[ \t]*'([^']*)'/m.exec(text);
  if (scope?.[1] !== undefined) parsed.targetScope = scope[1];
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// The deployment as a whole: files, the module graph, and tracing values through it.

const bicepFiles = listBicepFiles(infraDir).map((file) => {
  try {
    return parseBicep(file);
  } catch (error) {
    throw new Error(`${rel(file)}: cannot be read structurally: ${(error as Error).message}`, { cause: error });
  }
});
const byFile = new Map(bicepFiles.map((f) => [f.file, f]));

function getFile(file: string): BicepFile {
  const found = byFile.get(file);
  if (found === undefined) throw new Error(`${rel(file)} is not a Bicep file under infra/`);
  return found;
}
const moduleFile = (from: BicepFile, mod: ModuleDecl): string => path.resolve(path.dirname(from.file), mod.source);

/** Module calls (in any file) whose source is `file`. */
function callersOf(file: string): Array<{ caller: BicepFile; mod: ModuleDecl }> {
  const callers: Array<{ caller: BicepFile; mod: ModuleDecl }> = [];
  for (const caller of bicepFiles) {
    for (const mod of caller.modules) if (moduleFile(caller, mod) === file) callers.push({ caller, mod });
  }
  return callers;
}

function moduleParams(caller: BicepFile, mod: ModuleDecl): Entry[] {
  return entriesAt(caller.lx, mod.body, 'params') ?? [];
}

/** A value as far back as it can be followed, as "file: expression" or "file: param NAME". */
interface Leaf {
  file: BicepFile;
  expr: string;
}

/**
 * Follow an expression back through vars, module params (to what each caller passes) and module
 * outputs (to the module's own output expression), and return where it ends: literals, resource
 * properties, function calls, or a param of the top-level template.
 */
function trace(file: BicepFile, expr: string, depth = 0): Leaf[] {
  if (depth > 20) throw new Error(`trace too deep at ${rel(file.file)}: ${expr}`);
  const ident = /^([A-Za-z_]\w*)$/.exec(expr)?.[1];
  if (ident !== undefined) {
    const v = file.vars.find((d) => d.name === ident);
    if (v !== undefined) return trace(file, v.value, depth + 1);
    const p = file.params.find((d) => d.name === ident);
    if (p !== undefined) {
      const callers = callersOf(file.file);
      if (callers.length === 0) return [{ file, expr: `param ${ident}` }];
      return callers.flatMap(({ caller, mod }) => {
        const passed = moduleParams(caller, mod).find((e) => e.key === ident);
        if (passed !== undefined) return trace(caller, passed.value, depth + 1);
        if (p.defaultValue !== undefined) return trace(file, p.defaultValue, depth + 1);
        return [{ file, expr: `param ${ident} (not passed by ${rel(caller.file)})` }];
      });
    }
  }
  // A resource's name: follow the `name:` it was declared with (existing resources included).
  const named = /^([A-Za-z_]\w*)\.name$/.exec(expr)?.[1];
  const res = file.resources.find((r) => r.symbol === named);
  if (res !== undefined) {
    const name = valueAt(file.lx, res.body, 'name');
    if (name !== undefined) return trace(file, name, depth + 1);
  }
  const out = /^([A-Za-z_]\w*)\.outputs\.([A-Za-z_]\w*)$/.exec(expr);
  if (out !== null) {
    const mod = file.modules.find((m) => m.symbol === out[1]);
    if (mod !== undefined) {
      const target = getFile(moduleFile(file, mod));
      const o = target.outputs.find((d) => d.name === out[2]);
      if (o === undefined) return [{ file, expr: `${expr} (no such output in ${rel(target.file)})` }];
      return trace(target, o.value, depth + 1);
    }
  }
  return [{ file, expr }];
}

const showLeaves = (leaves: Leaf[]): string[] => leaves.map((l) => `${rel(l.file.file)}: ${l.expr}`);

/** Where the name of a resource comes from, followed back as far as it goes. */
const nameLeaves = (file: BicepFile, res: ResourceDecl): string[] => showLeaves(trace(file, valueAt(file.lx, res.body, 'name') ?? ''));

/**
 * Does `leaf` read `<symbol>.identity.principalId`, where <symbol> is a Microsoft.Web/sites
 * resource whose name is that of the Function App this template creates (an `existing`
 * reference in another module counts when its name is passed down from the app's own)?
 */
function isFunctionAppIdentity(leaf: Leaf): boolean {
  const m = /^([A-Za-z_]\w*)\.identity!?\.\??principalId$/.exec(leaf.expr);
  const site = leaf.file.resources.find((r) => r.symbol === m?.[1] && r.type === 'Microsoft.Web/sites');
  if (site === undefined) return false;
  const created = bicepFiles.flatMap((f) =>
    f.resources.filter((r) => r.type === 'Microsoft.Web/sites' && !r.existing).map((r) => nameLeaves(f, r)),
  );
  const mine = nameLeaves(leaf.file, site);
  return created.some((names) => names.length > 0 && names.join('\n') === mine.join('\n'));
}

/** Each leaf, labelled with whether it is the Function App's identity: readable in a failure. */
const principalReport = (leaves: Leaf[]): string[] =>
  leaves.map((l) => `${rel(l.file.file)}: ${l.expr} -> ${isFunctionAppIdentity(l) ? 'the Function App identity' : 'NOT the Function App identity'}`);

function resourcesOfType(type: string, opts: { existing?: boolean } = {}): Array<{ file: BicepFile; res: ResourceDecl }> {
  return bicepFiles.flatMap((file) =>
    file.resources
      .filter((r) => r.type.toLowerCase() === type.toLowerCase())
      .filter((r) => opts.existing === undefined || r.existing === opts.existing)
      .map((res) => ({ file, res })),
  );
}

/** Source text of a resource, plus the text of every var it mentions (role ids often live in vars). */
function resourceTextWithVars(file: BicepFile, res: ResourceDecl): string {
  const own = file.lx.text.slice(res.regionStart, res.end);
  const idents = new Set(file.lx.code.slice(res.regionStart, res.end).match(/[A-Za-z_]\w*/g) ?? []);
  const vars = file.vars.filter((v) => idents.has(v.name)).map((v) => v.value);
  return [own, ...vars].join('\n');
}

// ---------------------------------------------------------------------------------------------
// azure.yaml: a tiny reader for the nested maps of scalars it uses (no YAML library here).

function readYamlServices(file: string): Map<string, Map<string, string>> {
  const services = new Map<string, Map<string, string>>();
  let inServices = false;
  let serviceIndent = -1;
  let current: Map<string, string> | undefined;
  let keyIndent = -1;
  for (const raw of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    const line = raw.replace(/\s+#.*$/, '').replace(/^\s*#.*$/, '');
    if (line.trim() === '') continue;
    const indent = line.length - line.trimStart().length;
    const m = /^\s*([\w.-]+)\s*:\s*(.*)$/.exec(line);
    if (indent === 0) {
      inServices = m?.[1] === 'services';
      current = undefined;
      serviceIndent = -1;
      continue;
    }
    if (!inServices || m === null) continue;
    const key = m[1] ?? '';
    const value = (m[2] ?? '').replace(/^['"]|['"]$/g, '');
    if (serviceIndent === -1 || indent === serviceIndent) {
      serviceIndent = indent;
      current = new Map();
      keyIndent = -1;
      services.set(key, current);
    } else if (current !== undefined && (keyIndent === -1 || indent === keyIndent)) {
      keyIndent = indent;
      current.set(key, value);
    }
  }
  return services;
}

// ---------------------------------------------------------------------------------------------
// App settings: the `appSettings: [ { name: '...', value: ... } ]` arrays of every Function App.

interface AppSetting {
  name: string;
  value: string;
  file: BicepFile;
}

function appSettingsOf(file: BicepFile, site: ResourceDecl): AppSetting[] {
  const arrayValue = entriesAt(file.lx, site.body, 'properties.siteConfig')?.find((e) => e.key === 'appSettings');
  if (arrayValue === undefined) return [];
  const open = file.lx.code.indexOf('[', file.lx.code.indexOf(':', arrayValue.start));
  return arrayObjects(file.lx, open).map((obj) => {
    const name = /^'([^'$]*)'$/.exec(valueAt(file.lx, obj, 'name') ?? '')?.[1];
    if (name === undefined) throw new Error(`${rel(file.file)}: an app setting without a literal name`);
    return { name, value: valueAt(file.lx, obj, 'value') ?? '', file };
  });
}

const sites = resourcesOfType('Microsoft.Web/sites', { existing: false });
const appSettings = sites.flatMap(({ file, res }) => appSettingsOf(file, res));
const settingNamed = (name: string): AppSetting | undefined => appSettings.find((s) => s.name === name);
const settingLeaves = (name: string): string[] => {
  const s = settingNamed(name);
  return s === undefined ? [`(${name} is not set)`] : showLeaves(trace(s.file, s.value));
};

// ---------------------------------------------------------------------------------------------

describe('infra: structural checks (no Bicep compiler or Azure here: not a compile, not a deployment)', () => {
  it('finds the files it checks', () => {
    expect(bicepFiles.map((f) => rel(f.file))).toContain('infra/main.bicep');
    expect(fs.existsSync(path.join(infraDir, 'main.parameters.json'))).toBe(true);
  });

  it('azure.yaml deploys one service, api, as a Function App from the repository root', () => {
    const services = readYamlServices(path.join(repoRoot, 'azure.yaml'));
    expect([...services.keys()]).toEqual(['api']);
    const api = services.get('api');
    expect(api?.get('host')).toBe('function');
    expect(api?.get('language')).toMatch(/^(ts|typescript)$/);
    expect(api?.get('project')).toMatch(/^\.\/?$/);
  });

  it("azure.yaml's remoteBuild agrees with .funcignore (azd refuses a mismatch at deploy time)", () => {
    // azd (Flex Consumption, js/ts): remoteBuild true requires .funcignore to exclude node_modules,
    // remoteBuild false forbids it; unset follows .funcignore.
    const remoteBuild = readYamlServices(path.join(repoRoot, 'azure.yaml')).get('api')?.get('remoteBuild');
    const funcignore = path.join(repoRoot, '.funcignore');
    if (remoteBuild === undefined || !fs.existsSync(funcignore)) return;
    const excludesNodeModules = fs
      .readFileSync(funcignore, 'utf8')
      .split(/\r?\n/)
      .some((line) => /^\/?node_modules(\/(\*\*)?)?\s*$/.test(line.trim()));
    expect({ remoteBuild, funcignoreExcludesNodeModules: excludesNodeModules }).toEqual({
      remoteBuild: String(excludesNodeModules),
      funcignoreExcludesNodeModules: excludesNodeModules,
    });
  });

  it('uses no registry modules (br:, br/public:, ts:): everything is plain Bicep in this repository', () => {
    const problems: string[] = [];
    for (const f of bicepFiles) {
      for (const mod of f.modules) {
        if (/^(br[:/]|ts[:/])/.test(mod.source)) problems.push(`${rel(f.file)}: module ${mod.symbol} from '${mod.source}'`);
      }
      for (const m of f.lx.text.matchAll(/'(br\/public:|br:|ts:)[^']*'/g)) problems.push(`${rel(f.file)}: ${m[0]}`);
    }
    const bicepConfig = path.join(infraDir, 'bicepconfig.json');
    if (fs.existsSync(bicepConfig) && /moduleAliases/.test(fs.readFileSync(bicepConfig, 'utf8'))) {
      problems.push('infra/bicepconfig.json declares module aliases');
    }
    expect(problems).toEqual([]);
  });

  it('every file is balanced: brackets pair up and strings close (comments and string contents aside)', () => {
    const problems: string[] = [];
    for (const f of bicepFiles) {
      const { code } = f.lx;
      const line = (offset: number): number => code.slice(0, offset).split('\n').length;
      const open: Array<{ ch: string; at: number }> = [];
      for (let i = 0; i < code.length; i += 1) {
        const ch = code.charAt(i);
        if (OPEN.includes(ch)) open.push({ ch, at: i });
        else if (CLOSE.includes(ch)) {
          const top = open.pop();
          if (top === undefined || OPEN.indexOf(top.ch) !== CLOSE.indexOf(ch)) {
            problems.push(`${rel(f.file)}:${line(i)}: '${ch}' closes ${top === undefined ? 'nothing' : `'${top.ch}' of line ${line(top.at)}`}`);
            break;
          }
        }
      }
      for (const o of open) problems.push(`${rel(f.file)}:${line(o.at)}: '${o.ch}' is never closed`);
      if ((code.match(/'/g)?.length ?? 0) % 2 !== 0) problems.push(`${rel(f.file)}: a string is never closed`);
    }
    expect(problems).toEqual([]);
  });

  it('every param is used in its own file (beyond its declaration)', () => {
    const problems: string[] = [];
    for (const f of bicepFiles) {
      for (const p of f.params) {
        const uses = [...f.lx.code.matchAll(new RegExp(`\\b${p.name}\\b`, 'g'))].filter((m) => {
          if (m.index === p.nameOffset) return false; // the declaration itself
          const before = f.lx.code.slice(Math.max(0, m.index - 200), m.index);
          const after = f.lx.code.slice(m.index + p.name.length, m.index + p.name.length + 10);
          if (/\.\s*$/.test(before)) return false; // a property access: x.name
          if (/(^|\n|[{,])[ \t]*$/.test(before) && /^\s*:(?!:)/.test(after)) return false; // an object key
          return true;
        });
        if (uses.length === 0) problems.push(`${rel(f.file)}: param ${p.name} is declared but never used`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every module call resolves to a file here, passes only params it declares, and all required ones', () => {
    const problems: string[] = [];
    for (const f of bicepFiles) {
      for (const mod of f.modules) {
        const target = moduleFile(f, mod);
        const where = `${rel(f.file)}: module ${mod.symbol} ('${mod.source}')`;
        const callee = byFile.get(target);
        if (callee === undefined) {
          problems.push(`${where}: no such Bicep file under infra/`);
          continue;
        }
        const passed = moduleParams(f, mod).map((e) => e.key);
        const declared = new Set(callee.params.map((p) => p.name));
        for (const name of passed) if (!declared.has(name)) problems.push(`${where}: passes '${name}', which ${rel(target)} does not declare`);
        for (const p of callee.params) {
          if (!p.hasDefault && !passed.includes(p.name)) problems.push(`${where}: does not pass required param '${p.name}'`);
        }
        const outputsUsed = new Set(
          [...f.lx.code.matchAll(new RegExp(`\\b${mod.symbol}\\.outputs\\.([A-Za-z_]\\w*)`, 'g'))].map((m) => m[1] ?? ''),
        );
        for (const o of outputsUsed) {
          if (!callee.outputs.some((d) => d.name === o)) problems.push(`${where}: reads output '${o}', which ${rel(target)} does not declare`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('main.bicep follows azd conventions: scope, parameters, tags, outputs', () => {
    const main = getFile(mainBicepPath);
    expect(['subscription', 'resourceGroup', undefined]).toContain(main.targetScope);
    const param = (name: string): ParamDecl | undefined => main.params.find((p) => p.name === name);
    for (const name of ['environmentName', 'location', 'entraTenantIds', 'entraAudience', 'entraAuthority', 'cosmosDatabaseName']) {
      expect({ name, type: param(name)?.type }).toEqual({ name, type: 'string' });
    }
    expect(param('entraAuthority')?.defaultValue).toBe("'https://login.microsoftonline.com'");
    expect(param('cosmosDatabaseName')?.defaultValue).toBe("'membership'");
    expect(param('environmentName')?.hasDefault).toBe(false);
    expect(main.lx.text).toMatch(/'azd-env-name'\s*:\s*environmentName\b/);

    const outputs = main.outputs.map((o) => o.name);
    expect(outputs).toEqual(expect.arrayContaining(['AZURE_LOCATION', 'AZURE_TENANT_ID', 'API_BASE_URL', 'COSMOS_ENDPOINT', 'COSMOS_DATABASE']));
    const output = (name: string): string[] => {
      const o = main.outputs.find((d) => d.name === name);
      return o === undefined ? [] : trace(main, o.value).map((l) => l.expr);
    };
    expect(output('API_BASE_URL')).toEqual([expect.stringMatching(/^'https:\/\/\$\{[^}]+\}'$/)]);
    expect(main.outputs.find((o) => o.name === 'API_BASE_URL')?.value).toMatch(/defaultHostName/);
    expect(output('COSMOS_ENDPOINT')).toEqual([expect.stringMatching(/\.properties\.documentEndpoint$/)]);
  });

  it('main.parameters.json only sets parameters main.bicep declares, and supplies the required ones via azd', () => {
    const json: unknown = JSON.parse(fs.readFileSync(path.join(infraDir, 'main.parameters.json'), 'utf8'));
    const parameters = (json as { parameters?: Record<string, { value?: unknown }> }).parameters ?? {};
    const main = getFile(mainBicepPath);
    const declared = main.params.map((p) => p.name);
    const supplied = Object.keys(parameters);
    expect(supplied.filter((name) => !declared.includes(name))).toEqual([]);
    expect(main.params.filter((p) => !p.hasDefault && !supplied.includes(p.name)).map((p) => p.name)).toEqual([]);
    const value = (name: string): unknown => parameters[name]?.value;
    expect(value('environmentName')).toBe('${AZURE_ENV_NAME}');
    expect(value('location')).toBe('${AZURE_LOCATION}');
    expect(value('entraTenantIds')).toBe('${ENTRA_TENANT_ID}');
    expect(value('entraAudience')).toBe('${ENTRA_AUDIENCE}');
  });

  it('the Function App runs on Flex Consumption (node 20) with a system identity, HTTPS only, tagged for azd', () => {
    const plans = resourcesOfType('Microsoft.Web/serverfarms', { existing: false });
    expect(plans).toHaveLength(1);
    const [plan] = plans;
    if (plan === undefined) return;
    expect(valueAt(plan.file.lx, plan.res.body, 'sku.name')).toBe("'FC1'");
    expect(valueAt(plan.file.lx, plan.res.body, 'sku.tier')).toBe("'FlexConsumption'");

    expect(sites).toHaveLength(1);
    const [site] = sites;
    if (site === undefined) return;
    const at = (dotted: string): string | undefined => valueAt(site.file.lx, site.res.body, dotted);
    expect(at('kind')).toBe("'functionapp,linux'");
    expect(at('identity.type')).toBe("'SystemAssigned'");
    expect(at('properties.httpsOnly')).toBe('true');
    expect(at('properties.serverFarmId')).toBe(`${plan.res.symbol}.id`);
    expect(at('properties.functionAppConfig.runtime.name')).toBe("'node'");
    expect(trace(site.file, at('properties.functionAppConfig.runtime.version') ?? '').map((l) => l.expr)).toEqual(["'20'"]);
    expect(at('properties.functionAppConfig.deployment.storage.type')).toBe("'blobContainer'");
    expect(at('properties.functionAppConfig.deployment.storage.authentication.type')).toBe("'SystemAssignedIdentity'");
    expect(entriesAt(site.file.lx, site.res.body, 'properties.functionAppConfig.scaleAndConcurrency')?.map((e) => e.key)).toEqual(
      expect.arrayContaining(['instanceMemoryMB', 'maximumInstanceCount']),
    );
    const service = [...readYamlServices(path.join(repoRoot, 'azure.yaml')).keys()][0];
    expect(at('tags')).toMatch(new RegExp(`'azd-service-name'\\s*:\\s*'${service ?? 'api'}'`));
  });

  it('sets every app setting the code reads (src/config/settings.ts), with two deliberate exceptions', () => {
    // The two names the code reads that Azure deliberately does not set as such:
    // - COSMOS_KEY: absent on purpose. In Azure the app reaches Cosmos DB with its managed identity
    //   (SPEC.md section 5: "COSMOS_KEY (absent: managed identity)"), and the account has local
    //   (key) auth disabled, so a key could not work anyway. It must NOT be set.
    // - AzureWebJobsStorage: the Functions host also accepts the identity-based form
    //   AzureWebJobsStorage__accountName (+ __credential=managedidentity); a connection string
    //   would need the shared keys the storage account refuses.
    const mustBeAbsent = new Set(['COSMOS_KEY']);
    const satisfiedBy = new Map([['AzureWebJobsStorage', 'AzureWebJobsStorage__accountName']]);

    const names = appSettings.map((s) => s.name);
    const missing = [...appSettingNames]
      .filter((name) => !mustBeAbsent.has(name))
      .map((name) => satisfiedBy.get(name) ?? name)
      .filter((name) => !names.includes(name));
    expect(missing).toEqual([]);

    // Not allowed on Flex Consumption (the runtime is in functionAppConfig; content is in blob
    // storage), or secrets this design does without.
    const forbidden = [
      ...mustBeAbsent,
      ...satisfiedBy.keys(),
      'FUNCTIONS_WORKER_RUNTIME',
      'WEBSITE_NODE_DEFAULT_VERSION',
      'FUNCTIONS_EXTENSION_VERSION',
      'WEBSITE_RUN_FROM_PACKAGE',
      'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
      'WEBSITE_CONTENTSHARE',
      'APPINSIGHTS_INSTRUMENTATIONKEY',
    ];
    expect(names.filter((n) => forbidden.includes(n))).toEqual([]);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]); // no duplicates

    expect(settingNamed('AzureWebJobsStorage__credential')?.value).toBe("'managedidentity'");
    // ...and names the storage account this template creates.
    const accounts = resourcesOfType('Microsoft.Storage/storageAccounts', { existing: false });
    const accountNames = accounts.flatMap(({ file, res }) => showLeaves(trace(file, valueAt(file.lx, res.body, 'name') ?? '')));
    expect(settingLeaves('AzureWebJobsStorage__accountName')).toEqual(accountNames);
    expect(accountNames).toHaveLength(1);
  });

  it('wires each app setting to the right source', () => {
    expect(settingLeaves('ENTRA_AUTHORITY')).toEqual(['infra/main.bicep: param entraAuthority']);
    expect(settingLeaves('ENTRA_AUDIENCE')).toEqual(['infra/main.bicep: param entraAudience']);
    // Either the param itself or an expression over it (e.g. defaulting to the deploying tenant).
    expect(settingLeaves('ENTRA_TENANT_ID')).toEqual([expect.stringMatching(/^infra\/main\.bicep: .*\bentraTenantIds\b/)]);
    expect(settingLeaves('COSMOS_ENDPOINT')).toEqual([expect.stringMatching(/\.properties\.documentEndpoint$/)]);
    expect(settingLeaves('COSMOS_DATABASE')).toEqual(['infra/main.bicep: param cosmosDatabaseName']);
    expect(settingLeaves('APPLICATIONINSIGHTS_CONNECTION_STRING')).toEqual([expect.stringMatching(/\.properties\.ConnectionString$/)]);
  });

  it('host storage refuses shared keys; the app identity holds the blob, queue and table data roles', () => {
    const accounts = resourcesOfType('Microsoft.Storage/storageAccounts', { existing: false });
    expect(accounts).toHaveLength(1);
    for (const { file, res } of accounts) {
      expect(valueAt(file.lx, res.body, 'properties.allowSharedKeyAccess')).toBe('false');
      expect(valueAt(file.lx, res.body, 'properties.minimumTlsVersion')).toBe("'TLS1_2'");
    }
    const required = {
      'Storage Blob Data Owner': 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
      'Storage Queue Data Contributor': '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
      'Storage Table Data Contributor': '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
    };
    const assignments = resourcesOfType('Microsoft.Authorization/roleAssignments', { existing: false }).filter(({ file, res }) => {
      const scope = valueAt(file.lx, res.body, 'scope') ?? '';
      const principal = valueAt(file.lx, res.body, 'properties.principalId') ?? '';
      return (
        file.resources.some((r) => r.symbol === scope.replace(/\.id$/, '') && r.type === 'Microsoft.Storage/storageAccounts') &&
        trace(file, principal).every(isFunctionAppIdentity)
      );
    });
    const granted = assignments.map(({ file, res }) => resourceTextWithVars(file, res)).join('\n');
    const missing = Object.entries(required).filter(([, id]) => !granted.includes(id)).map(([name]) => name);
    expect(missing).toEqual([]);
  });

  it('Cosmos DB is NoSQL, serverless, key auth off, TLS 1.2, Session; containers directory and memberships on /pk', () => {
    const accounts = resourcesOfType('Microsoft.DocumentDB/databaseAccounts', { existing: false });
    expect(accounts).toHaveLength(1);
    const [acct] = accounts;
    if (acct === undefined) return;
    const at = (dotted: string): string | undefined => valueAt(acct.file.lx, acct.res.body, dotted);
    expect(at('kind')).toBe("'GlobalDocumentDB'");
    expect(at('properties.disableLocalAuth')).toBe('true');
    expect(at('properties.minimalTlsVersion')).toBe("'Tls12'");
    expect(at('properties.consistencyPolicy.defaultConsistencyLevel')).toBe("'Session'");
    expect(at('properties.capabilities')).toMatch(/name\s*:\s*'EnableServerless'/);

    const databases = resourcesOfType('Microsoft.DocumentDB/databaseAccounts/sqlDatabases', { existing: false });
    expect(databases).toHaveLength(1);
    const [db] = databases;
    if (db === undefined) return;
    expect(showLeaves(trace(db.file, valueAt(db.file.lx, db.res.body, 'name') ?? ''))).toEqual(['infra/main.bicep: param cosmosDatabaseName']);

    const containers = resourcesOfType('Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers', { existing: false });
    const names = containers.flatMap(({ file, res }) => [...resourceTextWithVars(file, res).matchAll(/'(directory|memberships)'/g)].map((m) => m[1]));
    expect([...new Set(names)].sort((a, b) => String(a).localeCompare(String(b)))).toEqual(['directory', 'memberships']);
    for (const { file, res } of containers) {
      const pk = (key: string): string | undefined => valueAt(file.lx, res.body, `properties.resource.partitionKey.${key}`);
      expect({ paths: pk('paths')?.replace(/\s+/g, ''), kind: pk('kind'), version: pk('version') }).toEqual({
        paths: "['/pk']",
        kind: "'Hash'",
        version: '2',
      });
    }
  });

  it('grants the Function App identity the Cosmos DB Built-in Data Contributor role on the account', () => {
    const assignments = resourcesOfType('Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments', { existing: false });
    expect(assignments).toHaveLength(1);
    const [ra] = assignments;
    if (ra === undefined) return;
    const at = (dotted: string): string => valueAt(ra.file.lx, ra.res.body, dotted) ?? '';
    const accountSymbols = ra.file.resources.filter((r) => r.type === 'Microsoft.DocumentDB/databaseAccounts').map((r) => r.symbol);

    const roleLeaves = trace(ra.file, at('properties.roleDefinitionId')).map((l) => l.expr);
    expect(roleLeaves).toEqual([expect.stringMatching(/\/sqlRoleDefinitions\/00000000-0000-0000-0000-000000000002'$/)]);

    expect(principalReport(trace(ra.file, at('properties.principalId')))).toEqual([
      expect.stringMatching(/\.identity!?\.\??principalId -> the Function App identity$/),
    ]);

    const scope = at('properties.scope');
    expect(accountSymbols.map((s) => `${s}.id`)).toContain(scope);
  });

  it('Application Insights is workspace-based', () => {
    const components = resourcesOfType('Microsoft.Insights/components', { existing: false });
    expect(components).toHaveLength(1);
    const [c] = components;
    if (c === undefined) return;
    const ws = valueAt(c.file.lx, c.res.body, 'properties.WorkspaceResourceId') ?? '';
    const workspaces = c.file.resources.filter((r) => r.type === 'Microsoft.OperationalInsights/workspaces').map((r) => `${r.symbol}.id`);
    expect(workspaces).toContain(ws);
  });
});
