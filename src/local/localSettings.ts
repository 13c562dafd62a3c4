import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { StoredSigningKey } from './devIssuer';

/** The git-ignored folder for local state: the development issuer's key and tenant. */
export const localStateFolder = path.resolve(__dirname, '../../../.local');
const devIssuerFile = path.join(localStateFolder, 'dev-issuer.json');

/** What `npm start` and `npm run token` share about the development issuer. */
export interface DevIssuerState {
  readonly tenantId: string;
  readonly audience: string;
  readonly authority: string;
  readonly key?: StoredSigningKey;
}

export const devAudience = 'api://graph-membership-local';

export async function readDevIssuerState(): Promise<DevIssuerState | undefined> {
  try {
    return JSON.parse(await readFile(devIssuerFile, 'utf8')) as DevIssuerState;
  } catch {
    return undefined;
  }
}

export async function writeDevIssuerState(state: DevIssuerState): Promise<void> {
  await mkdir(localStateFolder, { recursive: true });
  await writeFile(devIssuerFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}
