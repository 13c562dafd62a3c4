/**
 * What the store holds after a phase, against what the answers promised (the EdgeModel), and the
 * consistency of the two sides of every edge (src/tools/checkConsistency).
 */
import type { Container } from '@azure/cosmos';
import { reconcileMemberships, type ReconcileReport } from '../../src/membership/reconciler';
import { finishPendingNestings } from '../../src/membership/closureJournal';
import { repositoriesOver } from '../../src/store/repositories';
import { checkMembershipConsistency, type ConsistencyReport } from '../../src/tools/checkConsistency';
import { edgeKey, type EdgeModel } from './model';

export interface StoredEdges {
  /** Edge keys (group|member) with a group-side document. */
  readonly groupSides: ReadonlySet<string>;
  /** Edge keys with a member-side document. */
  readonly memberSides: ReadonlySet<string>;
}

export async function readStoredEdges(memberships: Container, tenantId: string): Promise<StoredEdges> {
  const { resources } = await memberships.items
    .query<{ kind: string; groupId: string; objectId: string }>({
      query: "SELECT c.kind, c.groupId, c.objectId FROM c WHERE c.tenantId = @tenantId AND (c.kind = 'member' OR c.kind = 'memberOf')",
      parameters: [{ name: '@tenantId', value: tenantId }],
    })
    .fetchAll();
  const groupSides = new Set<string>();
  const memberSides = new Set<string>();
  for (const row of resources) (row.kind === 'member' ? groupSides : memberSides).add(edgeKey(row.groupId, row.objectId));
  return { groupSides, memberSides };
}

export interface StoreComparison {
  /** Edges that exist though no add ever asked for them. */
  readonly unrequested: string[];
  /** Edges that exist though the answers said they were absent (removed, or never added). */
  readonly unexpected: string[];
  /** Edges an add answered with success (or a duplicate 400 confirmed), not removed since, that are gone. */
  readonly lost: string[];
  /** Edges whose group and member sides disagree. */
  readonly oneSided: string[];
  /** Edges whose fate no answer settled: either way is right. */
  readonly unknown: number;
  readonly present: number;
}

/** Compares the stored edges of a tenant with the model, in both directions. */
export function compareWithModel(stored: StoredEdges, model: EdgeModel): StoreComparison {
  const unrequested: string[] = [];
  const unexpected: string[] = [];
  const lost: string[] = [];
  const oneSided: string[] = [];
  for (const key of stored.groupSides) {
    if (!model.requested.has(key)) unrequested.push(key);
    else if (model.state(key) === 'absent') unexpected.push(key);
    if (!stored.memberSides.has(key)) oneSided.push(`${key} (no member side)`);
  }
  for (const key of stored.memberSides) if (!stored.groupSides.has(key)) oneSided.push(`${key} (no group side)`);
  for (const key of model.presentKeys()) if (!stored.groupSides.has(key)) lost.push(key);
  return { unrequested, unexpected, lost, oneSided, unknown: model.unknownKeys().length, present: stored.groupSides.size };
}

/** After a check: the edges no answer settled take the state the store shows. */
export function settleUnknown(model: EdgeModel, stored: StoredEdges): number {
  let settled = 0;
  for (const key of model.unknownKeys()) {
    if (model.tainted.has(key)) continue;
    model.set(key, stored.groupSides.has(key) ? 'present' : 'absent');
    settled += 1;
  }
  return settled;
}

export interface PhaseVerification {
  readonly reconcile?: ReconcileReport;
  readonly consistency: ConsistencyReport;
  readonly comparison: StoreComparison;
  /** Every problem found, one line each. */
  readonly problems: string[];
}

const listed = 10;

/**
 * Optionally reconciles (grace 0: nothing is in flight), then runs the consistency checker and
 * compares the store with the model. Settles the model's unknown edges afterwards.
 */
export async function verifyStore(store: { memberships: Container; directory: Container }, tenantId: string, model: EdgeModel, options: { reconcile: boolean }): Promise<PhaseVerification> {
  const reconcile = options.reconcile ? await reconcileMemberships(store.memberships, store.directory, { graceInMs: 0 }) : undefined;
  // The timer's last step (functions/reconcileMemberships.ts): closure updates a fault left pending, finished and settled.
  if (options.reconcile) await finishPendingNestings(repositoriesOver(store).memberships, 0);
  const consistency = await checkMembershipConsistency(store.memberships, { tenantId });
  const stored = await readStoredEdges(store.memberships, tenantId);
  const comparison = compareWithModel(stored, model);
  const problems: string[] = [];
  const report = (title: string, items: readonly string[]) => {
    if (items.length > 0) problems.push(`${title}: ${items.length} (${items.slice(0, listed).join(', ')}${items.length > listed ? ', …' : ''})`);
  };
  report(
    'missing member sides',
    consistency.missingMemberSides.map((side) => edgeKey(side.groupId, side.memberId)),
  );
  report(
    'orphan member sides',
    consistency.orphanMemberSides.map((side) => edgeKey(side.groupId, side.memberId)),
  );
  report(
    'malformed edge documents',
    consistency.malformed.map((entry) => `${entry.pk}/${entry.id}`),
  );
  report('edges no request asked for', comparison.unrequested);
  report('edges present though answers said absent', comparison.unexpected);
  report('edges added with success and not removed, but missing', comparison.lost);
  report('one-sided edges', comparison.oneSided);
  settleUnknown(model, stored);
  return { ...(reconcile === undefined ? {} : { reconcile }), consistency, comparison, problems };
}
