import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { httpFunctions } from '../../functions/catalog';
import { connectorFiles } from './connector';

/** The repository root: the nearest folder above this file (in src/ or dist/src/) with a package.json. */
export function repositoryRoot(from: string = __dirname): string {
  for (let folder = from; ; folder = path.dirname(folder)) {
    if (existsSync(path.join(folder, 'package.json'))) return folder;
    if (path.dirname(folder) === folder) throw new Error(`No package.json above ${from}.`);
  }
}

export const connectorFolder = (root: string = repositoryRoot()): string => path.join(root, 'connector');

/** `npm run connector`: rewrites connector/ from the routes and schemas; the same input gives the same bytes. */
function main(): void {
  const folder = connectorFolder();
  mkdirSync(folder, { recursive: true });
  for (const [name, text] of Object.entries(connectorFiles(httpFunctions))) {
    writeFileSync(path.join(folder, name), text);
    console.log(`wrote ${path.relative(process.cwd(), path.join(folder, name)) || name}`);
  }
}

if (require.main === module) main();
