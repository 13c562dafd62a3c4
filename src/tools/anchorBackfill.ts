import type { Container } from '@azure/cosmos';
import { objectPartitionKey, versionOf, type DirectoryObjectDocument } from '../directory/directoryObjects';
import { anchorsOf, ObjectAnchors } from '../membership/anchors';

/**
 * Objects without their anchors (src/membership/anchors.ts): users and groups written before
 * anchors existed, or whose anchor a store fault lost. Every add to such an object fails its
 * batch's anchor read, so the add answers 429 again and again; check-consistency finds them and
 * `--repair` writes the anchors (the one-time upgrade of a database from before anchors).
 *
 * Reads: one query over the whole directory container with no filter (it needs no index, and the
 * directory indexes no `objectType`) and one cross-partition query of the anchors (`kind` is
 * indexed), both paged. Meant for the consistency tool, never a request's path.
 */

export interface ObjectWithoutAnchor {
  readonly tenantId: string;
  readonly objectId: string;
  readonly objectType: 'user' | 'group';
  readonly version: number;
  /** The anchors that should be there and are not. */
  readonly missing: readonly { readonly pk: string; readonly id: string }[];
}

export interface AnchorScan {
  /** Users and groups in the directory (of the tenant, when one was given). */
  readonly objects: number;
  readonly withoutAnchors: readonly ObjectWithoutAnchor[];
}

type ObjectRow = Pick<DirectoryObjectDocument, 'id' | 'pk' | 'tenantId' | 'objectType' | 'version'>;

async function readPaged<T>(container: Container, query: string, parameters: { name: string; value: string }[]): Promise<T[]> {
  const rows: T[] = [];
  const iterator = container.items.query<T>({ query, parameters }, { maxItemCount: 1000 });
  while (iterator.hasMoreResults()) rows.push(...(await iterator.fetchNext()).resources);
  return rows;
}

export async function findObjectsWithoutAnchors(directory: Container, memberships: Container, tenantId?: string): Promise<AnchorScan> {
  const [rows, anchorRows] = await Promise.all([
    readPaged<Partial<ObjectRow>>(directory, 'SELECT c.id, c.pk, c.tenantId, c.objectType, c.version FROM c', []),
    readPaged<{ pk: string; id: string }>(
      memberships,
      `SELECT c.pk, c.id FROM c WHERE c.kind = 'anchor'${tenantId === undefined ? '' : ' AND c.tenantId = @tenantId'}`,
      tenantId === undefined ? [] : [{ name: '@tenantId', value: tenantId }],
    ),
  ]);
  const present = new Set(anchorRows.map((anchor) => `${anchor.pk}/${anchor.id}`));
  const objects = rows.filter(
    (row): row is ObjectRow =>
      (row.objectType === 'user' || row.objectType === 'group') &&
      typeof row.tenantId === 'string' &&
      typeof row.id === 'string' &&
      // Listing documents and name claims share the container; an object sits in its own partition.
      row.pk === objectPartitionKey(row.tenantId, row.id) &&
      (tenantId === undefined || row.tenantId === tenantId),
  );
  const withoutAnchors: ObjectWithoutAnchor[] = [];
  for (const object of objects) {
    const version = versionOf(object);
    const missing = anchorsOf(object as DirectoryObjectDocument, version)
      .filter((anchor) => !present.has(`${anchor.pk}/${anchor.id}`))
      .map(({ pk, id }) => ({ pk, id }));
    if (missing.length > 0) withoutAnchors.push({ tenantId: object.tenantId, objectId: object.id, objectType: object.objectType, version, missing });
  }
  return { objects: objects.length, withoutAnchors };
}

export interface AnchorRepair {
  readonly written: number;
  /** Objects deleted or changed while their anchors were written: those anchors were taken back. */
  readonly takenBack: number;
}

/**
 * Writes the anchors of each object at the version it was found at, then reads the object again:
 * if a DELETE or PATCH ran meanwhile (its own anchor work may have run before these writes), the
 * anchors just written are taken back, so none is left for a version that no longer exists.
 */
export async function writeMissingAnchors(directory: Container, memberships: Container, objects: readonly ObjectWithoutAnchor[]): Promise<AnchorRepair> {
  const anchors = new ObjectAnchors(memberships);
  let written = 0;
  let takenBack = 0;
  for (const found of objects) {
    const { resource: object } = await directory.item(found.objectId, objectPartitionKey(found.tenantId, found.objectId)).read<DirectoryObjectDocument>();
    if (object === undefined || versionOf(object) !== found.version) continue;
    await anchors.create(object, found.version);
    const { resource: after } = await directory.item(found.objectId, objectPartitionKey(found.tenantId, found.objectId)).read<DirectoryObjectDocument>();
    if (after === undefined || versionOf(after) !== found.version) {
      await anchors.remove(object, found.version);
      takenBack += 1;
    } else written += found.missing.length;
  }
  return { written, takenBack };
}
