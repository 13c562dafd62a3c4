import { groupSidePartition, memberSidePartition, ownerPartition, type EdgeKind } from '../membership/edges';
import { pendingUpdatesPartition, type EdgeRouting, type MembershipRepository, type PendingUpdateDocument } from '../membership/membershipRepository';
import { rememberedCopyLifetimeInMs } from '../store/positiveCache';
import { mapWithConcurrency } from './directoryObjectReads';
import { objectPartitionKey, versionOf, type DirectoryObjectDocument } from './directoryObjects';
import type { DirectoryRepository } from './directoryRepository';

/**
 * How a PATCH and a DELETE change the store so that, from the moment they answer, no instance
 * acts on the old state (issue 10, item 2). The pieces:
 * - Anchors (src/membership/anchors.ts): every add writes each side of its edge in a
 *   transactional batch that first reads the object's anchor at the version the add knows. A
 *   PATCH creates the next version's anchors and removes the old ones; a DELETE removes them.
 *   So an instance holding an old copy cannot write: its batch fails whole, it reads again, and
 *   sees the new version or the 404. No cache has to be told anything.
 * - Snapshots: each edge carries a copy of its far object (a page of members is one query). A
 *   PATCH rewrites every copy of the object before it answers (its memberOf edges' group sides,
 *   a group's members' member sides, and the owner edges it is named in).
 * - Invisibility first: a DELETE lists the object in the tenant's pending deletions
 *   (pendingDeletions.ts) before it deletes anything; every relation page drops edges to listed
 *   objects, so an edge the cleanup has not reached yet is never shown.
 * - Resumable work: the pending deletion (and, for a PATCH, a pending-update document written
 *   before the object changes) survives a crash; the reconciler's timer finishes what a
 *   request did not, and sweeps once more after a grace period for writes that were in flight.
 */

/**
 * How long a deletion stays listed in the pending deletions after it began: writes in flight have
 * landed by then (the final sweep catches them), and no instance remembers a copy of the object
 * any longer: a copy lives rememberedCopyLifetimeInMs (src/store/positiveCache.ts) from its read,
 * and the last read that can find the object comes before the DELETE's object delete, within
 * its first minute.
 */
export const deletionGraceInMs = rememberedCopyLifetimeInMs + 60_000;

/** Store requests in flight at once for one object's edges. */
const cleanupConcurrency = 16;

/** Waits before a snapshot whose edge was not there yet is written again (an add in flight). */
const snapshotRetryDelaysInMs = [100, 300, 900];

export interface LifecycleStores {
  readonly directory: DirectoryRepository;
  readonly memberships: MembershipRepository;
}

/** Thrown by cleanups that ran out of their time: the rest is left to the reconciler. */
class OutOfTime extends Error {}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Writes the object's next version (entity replaced whole) and every copy of it. Throws
 * ObjectChangedMeanwhile (directoryRepository.ts) when another change of the object won; the
 * caller starts again from a fresh read.
 */
export async function updateStoredObject({ directory, memberships }: LifecycleStores, current: DirectoryObjectDocument, entity: Readonly<Record<string, unknown>>): Promise<DirectoryObjectDocument> {
  const pending: PendingUpdateDocument = { id: current.id, pk: pendingUpdatesPartition(current.tenantId), tenantId: current.tenantId, kind: 'pendingUpdate', objectId: current.id, atMs: Date.now() };
  await memberships.upsertDocument(pending);
  const nextVersion = versionOf(current) + 1;
  // The next version's anchors before the object: an add that reads the new document finds
  // them. The old ones go after the replace, and from then on a stale copy cannot write.
  await directory.anchors.create(current, nextVersion);
  let next;
  try {
    next = await directory.replaceObject(current, entity);
  } catch (error) {
    // Nothing changed (another change or the deletion won, or the store failed): the anchors
    // made for this version and the pending update go again.
    await Promise.all([directory.anchors.remove(current, nextVersion), memberships.deleteDocument(pending.id, pending.pk)]).catch(() => undefined);
    throw error;
  }
  await directory.anchors.remove(current, versionOf(current));
  await directory.listing.update(next);
  await propagateSnapshots(memberships, next);
  return next;
}

/**
 * Rewrites every edge's copy of `object`. An edge that is not there yet while its other side is
 * (an add between its two batches) is tried again a few times; the reconciler's pass over
 * pending updates catches anything later still.
 */
export async function propagateSnapshots(memberships: MembershipRepository, object: DirectoryObjectDocument): Promise<void> {
  const { tenantId } = object;
  const copies: EdgeRouting[] = [];
  await forEachEdge(memberships, memberSidePartition(tenantId, object.id), 'memberOf', async (edges) => {
    copies.push(...edges.map((edge) => ({ ...edge, id: object.id, pk: groupSidePartition(tenantId, edge.groupId), kind: 'member' as const })));
  });
  if (object.objectType === 'group') {
    await forEachEdge(memberships, groupSidePartition(tenantId, object.id), 'member', async (edges) => {
      copies.push(...edges.map((edge) => ({ ...edge, id: object.id, pk: memberSidePartition(tenantId, edge.objectId), kind: 'memberOf' as const })));
    });
  }
  copies.push(...(await memberships.edgesNaming(tenantId, object.id, ['owner'])).filter((edge) => edge.objectId === object.id));

  let missing = copies;
  for (const delay of [0, ...snapshotRetryDelaysInMs]) {
    if (missing.length === 0) return;
    if (delay > 0) await sleep(delay);
    const written = await mapWithConcurrency(missing, cleanupConcurrency, (copy) => memberships.setSnapshot(copy.id, copy.pk, object));
    missing = missing.filter((_copy, index) => !written[index]);
  }
}

/** Calls `visit` with each page of a partition's edges of `kind` (the pages may be changed by `visit`). */
async function forEachEdge(memberships: MembershipRepository, partitionKey: string, kind: EdgeKind, visit: (edges: EdgeRouting[]) => Promise<void>): Promise<void> {
  let continuationToken: string | undefined;
  do {
    const page = await memberships.pageOfEdges(partitionKey, kind, continuationToken);
    await visit(page.edges);
    continuationToken = page.continuationToken;
  } while (continuationToken !== undefined);
}

/**
 * DELETE: invisible first, then unreachable, then gone. Returns whether every edge is gone
 * already; when `deadlineMs` passes first, the pending deletion stays for the reconciler, and the
 * object is already invisible on every relation page and a 404 everywhere.
 */
export async function deleteStoredObject({ directory, memberships }: LifecycleStores, object: DirectoryObjectDocument, deadlineMs: number): Promise<boolean> {
  await memberships.deletions.add(object.tenantId, { id: object.id, objectType: object.objectType, version: versionOf(object), atMs: Date.now() });
  await directory.deleteObjectDocument(object);
  await directory.anchors.removeAll(object);
  await directory.listing.remove(object);
  const principalName = object.entity.userPrincipalName;
  if (object.objectType === 'user' && typeof principalName === 'string') await directory.releasePrincipalName(object.tenantId, object.id, principalName);
  try {
    await removeEdgesOf(memberships, object.tenantId, object.id, object.objectType === 'group', deadlineMs);
    return true;
  } catch (error) {
    if (error instanceof OutOfTime) return false;
    throw error;
  }
}

/**
 * Deletes every edge naming the object, both sides of each membership (the far side first, so a
 * cleanup cut short leaves the object's own partitions to find the rest from). Idempotent.
 */
export async function removeEdgesOf(memberships: MembershipRepository, tenantId: string, objectId: string, isGroup: boolean, deadlineMs = Number.POSITIVE_INFINITY): Promise<void> {
  const checkTime = () => {
    if (Date.now() > deadlineMs) throw new OutOfTime();
  };
  const drain = async (partitionKey: string, kind: EdgeKind, farSide: (edge: EdgeRouting) => { id: string; pk: string } | undefined, unlogged = false) => {
    for (;;) {
      checkTime();
      const page = await memberships.pageOfEdges(partitionKey, kind);
      if (page.edges.length === 0) return;
      await mapWithConcurrency(page.edges, cleanupConcurrency, async (edge) => {
        const far = farSide(edge);
        if (far !== undefined) await memberships.deleteDocument(far.id, far.pk);
        await memberships.deleteDocument(edge.id, edge.pk, undefined, { unlogged });
      });
    }
  };
  if (isGroup) {
    await drain(groupSidePartition(tenantId, objectId), 'member', (edge) => ({ id: objectId, pk: memberSidePartition(tenantId, edge.objectId) }));
    // A deleted group's own owners go without a record each: its groupDeleted record (written
    // with its anchor's removal, before this) stands for them, as Graph reports a deleted group
    // once, `@removed` in delta and `deleted` in notifications. A deleted user's owner edges
    // below do get an ownerRemoved record each: their groups stay, and their owners changed.
    await drain(ownerPartition(tenantId, objectId), 'owner', () => undefined, true);
  }
  await drain(memberSidePartition(tenantId, objectId), 'memberOf', (edge) => ({ id: objectId, pk: groupSidePartition(tenantId, edge.groupId) }));
  checkTime();
  const owned = (await memberships.edgesNaming(tenantId, objectId, ['owner'])).filter((edge) => edge.objectId === objectId);
  await mapWithConcurrency(owned, cleanupConcurrency, (edge) => memberships.deleteDocument(edge.id, edge.pk));
  // The nested-group closure (src/membership/closure.ts): once the group's edges are gone.
  if (isGroup) await memberships.closure.afterGroupDeleted(tenantId, objectId);
}

export interface DirectoryChangesReport {
  /** Deletions whose edges were all removed and whose final sweep ran: their entries are gone. */
  readonly deletionsFinished: number;
  /** Deletions still within their grace period (cleaned, swept again on a later run). */
  readonly deletionsPending: number;
  /** Edges the final sweeps found and removed (writes that landed after a cleanup). */
  readonly lateEdgesRemoved: number;
  readonly updatesFinished: number;
}

/**
 * The reconciler's part for PATCH and DELETE: finishes every pending deletion (edges, anchors,
 * and, once older than the grace period, a sweep for edges that landed late), and re-applies
 * every pending update older than the grace period (anchors of the current version, the listing
 * document, every snapshot), then forgets it. Idempotent: an interrupted run is run again.
 */
export async function finishDirectoryChanges(stores: LifecycleStores, graceInMs = deletionGraceInMs): Promise<DirectoryChangesReport> {
  const { memberships, directory } = stores;
  const cutoff = Date.now() - graceInMs;
  let deletionsFinished = 0;
  let deletionsPending = 0;
  let lateEdgesRemoved = 0;
  for (const document of await memberships.deletions.listAll()) {
    const finished = new Set<string>();
    for (const entry of document.entries) {
      const object: DirectoryObjectDocument = {
        id: entry.id,
        pk: objectPartitionKey(document.tenantId, entry.id),
        tenantId: document.tenantId,
        objectType: entry.objectType,
        entity: {},
        version: entry.version,
      };
      // A crash may have come before any of the object's own documents went.
      await directory.deleteObjectDocument(object);
      await directory.anchors.removeAll(object);
      await directory.listing.remove(object);
      await removeEdgesOf(memberships, document.tenantId, entry.id, entry.objectType === 'group');
      if (entry.atMs > cutoff) {
        deletionsPending += 1;
        continue;
      }
      const late = await memberships.edgesNaming(document.tenantId, entry.id);
      // As in removeEdgesOf: the deleted group's own owner edges go without a record.
      await mapWithConcurrency(late, cleanupConcurrency, (edge) => memberships.deleteDocument(edge.id, edge.pk, undefined, { unlogged: edge.kind === 'owner' && edge.groupId === entry.id }));
      // A nesting that landed late fed the closure (its add recomputed both ends): recompute again without it.
      if (late.length > 0 && entry.objectType === 'group') await memberships.closure.afterGroupDeleted(document.tenantId, entry.id);
      lateEdgesRemoved += late.length;
      finished.add(entry.id);
    }
    if (finished.size > 0) await memberships.deletions.remove(document.tenantId, finished);
    deletionsFinished += finished.size;
  }

  let updatesFinished = 0;
  for (const update of await memberships.listPendingUpdates()) {
    if (update.atMs > cutoff) continue;
    const object = await directory.getObject(update.tenantId, update.objectId);
    if (object !== undefined) {
      await directory.anchors.create(object);
      await directory.anchors.removeOtherVersions(object);
      await directory.listing.update(object);
      await propagateSnapshots(memberships, object);
    }
    await memberships.deleteDocument(update.id, update.pk, update._etag);
    updatesFinished += 1;
  }
  return { deletionsFinished, deletionsPending, lateEdgesRemoved, updatesFinished };
}
