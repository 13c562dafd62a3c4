/**
 * The in-memory model of what the service's answers promised, one state per edge (group,
 * member), and the per-edge lock that makes it exact: operations on one edge never overlap, so
 * every answer can be judged against the state before it. Used by `npm run stress` and by
 * test/stress/stress.test.ts.
 */

/** What the answers so far say about one edge. */
export type EdgeState = 'present' | 'absent' | 'unknown';

export const edgeKey = (groupId: string, memberId: string): string => `${groupId}|${memberId}`;

export function splitEdgeKey(key: string): { groupId: string; memberId: string } {
  const [groupId = '', memberId = ''] = key.split('|');
  return { groupId, memberId };
}

export class EdgeModel {
  private readonly states = new Map<string, EdgeState>();
  /** Bumped when an operation on the edge starts and when it ends: reads use it to see overlap. */
  private readonly versions = new Map<string, number>();
  private readonly inFlight = new Set<string>();
  private readonly locks = new Map<string, Promise<void>>();
  /**
   * Edges with an operation whose request timed out on the client: the service may still act on
   * it later, so no answer about them can be judged any more.
   */
  readonly tainted = new Set<string>();
  /** Every edge some add asked for: no other edge may ever exist. */
  readonly requested = new Set<string>();

  state(key: string): EdgeState {
    if (this.tainted.has(key)) return 'unknown';
    return this.states.get(key) ?? 'absent';
  }

  set(key: string, state: EdgeState): void {
    this.states.set(key, state);
  }

  taint(key: string): void {
    this.tainted.add(key);
  }

  /** Edges the model says exist. */
  presentKeys(): string[] {
    const keys: string[] = [];
    for (const [key, state] of this.states) if (state === 'present' && !this.tainted.has(key)) keys.push(key);
    return keys;
  }

  /** Edges whose state no answer settled (faults, timeouts). */
  unknownKeys(): string[] {
    const keys = new Set(this.tainted);
    for (const [key, state] of this.states) if (state === 'unknown') keys.add(key);
    return [...keys];
  }

  /** Every edge the model knows anything about. */
  knownKeys(): string[] {
    return [...new Set([...this.states.keys(), ...this.tainted])];
  }

  isBusy(key: string): boolean {
    return this.inFlight.has(key) || this.locks.has(key);
  }

  version(key: string): number {
    return this.versions.get(key) ?? 0;
  }

  /** Whether no operation on the edge was in flight at `before` or ran since. */
  isStableSince(key: string, before: number): boolean {
    return before % 2 === 0 && this.version(key) === before;
  }

  /** Runs `action` with the edge to itself: operations on one edge are serialized, in order. */
  async withEdge<T>(key: string, action: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => held);
    this.locks.set(key, tail);
    await previous;
    this.inFlight.add(key);
    this.versions.set(key, this.version(key) + 1);
    try {
      return await action();
    } finally {
      this.versions.set(key, this.version(key) + 1);
      this.inFlight.delete(key);
      if (this.locks.get(key) === tail) this.locks.delete(key);
      release();
    }
  }
}

/** A small seeded generator (mulberry32): runs are reproducible up to scheduling. */
export class Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)] as T;
  }

  /** A key of `weights`, drawn in proportion to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
    let point = this.next() * total;
    for (const [key, weight] of entries) {
      point -= weight;
      if (point < 0) return key;
    }
    return entries[entries.length - 1]![0];
  }
}
