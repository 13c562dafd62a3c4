import type { Container } from '@azure/cosmos';
import { graphErrors } from '../http/errors';
import type { ObjectType } from '../directory/directoryObjects';

/**
 * The objects of a tenant whose DELETE has begun and whose edges may not all be gone yet: one
 * document per tenant (`{tid}|deletions`, in the membership container), changed only with
 * If-Match on its etag.
 *
 * It does two jobs:
 * - It is what makes a deleted object invisible at once: every relation page reads it in the
 *   same round as its edges and drops the edges whose far object is listed, so an edge that a
 *   deletion has yet to remove (a user in 1,000 groups, a group of 5,000 members, a cleanup cut
 *   short by a fault or a crash) is never shown.
 * - It is the durable list of unfinished cleanups: the reconciler (reconciler.ts) finishes each
 *   one, sweeps once more after the grace period (an add that read the object before it was
 *   deleted may land an edge late; its transactional batch fails once the anchors are gone, but
 *   an owner edge or a group side written just before then may still arrive), and only then
 *   removes the entry.
 */
export interface PendingDeletion {
  readonly id: string;
  readonly objectType: ObjectType;
  /** The version the object had (its anchors' names). */
  readonly version: number;
  readonly atMs: number;
}

export interface PendingDeletionsDocument {
  readonly id: typeof documentId;
  readonly pk: string;
  readonly tenantId: string;
  readonly kind: 'pendingDeletions';
  readonly entries: readonly PendingDeletion[];
  readonly _etag?: string;
}

const documentId = 'deletions';
export const pendingDeletionsPartition = (tenantId: string): string => `${tenantId}|deletions`;

/**
 * Entries a tenant may have at once. Every relation page reads the document, so its size is a
 * cost on every read (about 60 bytes an entry: 1,000 entries is a 60 KB point read); a tenant
 * deleting faster than cleanups finish gets 429 until the reconciler catches up.
 */
export const maxPendingDeletions = 1_000;
const maxCommitAttempts = 10;

function statusOf(error: unknown): unknown {
  return (error as { code?: unknown }).code;
}

export class PendingDeletions {
  constructor(private readonly container: Container) {}

  async read(tenantId: string): Promise<PendingDeletionsDocument | undefined> {
    const { resource } = await this.container.item(documentId, pendingDeletionsPartition(tenantId)).read<PendingDeletionsDocument>();
    return resource;
  }

  /** The ids a reader must not show. One point read. */
  async deletedIds(tenantId: string): Promise<ReadonlySet<string>> {
    const document = await this.read(tenantId);
    return new Set((document?.entries ?? []).map((entry) => entry.id));
  }

  /** Lists the object before anything of it is deleted. */
  async add(tenantId: string, entry: PendingDeletion): Promise<void> {
    await this.change(tenantId, (entries) => {
      if (entries.some((existing) => existing.id === entry.id)) return entries;
      if (entries.length >= maxPendingDeletions) throw graphErrors.throttled(30);
      return [...entries, entry];
    });
  }

  /** Removes finished entries (the reconciler, after its final sweep). */
  async remove(tenantId: string, ids: ReadonlySet<string>): Promise<void> {
    await this.change(tenantId, (entries) => entries.filter((entry) => !ids.has(entry.id)));
  }

  /** Every tenant's document: the reconciler's work list (one cross-partition query). */
  async listAll(): Promise<PendingDeletionsDocument[]> {
    const { resources } = await this.container.items.query<PendingDeletionsDocument>({ query: "SELECT * FROM c WHERE c.kind = 'pendingDeletions'" }).fetchAll();
    return resources;
  }

  private async change(tenantId: string, next: (entries: readonly PendingDeletion[]) => readonly PendingDeletion[]): Promise<void> {
    const pk = pendingDeletionsPartition(tenantId);
    for (let attempt = 1; attempt <= maxCommitAttempts; attempt += 1) {
      const current = await this.read(tenantId);
      const entries = next(current?.entries ?? []);
      if (current !== undefined && entries === current.entries) return;
      const document: PendingDeletionsDocument = { id: documentId, pk, tenantId, kind: 'pendingDeletions', entries };
      try {
        if (current?._etag === undefined) await this.container.items.create(document);
        else await this.container.item(documentId, pk).replace(document, { accessCondition: { type: 'IfMatch', condition: current._etag } });
        return;
      } catch (error) {
        const status = statusOf(error);
        if (status !== 409 && status !== 412 && status !== 404) throw error;
        // Another deletion of this tenant committed first: read again, after a short random wait.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
      }
    }
    throw graphErrors.throttled(1);
  }
}
