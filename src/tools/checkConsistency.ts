/**
 * npm run check-consistency [-- --repair] [--tenant <tid>] [--grace-ms <n>]
 *
 * Checks that the two sides of every membership edge agree, against any Cosmos DB account:
 * COSMOS_ENDPOINT, COSMOS_KEY (absent: DefaultAzureCredential, as the app itself does) and
 * COSMOS_DATABASE (default `membership`). No ENTRA_* setting is needed. An edge is a group-side
 * document (kind 'member', partition `{tid}|group|{G}`, id M) and a member-side document (kind
 * 'memberOf', partition `{tid}|member|{M}`, id G); see src/membership/edges.ts. The group side is
 * the truth: a group side without its member side is "missing", a member side without its group
 * side is an "orphan". `--repair` runs the reconciler first (the timer's job, with its grace
 * period for member sides that an add in flight may still be backing, unless --grace-ms says
 * otherwise). It also looks for cycles of nested groups (group sides whose member is a group),
 * which the service must never let form (issue 8, item 4), and lists the groups of each. It
 * verifies the nested-group closure against the edges too, and `--repair` rewrites what differs.
 * It also looks for users and groups without their anchors (src/tools/anchorBackfill.ts), which
 * `--repair` writes.
 * Prints the counts; exits 1 when inconsistent or cyclic, 2 when it could not run.
 */
import type { Container } from '@azure/cosmos';
import type { ServiceSettings } from '../config/settings';
import { checkClosure } from '../membership/closureCheck';
import { groupSidePartition, memberSidePartition } from '../membership/edges';
import { reconcileMemberships, type ReconcileReport } from '../membership/reconciler';
import { createCosmosStore } from '../store/cosmosStore';
import { findObjectsWithoutAnchors, writeMissingAnchors } from './anchorBackfill';

/** One side of an edge, as the checker reports it. */
export interface EdgeSide {
  readonly tenantId: string;
  readonly groupId: string;
  readonly memberId: string;
  /** Where the document is, or would be. */
  readonly pk: string;
  readonly id: string;
}

export interface ConsistencyOptions {
  /** Only this tenant's edges. */
  readonly tenantId?: string;
}

export interface ConsistencyReport {
  /** Group-side documents (kind 'member'): the memberships. */
  readonly groupSides: number;
  /** Member-side documents (kind 'memberOf'): the index. */
  readonly memberSides: number;
  /** Group sides whose member side is absent: where the member-side document should be. */
  readonly missingMemberSides: readonly EdgeSide[];
  /** Member sides that no group side backs: the orphan documents. */
  readonly orphanMemberSides: readonly EdgeSide[];
  /** Documents whose pk or id do not match the edge they describe (never written by the service). */
  readonly malformed: readonly { readonly pk: string; readonly id: string; readonly kind: string; readonly reason: string }[];
  /** Cycles of nested groups, each as its tenant and the groups around it (first one repeated at the end). */
  readonly cycles: readonly { readonly tenantId: string; readonly groupIds: readonly string[] }[];
  readonly consistent: boolean;
}

interface EdgeRow {
  readonly id: string;
  readonly pk: string;
  readonly kind: string;
  readonly tenantId: string;
  readonly groupId: string;
  readonly objectId: string;
  readonly farType?: string;
}

const edgeKey = (tenantId: string, groupId: string, memberId: string) => `${tenantId}|${groupId}|${memberId}`;

async function readSides(memberships: Container, kind: 'member' | 'memberOf', tenantId: string | undefined): Promise<EdgeRow[]> {
  const parameters: { name: string; value: string }[] = [{ name: '@kind', value: kind }];
  let query = 'SELECT c.id, c.pk, c.kind, c.tenantId, c.groupId, c.objectId, c.farType FROM c WHERE c.kind = @kind';
  if (tenantId !== undefined) {
    query += ' AND c.tenantId = @tenantId';
    parameters.push({ name: '@tenantId', value: tenantId });
  }
  const rows: EdgeRow[] = [];
  // Paged rather than fetchAll: bounded memory per round trip on a large account.
  const iterator = memberships.items.query<EdgeRow>({ query, parameters }, { maxItemCount: 1000 });
  while (iterator.hasMoreResults()) {
    const { resources } = await iterator.fetchNext();
    rows.push(...resources);
  }
  return rows;
}

/**
 * Compares the two sides of every membership edge (two cross-partition queries, projected to the
 * routing fields). Read-only.
 */
export async function checkMembershipConsistency(memberships: Container, options: ConsistencyOptions = {}): Promise<ConsistencyReport> {
  const [groupRows, memberRows] = await Promise.all([readSides(memberships, 'member', options.tenantId), readSides(memberships, 'memberOf', options.tenantId)]);
  const malformed: { pk: string; id: string; kind: string; reason: string }[] = [];

  const groupSides = new Map<string, EdgeRow>();
  for (const row of groupRows) {
    if (row.pk !== groupSidePartition(row.tenantId, row.groupId) || row.id !== row.objectId) {
      malformed.push({ pk: row.pk, id: row.id, kind: row.kind, reason: `expected pk ${groupSidePartition(row.tenantId, row.groupId)} and id ${row.objectId}` });
      continue;
    }
    groupSides.set(edgeKey(row.tenantId, row.groupId, row.objectId), row);
  }
  const memberSides = new Map<string, EdgeRow>();
  for (const row of memberRows) {
    if (row.pk !== memberSidePartition(row.tenantId, row.objectId) || row.id !== row.groupId) {
      malformed.push({ pk: row.pk, id: row.id, kind: row.kind, reason: `expected pk ${memberSidePartition(row.tenantId, row.objectId)} and id ${row.groupId}` });
      continue;
    }
    memberSides.set(edgeKey(row.tenantId, row.groupId, row.objectId), row);
  }

  const missingMemberSides: EdgeSide[] = [];
  for (const [key, row] of groupSides) {
    if (!memberSides.has(key)) {
      missingMemberSides.push({ tenantId: row.tenantId, groupId: row.groupId, memberId: row.objectId, pk: memberSidePartition(row.tenantId, row.objectId), id: row.groupId });
    }
  }
  const orphanMemberSides: EdgeSide[] = [];
  for (const [key, row] of memberSides) {
    if (!groupSides.has(key)) orphanMemberSides.push({ tenantId: row.tenantId, groupId: row.groupId, memberId: row.objectId, pk: row.pk, id: row.id });
  }
  const cycles = findCycles([...groupSides.values()].filter((row) => row.farType === 'group'));
  return {
    groupSides: groupRows.length,
    memberSides: memberRows.length,
    missingMemberSides,
    orphanMemberSides,
    malformed,
    cycles,
    consistent: missingMemberSides.length === 0 && orphanMemberSides.length === 0 && malformed.length === 0 && cycles.length === 0,
  };
}

/**
 * Cycles among nesting edges (group contains group), per tenant: an iterative depth-first search
 * (a recursive one would overflow the stack on the deep chains the service must refuse), one
 * cycle reported per back edge found, at most `maxCycles`.
 */
export function findCycles(nestings: readonly Pick<EdgeRow, 'tenantId' | 'groupId' | 'objectId'>[], maxCycles = 100): { tenantId: string; groupIds: string[] }[] {
  const children = new Map<string, string[]>();
  const node = (tenantId: string, groupId: string) => `${tenantId}|${groupId}`;
  for (const row of nestings) {
    const parent = node(row.tenantId, row.groupId);
    children.set(parent, [...(children.get(parent) ?? []), node(row.tenantId, row.objectId)]);
  }
  const state = new Map<string, 'open' | 'done'>();
  const cycles: { tenantId: string; groupIds: string[] }[] = [];
  for (const root of children.keys()) {
    if (state.has(root)) continue;
    const path: string[] = [root];
    const cursor: number[] = [0];
    state.set(root, 'open');
    while (path.length > 0 && cycles.length < maxCycles) {
      const current = path[path.length - 1]!;
      const next = (children.get(current) ?? [])[cursor[cursor.length - 1]!];
      if (next === undefined) {
        state.set(current, 'done');
        path.pop();
        cursor.pop();
        continue;
      }
      cursor[cursor.length - 1]! += 1;
      const seen = state.get(next);
      if (seen === 'open') {
        const around = [...path.slice(path.indexOf(next)), next];
        cycles.push({ tenantId: next.slice(0, next.indexOf('|')), groupIds: around.map((entry) => entry.slice(entry.indexOf('|') + 1)) });
      } else if (seen === undefined) {
        state.set(next, 'open');
        path.push(next);
        cursor.push(0);
      }
    }
  }
  return cycles;
}

/** Store settings from the environment; ENTRA_* are not read (the checker validates no tokens). */
export function readStoreSettings(env: NodeJS.ProcessEnv = process.env): ServiceSettings {
  const cosmosEndpoint = env.COSMOS_ENDPOINT ?? '';
  if (cosmosEndpoint === '') throw new Error('COSMOS_ENDPOINT is not set.');
  return {
    entraAuthority: '',
    entraTenantIds: [],
    entraAudiences: [],
    cosmosEndpoint,
    cosmosKey: env.COSMOS_KEY === '' ? undefined : env.COSMOS_KEY,
    cosmosDatabase: env.COSMOS_DATABASE || 'membership',
  };
}

interface CliOptions {
  readonly repair: boolean;
  readonly tenantId?: string;
  readonly graceInMs?: number;
}

function valueOf(args: readonly string[], index: number, name: string): string {
  const value = args[index];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value.`);
  return value;
}

function parseArguments(args: readonly string[]): CliOptions {
  let repair = false;
  let tenantId: string | undefined;
  let graceInMs: number | undefined;
  for (let index = 0; index < args.length; index += 1) {
    const argument = args[index];
    if (argument === '--repair') repair = true;
    else if (argument === '--tenant') tenantId = valueOf(args, ++index, argument);
    else if (argument === '--grace-ms') graceInMs = Number(valueOf(args, ++index, argument));
    else if (argument === '--help' || argument === '-h') {
      console.log('usage: check-consistency [--repair] [--tenant <tid>] [--grace-ms <ms>]   (env: COSMOS_ENDPOINT, COSMOS_KEY, COSMOS_DATABASE)');
      process.exit(0);
    } else throw new Error(`Unknown argument '${argument}'.`);
  }
  if (graceInMs !== undefined && !(Number.isInteger(graceInMs) && graceInMs >= 0)) throw new Error('--grace-ms needs a whole number of milliseconds.');
  return { repair, ...(tenantId === undefined ? {} : { tenantId }), ...(graceInMs === undefined ? {} : { graceInMs }) };
}

const listed = 20;

function printSides(title: string, sides: readonly EdgeSide[]): void {
  console.log(`${title}: ${sides.length}`);
  for (const side of sides.slice(0, listed)) console.log(`  tenant ${side.tenantId} group ${side.groupId} member ${side.memberId} (pk ${side.pk}, id ${side.id})`);
  if (sides.length > listed) console.log(`  … and ${sides.length - listed} more`);
}

async function main(): Promise<number> {
  const options = parseArguments(process.argv.slice(2));
  const settings = readStoreSettings();
  const store = await createCosmosStore(settings);
  try {
    console.log(`database ${settings.cosmosDatabase} at ${new URL(settings.cosmosEndpoint).host}${options.tenantId === undefined ? '' : `, tenant ${options.tenantId}`}`);
    if (options.repair) {
      const report: ReconcileReport = await reconcileMemberships(store.memberships, store.directory, options.graceInMs === undefined ? {} : { graceInMs: options.graceInMs });
      console.log(`repair: ${report.repaired} member sides written, ${report.removed} orphan member sides removed, ${report.abandoned} edges of groups that do not exist removed`);
    }
    const report = await checkMembershipConsistency(store.memberships, options.tenantId === undefined ? {} : { tenantId: options.tenantId });
    console.log(`group sides: ${report.groupSides}`);
    console.log(`member sides: ${report.memberSides}`);
    printSides('missing member sides', report.missingMemberSides);
    printSides('orphan member sides', report.orphanMemberSides);
    if (report.malformed.length > 0) {
      console.log(`malformed edge documents: ${report.malformed.length}`);
      for (const entry of report.malformed.slice(0, listed)) console.log(`  ${entry.kind} pk ${entry.pk} id ${entry.id}: ${entry.reason}`);
    }
    console.log(`cycles of nested groups: ${report.cycles.length}`);
    for (const cycle of report.cycles.slice(0, listed)) console.log(`  tenant ${cycle.tenantId}: ${cycle.groupIds.join(' contains ')}`);
    // The nested-group closure (src/membership/closureCheck.ts): verified, and with --repair set to the edges' closure.
    const closure = await checkClosure(store.memberships, { ...(options.tenantId === undefined ? {} : { tenantId: options.tenantId }), repair: options.repair });
    console.log(`closure documents: ${closure.documents}, differing from the edges: ${closure.mismatches.length}${options.repair ? `, repaired: ${closure.repaired}` : ''}`);
    for (const entry of closure.mismatches.slice(0, listed)) console.log(`  tenant ${entry.tenantId} group ${entry.groupId} ${entry.side}: ${entry.stored} stored, ${entry.expected} expected`);
    const closureConsistent = closure.mismatches.length === closure.repaired;
    let anchors = await findObjectsWithoutAnchors(store.directory, store.memberships, options.tenantId);
    if (options.repair && anchors.withoutAnchors.length > 0) {
      const repair = await writeMissingAnchors(store.directory, store.memberships, anchors.withoutAnchors);
      console.log(`repair: ${repair.written} anchors written, ${repair.takenBack} objects changed meanwhile (their anchors taken back)`);
      anchors = await findObjectsWithoutAnchors(store.directory, store.memberships, options.tenantId);
    }
    console.log(`users and groups: ${anchors.objects}, without their anchors: ${anchors.withoutAnchors.length}`);
    for (const object of anchors.withoutAnchors.slice(0, listed)) {
      console.log(`  tenant ${object.tenantId} ${object.objectType} ${object.objectId} version ${object.version}: ${object.missing.map((anchor) => anchor.id).join(', ')}`);
    }
    const consistent = report.consistent && closureConsistent && anchors.withoutAnchors.length === 0;
    console.log(consistent ? 'consistency: PASS' : 'consistency: FAIL');
    return consistent ? 0 : 1;
  } finally {
    store.client.dispose();
  }
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 2;
    },
  );
}
