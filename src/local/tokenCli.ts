import { parseArgs } from 'node:util';
import { demoIds } from './demoData';
import { DevIssuer } from './devIssuer';
import { readDevIssuerState } from './localSettings';

const usage = `Prints an access token from the development issuer that \`npm start\` runs.

  npm run token                                   Adele (demo user) with GroupMember.ReadWrite.All
  npm run token -- --user <id> --scopes "GroupMember.ReadWrite.All" [--wids <roleId,...>]
  npm run token -- --app --roles "Directory.ReadWrite.All"
  options: --tenant <id>  --audience <aud>  --v1  --minutes <n>`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      user: { type: 'string' },
      scopes: { type: 'string' },
      wids: { type: 'string' },
      app: { type: 'boolean' },
      roles: { type: 'string' },
      tenant: { type: 'string' },
      audience: { type: 'string' },
      v1: { type: 'boolean' },
      minutes: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    console.log(usage);
    return;
  }
  const state = await readDevIssuerState();
  if (state?.key === undefined) throw new Error('No development issuer yet: run `npm start` first (it creates .local/dev-issuer.json).');
  // The token names the issuer `npm start` serves; signing needs only the stored key.
  const issuer = new DevIssuer(state.authority);
  await issuer.addKey(state.key);
  const list = (text: string | undefined, fallback: string[]) => (text === undefined ? fallback : text.split(/[ ,]+/).filter((item) => item.length > 0));
  const token = await issuer.signToken({
    tenantId: values.tenant ?? state.tenantId,
    audience: values.audience ?? state.audience,
    version: values.v1 === true ? 'v1' : 'v2',
    lifetimeInSeconds: Number(values.minutes ?? 60) * 60,
    ...(values.app === true
      ? { app: { roles: list(values.roles, ['GroupMember.ReadWrite.All']) } }
      : { user: { id: values.user ?? demoIds.adele, scopes: list(values.scopes, ['GroupMember.ReadWrite.All', 'Group.Read.All', 'User.Read.All']), roleIds: list(values.wids, []) } }),
  });
  process.stdout.write(`${token}\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
