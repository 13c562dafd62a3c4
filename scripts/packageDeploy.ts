/**
 * npm run package: the deployable Functions app in .deploy/ (what `azd package` zips, see
 * azure.yaml). One esbuild bundle of functions/index.ts with every production dependency inside,
 * host.json, and a package.json whose `main` is the bundle and which declares no dependencies:
 * nothing from node_modules is shipped, so no dev dependency can be.
 *
 * `@azure/functions-core` stays external: it is not an npm package but the API the Node.js worker
 * injects by intercepting require (azure-functions-nodejs-worker src/setupCoreModule.ts); the
 * library's maintainers ask bundlers to treat it as a built-in
 * (https://github.com/Azure/azure-functions-nodejs-library/issues/201). `@azure/functions` itself
 * is bundled: it reaches the worker only through that API, so one copy inside the bundle registers
 * exactly as a copy in node_modules would (test/package checks it through the same API).
 *
 * A package that package-lock.json marks `dev` is never bundled either: it is absent from a
 * production install, so a library that reaches for it does so optionally (debug tries
 * `supports-color`), and the bundle must fail that require as a production install would.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';

const root = path.resolve(__dirname, '../..');
export const defaultOutDir = path.join(root, '.deploy');
/** Where the bundle sits inside the package; the production package.json's `main`. */
export const bundleFile = 'index.js';
/** Provided at run time by the Functions worker, never from node_modules. */
export const workerProvided = ['@azure/functions-core'];

/** package-lock.json's key for the package a resolved file belongs to (its innermost node_modules entry). */
export function lockfileKey(file: string): string | undefined {
  return /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)/.exec(path.relative(root, file).split(path.sep).join('/'))?.[1];
}

export function devOnlyPackages(): ReadonlySet<string> {
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  return new Set(Object.entries(lock.packages).flatMap(([key, entry]) => (entry.dev === true ? [key] : [])));
}

/** Leaves a require of a dev-only package in the bundle, unresolved, instead of inlining it. */
function leaveDevOnlyPackagesOut(devOnly: ReadonlySet<string>): Plugin {
  return {
    name: 'leave-dev-only-packages-out',
    setup(esbuild) {
      esbuild.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === 'inner') return undefined;
        const resolved = await esbuild.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'inner' });
        const key = resolved.errors.length === 0 && !resolved.external ? lockfileKey(resolved.path) : undefined;
        return key !== undefined && devOnly.has(key) ? { path: args.path, external: true } : undefined;
      });
    },
  };
}

/**
 * zod's classic entry re-exports its 64 locales as one namespace (`z.locales`), which a bundler
 * cannot tree-shake once `z` is used as a value: a sixth of the bundle, compiled by every cold
 * worker. The app never selects a locale, and zod registers English itself by importing
 * locales/en.js directly (zod/v4/classic/schemas.js), so the namespace keeps English only.
 */
const englishZodLocaleOnly: Plugin = {
  name: 'english-zod-locale-only',
  setup(esbuild) {
    esbuild.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: 'export { default as en } from "./en.js";',
      resolveDir: path.dirname(args.path),
    }));
  },
};

export interface DeployPackage {
  readonly outDir: string;
  /** Every file of the package, relative to outDir, with its size. */
  readonly files: readonly { readonly path: string; readonly bytes: number }[];
  readonly totalBytes: number;
  /** What went into the bundle (paths relative to the repository root). */
  readonly inputs: readonly string[];
  /** Modules the bundle still requires at run time, other than Node's own. */
  readonly externals: readonly string[];
}

export async function buildDeployPackage(outDir = defaultOutDir): Promise<DeployPackage> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['functions/index.ts'],
    outfile: path.join(outDir, bundleFile),
    bundle: true,
    platform: 'node',
    // The code runs on Node 20 here and on Node 22 in Azure.
    target: 'node20',
    format: 'cjs',
    external: workerProvided,
    // Minified: 1.3 MiB instead of 3.1, and its import was a little faster here (median 64.0 ms
    // against 66.8 over 11 interleaved processes under the worker's loader). keepNames keeps class and function names that libraries copy into error names
    // (jose sets `this.name = this.constructor.name`), so logs stay readable.
    minify: true,
    keepNames: true,
    // A linked map without the sources: small, and stack traces map back to the TypeScript when
    // the worker runs with --enable-source-maps (languageWorkers__node__arguments).
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'eof',
    metafile: true,
    logLevel: 'warning',
    plugins: [leaveDevOnlyPackagesOut(devOnlyPackages()), englishZodLocaleOnly],
  });
  const metafile = result.metafile;
  const output = Object.values(metafile.outputs).find((candidate) => candidate.entryPoint !== undefined)!;
  const externals = [...new Set(output.imports.filter((imported) => imported.external && !isBuiltin(imported.path)).map((imported) => imported.path))].sort();
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string; description?: string };
  const productionManifest = {
    name: manifest.name,
    version: manifest.version,
    private: true,
    description: manifest.description,
    // The worker loads the file(s) `main` names (azure-functions-nodejs-worker src/startApp.ts).
    main: bundleFile,
    dependencies: {},
  };
  writeFileSync(path.join(outDir, 'package.json'), `${JSON.stringify(productionManifest, null, 2)}\n`);
  writeFileSync(path.join(outDir, 'host.json'), readFileSync(path.join(root, 'host.json')));
  const files = listFiles(outDir);
  return { outDir, files, totalBytes: files.reduce((sum, file) => sum + file.bytes, 0), inputs: Object.keys(metafile.inputs), externals };
}

function listFiles(directory: string, prefix = ''): { path: string; bytes: number }[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    const full = path.join(directory, entry.name);
    return entry.isDirectory() ? listFiles(full, relative) : [{ path: relative, bytes: statSync(full).size }];
  });
}

export const formatMiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;

async function main(): Promise<void> {
  const deployPackage = await buildDeployPackage(process.argv[2] === undefined ? defaultOutDir : path.resolve(process.argv[2]));
  const packages = new Set(deployPackage.inputs.map((input) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1]).filter((name) => name !== undefined));
  console.log(
    `${path.relative(process.cwd(), deployPackage.outDir) || '.'}: ${formatMiB(deployPackage.totalBytes)} (${deployPackage.inputs.length} modules from ${packages.size} packages bundled; no node_modules; left to run time: ${deployPackage.externals.join(', ')})`,
  );
  for (const file of deployPackage.files) console.log(`  ${file.path.padEnd(16)} ${formatMiB(file.bytes).padStart(10)}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
