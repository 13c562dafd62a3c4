import type { Container } from '@azure/cosmos';
import { mapWithConcurrency } from '../directory/directoryObjectReads';
import type { ObjectType } from '../directory/directoryObjects';
import { GraphError, graphErrors } from '../http/errors';
import { retryStoreFaults } from '../store/storeFaults';
import { groupSidePartition, memberSidePartition } from './edges';

/**
 * The transitive closure of group nesting (issue 11, item 2), kept up to date on every add and
 * removal of a group-into-group edge, so that "which groups is X in, through any path" and "which
 * groups are under G" are one point read each, whatever the depth.
 *
 * Layout: per group G, two documents in the memberships container, partition `{tid}|closure|{G}`:
 * - id `ancestors`: the ids of every group G is a transitive member of;
 * - id `descendants`: the ids of every group transitively nested under G.
 * One document per group and side, not one per (group, ancestor) pair: a nesting of M into P then
 * rewrites |desc(M)|+1 ancestor documents and |anc(P)|+1 descendant documents (linear), where pair
 * documents would need (|desc(M)|+1) x (|anc(P)|+1) creates (quadratic: 50 ancestors over 50
 * nested groups would be 2,601 writes for one add). A check of 20 ids is one point read of one
 * document, not 20. The price is the document's size: `closureLimits.maxSetSize` ids (~40 bytes
 * each, ~400 KB, under Cosmos DB's 2 MB item limit) at most.
 *
 * Users are not in the closure. A user's groups are its direct groups (its member-side partition,
 * one query) and their `ancestors` documents (point reads, all at once): two rounds, whatever the
 * depth. So adding or removing a user writes nothing here (S1 keeps its two rounds, and user adds,
 * which do not take the nesting guard, cannot race a closure update); only the edges between
 * groups, which are few beside user memberships, cost closure writes.
 *
 * Sets, not path counts: each document is recomputed from its direct neighbours as the edges hold
 * them (ancestors(X) = the union, over X's direct parents p, of {p} and ancestors(p); descendants
 * symmetrically over the group-typed members), so a removal keeps an ancestor still reachable by
 * another path without counting paths: the recomputation finds it through the other parent.
 *
 * Why concurrent writes converge to the closure of the edges (no lock; the nesting guard
 * serializes only the cycle checks, user adds and removals take no guard at all):
 *  1. a recompute of X reads X's document (its etag) BEFORE it reads X's neighbours' documents,
 *     and replaces it If-Match that etag (412: start again): a write based on neighbours read
 *     before someone else's write of X never lands
 *     (https://learn.microsoft.com/azure/cosmos-db/nosql/database-transactions-optimistic-concurrency);
 *  2. whoever changes X's document lists X's neighbours on the other side AFTER the write and
 *     recomputes each, so every document that read X's old value is recomputed after the change;
 *  3. whoever adds or removes an edge recomputes both ends after both sides of the edge are
 *     written, so an edge that a neighbour listing in 2 missed was written after that listing,
 *     hence after X's write, and the edge writer's recompute reads X's new value.
 * When every writer has finished, every document equals the union over its neighbours as they
 * are then, which by induction over the DAG is the closure.
 *
 * A writer cut short (a store fault after its edge write) does not leave the closure lagging
 * silently: the change was entered in the tenant's journal (the nesting guard's `pending` list,
 * nestingGuard.ts) before its edge was written, and is settled only once this update has run to
 * the end. Readers finish what a pending entry affects before answering (closureJournal.ts), and
 * the timer finishes and settles what is left.
 */
export const closurePartition = (tenantId: string, groupId: string): string => `${tenantId}|closure|${groupId}`;

export type ClosureSide = 'ancestors' | 'descendants';

export interface ClosureDocument {
  readonly id: ClosureSide;
  readonly pk: string;
  readonly tenantId: string;
  readonly kind: 'closure';
  readonly groupId: string;
  /** Sorted group ids. */
  readonly ids: readonly string[];
  readonly _etag?: string;
}

/** What one recompute did (ClosureRepository.recompute). */
export interface Recomputed {
  readonly changed: boolean;
  /** The document's version after it (absent: there is no document, an empty set). */
  readonly etag: string | undefined;
  /** The neighbours' documents it was computed from: id -> version (absent: no document). */
  readonly from: ReadonlyMap<string, string | undefined>;
}

/** A side of a group's closure as read, with the version a recompute replaces. */
export interface ClosureSet {
  readonly ids: readonly string[];
  /** Absent when there is no document yet (an empty set). */
  readonly etag?: string;
}

export const closureLimits = {
  /**
   * Closure documents one add or removal of a nesting may rewrite: |desc(M)|+1 ancestor documents
   * plus |anc(P)|+1 descendant documents. Beyond it the change is a 400, before anything is written.
   * Each document costs about 7 store requests to recompute (its read, its neighbours' query, a
   * neighbour's document per direct neighbour, the If-Match write, the query for what it feeds;
   * `npm run bench`, BENCH_ONLY=transitive), so this bounds a nesting change at about 700
   * requests for groups with one direct parent and child each.
   */
  maxDocumentsPerChange: 100,
  /**
   * Store requests of one document's recompute when it has one direct neighbour on the side
   * recomputed (a chain): its read, the neighbours' query (a plan and a page), the neighbour's
   * document, the If-Match write, the query for what it feeds (a plan and a page). Each further
   * direct neighbour adds one point read.
   */
  requestsPerDocument: 7,
  /**
   * Store requests of a nesting add around its closure update, at most, without contention: the
   * journal's query (a plan and a page), the closure's 4 reads (plus one per distinct member of a
   * pending add), the two objects' reads, the edge's two sides (a duplicate is answered before the
   * journal), the guard's commit, the deletion of the marks of up to 4 entries it settled
   * (nestingLimits.marksSweptPerCommit), the two edge batches, and the entry's settled mark.
   */
  requestsAroundUpdate: 19,
  /** Ids one closure document may hold (its size: about 40 bytes an id). */
  maxSetSize: 10_000,
  /** Recomputes in flight at once for one change. */
  concurrency: 16,
  /** Attempts of one recompute against concurrent replaces before the change answers 503. */
  recomputeAttempts: 20,
  /** Tries of one recompute attempt (and of listing what it feeds) against store faults. */
  faultAttemptsPerDocument: 3,
} as const;

export const changeTooLarge = (documents: number) =>
  new GraphError(
    'Request_BadRequest',
    `The nesting change would rewrite the nested-group closure of ${documents} groups (the groups under the member group and the groups above the target group); at most ${closureLimits.maxDocumentsPerChange} are allowed per change.`,
  );
export const setTooLarge = (size: number) =>
  new GraphError('Request_BadRequest', `The nesting would give a group ${size} nested groups above or below it; at most ${closureLimits.maxSetSize} are allowed.`);

function statusOf(error: unknown): unknown {
  return (error as { code?: unknown }).code;
}

const sameIds = (left: readonly string[], right: readonly string[]) => left.length === right.length && left.every((id, index) => id === right[index]);

/** The other side: whose documents a change of this side feeds. */
const otherSide = (side: ClosureSide): ClosureSide => (side === 'ancestors' ? 'descendants' : 'ancestors');

/** The closure documents and their upkeep. Only src/membership writes them. */
export class GroupClosure {
  constructor(private readonly container: Container) {}

  /** One side of a group's closure: one point read (an absent document is the empty set). */
  async read(tenantId: string, groupId: string, side: ClosureSide): Promise<ClosureSet> {
    const { resource } = await this.container.item(side, closurePartition(tenantId, groupId)).read<ClosureDocument>();
    if (resource === undefined) return { ids: [] };
    return { ids: resource.ids ?? [], ...(resource._etag === undefined ? {} : { etag: resource._etag }) };
  }

  /**
   * Direct neighbours from the edges: for 'ancestors', the groups X is a direct member of (its
   * member-side partition); for 'descendants', the groups directly nested in X (its group side,
   * the truth). One query per 1,000.
   */
  async neighbours(tenantId: string, groupId: string, side: ClosureSide): Promise<string[]> {
    const partitionKey = side === 'ancestors' ? memberSidePartition(tenantId, groupId) : groupSidePartition(tenantId, groupId);
    const query =
      side === 'ancestors' ? "SELECT VALUE c.groupId FROM c WHERE c.pk = @pk AND c.kind = 'memberOf'" : "SELECT VALUE c.objectId FROM c WHERE c.pk = @pk AND c.kind = 'member' AND c.farType = 'group'";
    const ids: string[] = [];
    const iterator = this.container.items.query<string>({ query, parameters: [{ name: '@pk', value: partitionKey }] }, { partitionKey, maxItemCount: 1000 });
    while (iterator.hasMoreResults()) {
      const { resources } = await iterator.fetchNext();
      ids.push(...resources);
    }
    return ids;
  }

  /**
   * Every direct member of a group with its snapshot (group side, the truth; one query per 1,000):
   * what transitiveMembers lists (transitive.ts).
   */
  async directMembers(tenantId: string, groupId: string): Promise<{ readonly objectId: string; readonly farType: ObjectType; readonly far: Readonly<Record<string, unknown>> }[]> {
    const partitionKey = groupSidePartition(tenantId, groupId);
    const rows: { objectId: string; farType: ObjectType; far: Record<string, unknown> }[] = [];
    const iterator = this.container.items.query<{ objectId: string; farType: ObjectType; far: Record<string, unknown> }>(
      { query: "SELECT c.objectId, c.farType, c.far FROM c WHERE c.pk = @pk AND c.kind = 'member'", parameters: [{ name: '@pk', value: partitionKey }] },
      { partitionKey, maxItemCount: 1000 },
    );
    while (iterator.hasMoreResults()) rows.push(...(await iterator.fetchNext()).resources);
    return rows;
  }

  /** Replaces (If-Match) or creates one side; its new version, or undefined when someone else wrote it first. */
  private async write(tenantId: string, groupId: string, side: ClosureSide, ids: readonly string[], etag: string | undefined): Promise<string | undefined> {
    const document: ClosureDocument = { id: side, pk: closurePartition(tenantId, groupId), tenantId, kind: 'closure', groupId, ids };
    try {
      const response =
        etag === undefined ? await this.container.items.create(document) : await this.container.item(side, document.pk).replace(document, { accessCondition: { type: 'IfMatch', condition: etag } });
      // An etag the response lacks (never, from Cosmos DB) only makes a fed group be recomputed again.
      return response.etag ?? '';
    } catch (error) {
      const status = statusOf(error);
      if (status === 409 || status === 412 || status === 404) return undefined;
      throw error;
    }
  }

  /**
   * Recomputes one side of X from its direct neighbours (rule 1 above). Returns whether the
   * document changed, its version after the recompute, and the versions of the neighbours'
   * documents it was computed from. A cycle in the edges (which the nesting guard never lets form)
   * would show X in its own set: X is left out, so the recompute still ends.
   */
  async recompute(tenantId: string, groupId: string, side: ClosureSide): Promise<Recomputed> {
    for (let attempt = 0; attempt < closureLimits.recomputeAttempts; attempt += 1) {
      // A store fault costs this document's attempt, not the change's whole update: under a share
      // of failing requests an update of tens of documents otherwise almost never ended
      // (`npm run stress`, 10% faults). Each attempt starts from fresh reads, so it is idempotent.
      const outcome = await retryStoreFaults(() => this.recomputeOnce(tenantId, groupId, side), closureLimits.faultAttemptsPerDocument);
      if (outcome !== 'lost') return outcome;
    }
    throw graphErrors.storeUnavailable(1);
  }

  /** One attempt of `recompute`: 'lost' when someone else replaced the document first. */
  private async recomputeOnce(tenantId: string, groupId: string, side: ClosureSide): Promise<Recomputed | 'lost'> {
    // The document (its etag) is read no later than the neighbours' documents: rule 1.
    const [current, neighbours] = await Promise.all([this.read(tenantId, groupId, side), this.neighbours(tenantId, groupId, side)]);
    const sets = await mapWithConcurrency(neighbours, closureLimits.concurrency, (id) => this.read(tenantId, id, side));
    const from = new Map(neighbours.map((id, index) => [id, sets[index]?.etag]));
    const union = new Set(neighbours);
    for (const set of sets) for (const id of set.ids) union.add(id);
    union.delete(groupId);
    const ids = [...union].sort();
    if (sameIds(ids, current.ids) || (current.etag === undefined && ids.length === 0)) return { changed: false, etag: current.etag, from };
    const written = await this.write(tenantId, groupId, side, ids, current.etag);
    return written === undefined ? 'lost' : { changed: true, etag: written, from };
  }

  /**
   * Recomputes `side` of every group in `start`, then of every group each one feeds (listed after
   * the recompute: rule 2), wave by wave, over the whole region (the groups above, or under, the
   * start). A group is recomputed again when a group it feeds is found, at its own recompute, at
   * another version than the one that group's last recompute read.
   *
   * Stopping where a document is found already right is not enough: whoever wrote it (an earlier
   * attempt of this change cut short by a fault, or a writer of a nearby edge) may have stopped
   * or still be on the way up, and a change is settled in the journal when this returns, after
   * which checks trust the closure (nestingGuard.ts). A ring formed that way in `npm run stress`
   * (test/membership/closureJournal.test.ts, "halfway up"). With the versions, every group of the
   * region ends computed from what the groups it is fed by held when this visited them last, so
   * by induction up (or down) from the start it reflects the change. The bound
   * (closureLimits.maxDocumentsPerChange) already counts every document of the region.
   */
  async propagate(tenantId: string, start: readonly string[], side: ClosureSide): Promise<number> {
    let wave = [...new Set(start)];
    let writes = 0;
    // For each group recomputed: the versions of its neighbours' documents its last recompute read.
    const readBy = new Map<string, ReadonlyMap<string, string | undefined>>();
    // A wave is at most the groups under (or above) the change; the bound checked before the change
    // keeps that small. The cap only stops a runaway on data the guard never let form.
    for (let passes = 0; wave.length > 0; passes += 1) {
      if (passes > closureLimits.maxSetSize) throw graphErrors.storeUnavailable(1);
      // Each group this wave fed, with the groups of the wave that feed it and their versions now.
      const fedBy = new Map<string, Map<string, string | undefined>>();
      await mapWithConcurrency(wave, closureLimits.concurrency, async (groupId) => {
        const outcome = await this.recompute(tenantId, groupId, side);
        if (outcome.changed) writes += 1;
        readBy.set(groupId, outcome.from);
        for (const fed of await retryStoreFaults(() => this.neighbours(tenantId, groupId, otherSide(side)), closureLimits.faultAttemptsPerDocument)) {
          const feeders = fedBy.get(fed) ?? new Map<string, string | undefined>();
          fedBy.set(fed, feeders.set(groupId, outcome.etag));
        }
      });
      // A fed group already recomputed from these very versions waits; any other is recomputed.
      const next = [...fedBy].filter(([fed, feeders]) => {
        const seen = readBy.get(fed);
        return seen === undefined || [...feeders].some(([feeder, etag]) => !seen.has(feeder) || seen.get(feeder) !== etag);
      });
      wave = next.map(([fed]) => fed);
    }
    return writes;
  }

  /**
   * After an edge "group `groupId` holds group `memberGroupId`" was added or removed (both sides
   * written): the member and everything under it get their ancestors recomputed, the group and
   * everything above it their descendants (rule 3).
   */
  async afterNestingChanged(tenantId: string, groupId: string, memberGroupId: string): Promise<void> {
    await Promise.all([this.propagate(tenantId, [memberGroupId], 'ancestors'), this.propagate(tenantId, [groupId], 'descendants')]);
  }

  /**
   * Refuses (400, before anything is written) a nesting add or removal whose closure update would
   * rewrite more than `maxDocumentsPerChange` documents, or (an add) give a group more than
   * `maxSetSize` ids. Four point reads, in one round.
   */
  async assertChangeWithinBounds(tenantId: string, groupId: string, memberGroupId: string, change: 'add' | 'remove'): Promise<void> {
    const [above, belowGroup, below, aboveMember] = await Promise.all([
      this.read(tenantId, groupId, 'ancestors'),
      this.read(tenantId, groupId, 'descendants'),
      this.read(tenantId, memberGroupId, 'descendants'),
      this.read(tenantId, memberGroupId, 'ancestors'),
    ]);
    const documents = below.ids.length + 1 + above.ids.length + 1;
    if (documents > closureLimits.maxDocumentsPerChange) throw changeTooLarge(documents);
    if (change === 'remove') return;
    const largest = Math.max(aboveMember.ids.length + above.ids.length + 1, belowGroup.ids.length + below.ids.length + 1);
    if (largest > closureLimits.maxSetSize) throw setTooLarge(largest);
  }

  /**
   * After a group's edges were all removed (DELETE of the group, src/directory/objectLifecycle.ts
   * removeEdgesOf): the groups that were under it and above it are recomputed from the edges that
   * remain, then its own documents go. Idempotent (a rerun after a crash finds the documents still
   * there until the end).
   */
  async afterGroupDeleted(tenantId: string, groupId: string): Promise<void> {
    const [above, below] = await Promise.all([this.read(tenantId, groupId, 'ancestors'), this.read(tenantId, groupId, 'descendants')]);
    await Promise.all([this.propagate(tenantId, below.ids, 'ancestors'), this.propagate(tenantId, above.ids, 'descendants')]);
    for (const side of ['ancestors', 'descendants'] as const) {
      try {
        await this.container.item(side, closurePartition(tenantId, groupId)).delete();
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    }
  }

  /** Every closure document (the consistency checker's read; it scans the container). */
  async listAll(tenantId?: string): Promise<ClosureDocument[]> {
    const parameters = tenantId === undefined ? [] : [{ name: '@tenantId', value: tenantId }];
    const where = tenantId === undefined ? "c.kind = 'closure'" : "c.kind = 'closure' AND c.tenantId = @tenantId";
    const { resources } = await this.container.items.query<ClosureDocument>({ query: `SELECT c.id, c.pk, c.tenantId, c.kind, c.groupId, c.ids FROM c WHERE ${where}`, parameters }).fetchAll();
    return resources;
  }

  /** Sets one side to what the checker computed from the edges (an empty set deletes it). */
  async overwrite(tenantId: string, groupId: string, side: ClosureSide, ids: readonly string[]): Promise<void> {
    const pk = closurePartition(tenantId, groupId);
    if (ids.length === 0) {
      try {
        await this.container.item(side, pk).delete();
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
      return;
    }
    const document: ClosureDocument = { id: side, pk, tenantId, kind: 'closure', groupId, ids: [...ids].sort() };
    await this.container.items.upsert(document);
  }
}
