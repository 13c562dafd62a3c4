import type { Container } from '@azure/cosmos';
import { GroupClosure, type ClosureSide } from './closure';

/** A closure document that differs from the closure of the edges. */
export interface ClosureMismatch {
  readonly tenantId: string;
  readonly groupId: string;
  readonly side: ClosureSide;
  readonly stored: number;
  readonly expected: number;
}

export interface ClosureReport {
  readonly documents: number;
  readonly mismatches: readonly ClosureMismatch[];
  /** Documents set to the closure of the edges (with `repair`). */
  readonly repaired: number;
}

/**
 * The consistency checker's part for the nested-group closure (closure.ts): recomputes every
 * group's ancestor and descendant sets from the group-side edges (the truth) whose member is a
 * group, compares them with the stored documents, and with `repair` overwrites each one that
 * differs (or deletes it when it should be empty). Run it when no nesting is being changed, or
 * run it again: a change in flight propagates on its own. Scans the container: a tool, not a path
 * any request takes.
 */
export async function checkClosure(container: Container, options: { readonly tenantId?: string; readonly repair?: boolean } = {}): Promise<ClosureReport> {
  const closure = new GroupClosure(container);
  const parameters = options.tenantId === undefined ? [] : [{ name: '@tenantId', value: options.tenantId }];
  const where = `c.kind = 'member' AND c.farType = 'group'${options.tenantId === undefined ? '' : ' AND c.tenantId = @tenantId'}`;
  const { resources: nestings } = await container.items
    .query<{ tenantId: string; groupId: string; objectId: string }>({ query: `SELECT c.tenantId, c.groupId, c.objectId FROM c WHERE ${where}`, parameters })
    .fetchAll();
  const children = new Map<string, Set<string>>();
  const parents = new Map<string, Set<string>>();
  const key = (tenantId: string, groupId: string) => `${tenantId}|${groupId}`;
  for (const { tenantId, groupId, objectId } of nestings) {
    const parent = key(tenantId, groupId);
    const child = key(tenantId, objectId);
    children.set(parent, (children.get(parent) ?? new Set()).add(child));
    parents.set(child, (parents.get(child) ?? new Set()).add(parent));
  }
  const reach = (start: string, next: Map<string, Set<string>>): string[] => {
    const found = new Set<string>();
    const stack = [start];
    while (stack.length > 0) {
      for (const neighbour of next.get(stack.pop()!) ?? []) {
        if (neighbour === start || found.has(neighbour)) continue;
        found.add(neighbour);
        stack.push(neighbour);
      }
    }
    return [...found].map((entry) => entry.slice(entry.indexOf('|') + 1)).sort();
  };
  const stored = await closure.listAll(options.tenantId);
  const expected = new Map<string, { tenantId: string; groupId: string; side: ClosureSide; ids: string[] }>();
  for (const node of new Set([...children.keys(), ...parents.keys()])) {
    const tenantId = node.slice(0, node.indexOf('|'));
    const groupId = node.slice(node.indexOf('|') + 1);
    expected.set(`${node}|ancestors`, { tenantId, groupId, side: 'ancestors', ids: reach(node, parents) });
    expected.set(`${node}|descendants`, { tenantId, groupId, side: 'descendants', ids: reach(node, children) });
  }
  const mismatches: ClosureMismatch[] = [];
  const seen = new Set<string>();
  for (const document of stored) {
    const id = `${document.tenantId}|${document.groupId}|${document.id}`;
    seen.add(id);
    const ids = expected.get(id)?.ids ?? [];
    const storedIds = [...document.ids].sort();
    if (storedIds.length !== ids.length || storedIds.some((value, index) => value !== ids[index])) {
      mismatches.push({ tenantId: document.tenantId, groupId: document.groupId, side: document.id, stored: storedIds.length, expected: ids.length });
    }
  }
  for (const [id, entry] of expected) {
    if (!seen.has(id) && entry.ids.length > 0) mismatches.push({ tenantId: entry.tenantId, groupId: entry.groupId, side: entry.side, stored: 0, expected: entry.ids.length });
  }
  let repaired = 0;
  if (options.repair === true) {
    for (const mismatch of mismatches) {
      await closure.overwrite(mismatch.tenantId, mismatch.groupId, mismatch.side, expected.get(`${mismatch.tenantId}|${mismatch.groupId}|${mismatch.side}`)?.ids ?? []);
      repaired += 1;
    }
  }
  return { documents: stored.length, mismatches, repaired };
}
