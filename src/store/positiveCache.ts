/**
 * A bounded, time-limited cache of things that were found and cannot change: users, groups and
 * owner edges have no update or delete route, so a hit is as good as a point read. Absences are
 * never cached (an object may be created a moment later). The time limit bounds what an
 * out-of-band edit of the store could leave stale; it must go if an update route is added.
 */
export class PositiveCache<T> {
  private readonly entries = new Map<string, { value: T; expiresAtMs: number }>();

  constructor(
    private readonly maxEntries = 50_000,
    private readonly ttlInMs = 5 * 60_000,
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
}
