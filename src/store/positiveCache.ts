/**
 * A bounded, time-limited cache of things that were found. A hit is a remembered copy, not a
 * read: only callers whose writes are conditional on the copy's version use it (an add; see
 * src/membership/anchors.ts). Absences are never cached (an object may be created a moment later).
 */
/**
 * How long a remembered copy lives. A relation page may start from a remembered copy of its group
 * or user and still answer 404 for a deleted one, because it reads the tenant's pending deletions
 * in the same round, and a deletion stays listed there for at least this long (the reconciler's
 * grace period, src/directory/objectLifecycle.ts, is not shorter): a copy remembered before the
 * deletion has expired before its entry goes.
 */
export const rememberedCopyLifetimeInMs = 5 * 60_000;

export class PositiveCache<T> {
  private readonly entries = new Map<string, { value: T; expiresAtMs: number }>();

  constructor(
    private readonly maxEntries = 50_000,
    private readonly ttlInMs = rememberedCopyLifetimeInMs,
  ) {}

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T): void {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAtMs: Date.now() + this.ttlInMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
