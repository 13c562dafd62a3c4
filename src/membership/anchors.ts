import type { Container, OperationInput } from '@azure/cosmos';
import { versionOf, type DirectoryObjectDocument, type ObjectType } from '../directory/directoryObjects';
import { runLoggedBatch, type ChangeType } from '../changes/changeLog';
import { failedOperation } from '../store/storeBatch';
import { toStoreFault } from '../store/storeFaults';
import { graphErrors } from '../http/errors';
import { groupSidePartition, memberSidePartition } from './edges';

/**
 * An object's anchors: one small document in each edge partition the object owns, whose id
 * names the object's current version.
 * - `{tid}|member|{X}`, id `$object.{version}`: every user and group (the partition of X's
 *   memberOf edges);
 * - `{tid}|group|{G}`, id `$group.{version}`: every group (the partition of G's members).
 *
 * Why (issue 10, coherence across instances): an add writes each side of an edge in a
 * transactional batch whose first operation reads that side's anchor at the version the add
 * read (or remembered) the object at. The batch runs at one instant in one partition, so the
 * edge is written only if, at that instant, the object exists and is still that version:
 * existence, freshness of the snapshot the edge carries, and the write in one store request per
 * side, without reading the object first. A DELETE removes the anchors (after the object's own
 * document), and a PATCH replaces them with the next version's, so from the moment either
 * answers, no instance can attach an edge to the old state, however long it has cached it: its
 * batch finds no anchor and fails whole (then the add reads the object again, and answers 404 if
 * it is gone).
 *
 * Ids never collide with edges: an edge's id is a GUID, an anchor's starts with `$`.
 */
export interface AnchorDocument {
  readonly id: string;
  readonly pk: string;
  readonly tenantId: string;
  readonly kind: 'anchor';
  readonly objectId: string;
  readonly objectType: ObjectType;
  readonly version: number;
}

export const memberAnchorId = (version: number): string => `$object.${version}`;
export const groupAnchorId = (version: number): string => `$group.${version}`;

/** The anchors of `object` at its version (or at `version`). */
export function anchorsOf(object: DirectoryObjectDocument, version = versionOf(object)): AnchorDocument[] {
  const anchor = (id: string, pk: string): AnchorDocument => ({ id, pk, tenantId: object.tenantId, kind: 'anchor', objectId: object.id, objectType: object.objectType, version });
  const anchors = [anchor(memberAnchorId(version), memberSidePartition(object.tenantId, object.id))];
  if (object.objectType === 'group') anchors.push(anchor(groupAnchorId(version), groupSidePartition(object.tenantId, object.id)));
  return anchors;
}

/** The batch operation that fails the batch unless `object` exists at `version`, on its member side. */
export function readMemberAnchor(object: DirectoryObjectDocument): OperationInput {
  // The partition key on the operation too: the embedded endpoint reads it from there.
  return { operationType: 'Read', id: memberAnchorId(versionOf(object)), partitionKey: memberSidePartition(object.tenantId, object.id) };
}

/** The same on a group's own side. */
export function readGroupAnchor(group: DirectoryObjectDocument): OperationInput {
  return { operationType: 'Read', id: groupAnchorId(versionOf(group)), partitionKey: groupSidePartition(group.tenantId, group.id) };
}

function statusOf(error: unknown): unknown {
  return (error as { code?: unknown }).code;
}

/** Writes and removes anchors (the membership container holds them, beside the edges). */
export class ObjectAnchors {
  constructor(private readonly container: Container) {}

  /**
   * A group's own anchor is written and removed in one batch with a change record of the group
   * (src/changes/changeLog.ts): its versions are the group's lifecycle (created, changed by a
   * PATCH, deleted). Readers of the log read the group itself, so a record only says "look again".
   * Ends quietly when the anchor was already there (409) or gone (404), writing no record then.
   */
  private async logged(anchor: AnchorDocument, operation: 'Create' | 'Delete', changeType: ChangeType): Promise<void> {
    const results = await runLoggedBatch(
      this.container,
      anchor.pk,
      [operation === 'Create' ? { operationType: 'Create', resourceBody: { ...anchor } } : { operationType: 'Delete', id: anchor.id, partitionKey: anchor.pk }],
      { tenantId: anchor.tenantId, groupId: anchor.objectId, changeType },
    );
    const failure = failedOperation(results);
    if (failure === undefined || failure.statusCode === (operation === 'Create' ? 409 : 404)) return;
    throw toStoreFault({ code: failure.statusCode }) ?? graphErrors.storeUnavailable(2);
  }

  /** Creates the anchors of `object`'s version; one already there (a retried write) counts. */
  async create(object: DirectoryObjectDocument, version = versionOf(object)): Promise<void> {
    await Promise.all(
      anchorsOf(object, version).map(async (anchor) => {
        // A PATCH's next version (not the object's own: that is a creation, recorded once the
        // object committed, by recordCreated). Before the commit: readers of the log read the
        // group itself, and delta reads lifecycle records again for a while (src/changes/delta.ts).
        if (anchor.id.startsWith('$group.') && version !== versionOf(object)) return this.logged(anchor, 'Create', 'groupChanged');
        try {
          await this.container.items.create(anchor);
        } catch (error) {
          if (statusOf(error) !== 409) throw error;
        }
      }),
    );
  }

  /**
   * The change record of a group's creation, written once the group committed (its document is
   * in the directory container, so no batch can hold both): a batch that reads the group's anchor
   * first, so a group deleted meanwhile gets no creation record. A crash between the commit and
   * this leaves the creation unrecorded (delta shows the group at its first change); the embedded
   * endpoint cannot show more.
   */
  async recordCreated(group: DirectoryObjectDocument): Promise<void> {
    const results = await runLoggedBatch(this.container, groupSidePartition(group.tenantId, group.id), [readGroupAnchor(group)], {
      tenantId: group.tenantId,
      groupId: group.id,
      changeType: 'groupChanged',
    });
    const failure = failedOperation(results);
    if (failure !== undefined && failure.statusCode !== 404) throw toStoreFault({ code: failure.statusCode }) ?? graphErrors.storeUnavailable(2);
  }

  /** Deletes the anchors of `object` at `version`; absent ones count as deleted. */
  async remove(object: DirectoryObjectDocument, version = versionOf(object)): Promise<void> {
    await Promise.all(
      anchorsOf(object, version).map(async (anchor) => {
        try {
          await this.container.item(anchor.id, anchor.pk).delete();
        } catch (error) {
          if (statusOf(error) !== 404) throw error;
        }
      }),
    );
  }

  /**
   * Deletes every anchor of the object, whatever its version (one query per partition): a
   * deletion must not leave the anchors of a version a racing PATCH created.
   */
  async removeAll(object: Pick<DirectoryObjectDocument, 'id' | 'tenantId' | 'objectType'>): Promise<void> {
    await this.removeWhere(object, () => true, true);
  }

  /** Deletes the anchors of every version but the object's current one (a PATCH cut short). */
  async removeOtherVersions(object: DirectoryObjectDocument): Promise<void> {
    const current = versionOf(object);
    await this.removeWhere(object, (anchor) => anchor.version !== current);
  }

  private async removeWhere(object: Pick<DirectoryObjectDocument, 'id' | 'tenantId' | 'objectType'>, predicate: (anchor: AnchorDocument) => boolean, deleting = false): Promise<void> {
    const partitions = [memberSidePartition(object.tenantId, object.id), ...(object.objectType === 'group' ? [groupSidePartition(object.tenantId, object.id)] : [])];
    await Promise.all(
      partitions.map(async (partitionKey) => {
        const { resources } = await this.container.items
          .query<AnchorDocument>({ query: "SELECT * FROM c WHERE c.pk = @pk AND c.kind = 'anchor'", parameters: [{ name: '@pk', value: partitionKey }] }, { partitionKey })
          .fetchAll();
        await Promise.all(
          resources.filter(predicate).map(async (anchor) => {
            if (anchor.id.startsWith('$group.') && deleting) return this.logged(anchor, 'Delete', 'groupDeleted');
            try {
              await this.container.item(anchor.id, partitionKey).delete();
            } catch (error) {
              if (statusOf(error) !== 404) throw error;
            }
          }),
        );
      }),
    );
  }
}
