import { randomUUID } from 'node:crypto';
import { GraphError, graphErrors } from '../http/errors';
import type { MembershipRepository } from './membershipRepository';

/**
 * DESIGN: no nesting may ever close a cycle (issue 8, item 4), whatever the timing, the number
 * of instances, or the store faults; and no nesting may cost more than a constant (item 5).
 *
 * Why a check alone fails: "A into B" and "B into A" each walk the graph, each find no path,
 * each write. The check and the write must be one serializable step per tenant, and Cosmos DB
 * has no cross-partition transaction; what it has is optimistic concurrency on one document
 * (a replace with If-Match on its _etag fails with 412 if anyone replaced it since it was read:
 * https://learn.microsoft.com/azure/cosmos-db/nosql/database-transactions-optimistic-concurrency).
 * So every group-into-group nesting of a tenant goes through one guard document,
 * partition `{tid}|nesting` of the memberships container, which lists the nestings in flight:
 *
 *  1. read the guard (beside the existence reads when the reference already says "group");
 *  2. walk DOWN from the member group through its group-typed members as the group side (the
 *     truth, never the member-side index) holds them, plus the guard's unexpired in-flight
 *     nestings as if they were edges; reaching the group means a cycle: 400;
 *  3. replace the guard, If-Match the etag read in 1, with this nesting added to the in-flight
 *     list (dropping expired entries and entries whose edge the walk saw in the truth); a 412
 *     means another request replaced it in between: back to 1, a few times, then 429 (a retry
 *     walks again but reuses the partitions it read, counting as edges every nesting committed
 *     or released since it read them; the guard keeps the last releases for that, and a retry
 *     reads afresh when they no longer reach back far enough);
 *  4. write the two edge documents, unless so much time passed since 3 that this nesting's
 *     entry could be near its expiry (then 503: nothing written);
 *  5. move this nesting's entry to the released list (best effort: an entry left behind expires).
 *
 * Why that suffices: the successful guard replaces of a tenant are totally ordered. Take two
 * nestings N1 before N2 in that order. N2 read the guard version it replaced after N1's replace,
 * so that version lists N1 (then N2's walk counted N1's edge), or N1's entry was removed since,
 * which happens only after N1's write ended (5: its edge landed, or a take-back removed it), or because the entry expired, which it does only long after N1 stopped writing (4),
 * or because a walk saw N1's edge in the truth. N2 walked the truth after reading the guard, so
 * it saw N1's edge whenever N1's entry was gone. Either way N2 checked against every edge N1
 * could write: a cycle needs some nesting to close it last, and that one would have seen it.
 * Removals only take edges away. Users cannot close cycles, so adds of users never touch the
 * guard (S1 keeps its two rounds), and POST /groups writes its member edges before the group
 * exists (nothing can be nested into or under a group that does not exist yet).
 *
 * The cost: the walk reads one page of group ids per group visited, at most `nestingLimits.
 * walkReads` pages (400 naming the limit beyond), at most `fanOut` at once; the retries after a
 * lost race share `checkReads`; and each tenant has, per instance, at most `tenantChecksAtOnce`
 * checks at once (a few more wait up to 2 s for a slot) and a budget of walk reads (`tenantReadsPerSecond`, burst `tenantReadBurst`),
 * answered with 429 and Retry-After beyond, so one tenant's deep nestings cannot starve another's
 * requests: they hold at most 32 queries in flight against the store from one instance.
 */
export const nestingLimits = {
  /** Store reads one cycle walk may make: about one per group under the member group. */
  walkReads: 100,
  /** Store reads the check of one nesting may make in all, guard reads and retried walks included. */
  checkReads: 200,
  /** Store requests a walk has in flight at once. */
  fanOut: 2,
  /** Guard replaces tried before a contended nesting answers 429. */
  commitAttempts: 16,
  /** Longest a check may take before it answers 503 (the function's limit is 30 s, host.json). */
  checkDeadlineMs: 10_000,
  /** An in-flight entry outlives any write of its nesting by far: 5 minutes... */
  intentTtlMs: 5 * 60_000,
  /** ...because a nesting that finds this much time passed since its commit writes nothing. */
  writeDeadlineMs: 60_000,
  /** Released nestings the guard remembers for retrying checks. */
  landedKept: 100,
  /** In-flight nestings a tenant's guard may list; beyond it, 429. */
  maxIntents: 200,
  /** Per tenant, per instance: nesting checks at once (so at most 16 x fanOut = 32 walk queries in flight). */
  tenantChecksAtOnce: 16,
  /** Checks that may wait for a slot, and how long. */
  tenantChecksWaiting: 32,
  tenantSlotWaitMs: 2_000,
  /** Per tenant, per instance: walk reads per second, and the burst allowed above that. */
  tenantReadsPerSecond: 200,
  tenantReadBurst: 400,
} as const;

export const nestingGuardId = 'nesting';

/** A nesting between its commit (step 3) and the end of its write (step 5). */
export interface NestingIntent {
  readonly id: string;
  readonly groupId: string;
  readonly memberId: string;
  readonly expiresAtMs: number;
}

/** A nesting released (step 5): its edge may exist now. */
export interface LandedNesting {
  readonly groupId: string;
  readonly memberId: string;
  /** The guard's release count when it was released. */
  readonly release: number;
}

/** What the guard holds. */
export interface NestingGuardContent {
  readonly intents: readonly NestingIntent[];
  /** Commits so far (step 3). */
  readonly commits: number;
  /** The last `landedKept` releases. */
  readonly landed: readonly LandedNesting[];
  /** Releases so far (step 5). */
  readonly releases: number;
  /** The highest release count dropped from `landed`. */
  readonly prunedThrough: number;
}

export interface NestingGuardDocument extends NestingGuardContent {
  readonly id: typeof nestingGuardId;
  readonly pk: string;
  readonly tenantId: string;
  readonly kind: 'nestingGuard';
  readonly _etag?: string;
}

export interface NestingGuardState extends NestingGuardContent {
  /** Absent when there is no guard document yet. */
  readonly etag?: string;
}

const cycleError = () => new GraphError('Request_BadRequest', 'The nesting would create a cycle: the group is already a direct or indirect member of the member being added.');
export const tooDeepMessage = `The nesting cannot be checked for cycles: the group being added has more groups nested under it than this service checks (at most ${nestingLimits.walkReads} groups, read in at most ${nestingLimits.walkReads} store requests).`;
const contended = () => new GraphError('TooManyRequests', 'Too many group nestings are being made in this tenant at once. Retry after the time given in Retry-After.', { 'Retry-After': '1' });

/** A token bucket per tenant: walk reads this instance makes for each tenant. */
class TenantReadBudget {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  /** Takes one read; undefined when allowed, else the seconds until one is available. */
  take(tenantId: string): number | undefined {
    const now = performance.now();
    let bucket = this.buckets.get(tenantId);
    if (bucket === undefined) {
      // Bounded: tenants are configured, but the map must not grow with anything a caller sends.
      if (this.buckets.size >= 10_000) this.buckets.clear();
      bucket = { tokens: nestingLimits.tenantReadBurst, atMs: now };
      this.buckets.set(tenantId, bucket);
    }
    bucket.tokens = Math.min(nestingLimits.tenantReadBurst, bucket.tokens + ((now - bucket.atMs) / 1000) * nestingLimits.tenantReadsPerSecond);
    bucket.atMs = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / nestingLimits.tenantReadsPerSecond));
  }
}

const tenantBudget = new TenantReadBudget();

/**
 * Nesting checks in progress per tenant on this instance: at most `tenantChecksAtOnce`; a check
 * beyond waits up to `tenantSlotWaitMs` for a slot (at most `tenantChecksWaiting` wait), else 429.
 */
class TenantCheckSlots {
  private readonly running = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();

  async acquire(tenantId: string): Promise<() => void> {
    const release = () => this.release(tenantId);
    const running = this.running.get(tenantId) ?? 0;
    if (running < nestingLimits.tenantChecksAtOnce) {
      this.running.set(tenantId, running + 1);
      return release;
    }
    const queue = this.waiting.get(tenantId) ?? [];
    if (queue.length >= nestingLimits.tenantChecksWaiting) throw busyTenant();
    this.waiting.set(tenantId, queue);
    await new Promise<void>((resolve, reject) => {
      const handOver = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        queue.splice(queue.indexOf(handOver), 1);
        if (queue.length === 0) this.waiting.delete(tenantId);
        reject(busyTenant());
      }, nestingLimits.tenantSlotWaitMs);
      queue.push(handOver);
    });
    return release;
  }

  private release(tenantId: string): void {
    const queue = this.waiting.get(tenantId);
    const next = queue?.shift();
    if (queue !== undefined && queue.length === 0) this.waiting.delete(tenantId);
    // The slot passes to the next waiter as it is; only without one does the count drop.
    if (next !== undefined) next();
    else {
      const left = (this.running.get(tenantId) ?? 1) - 1;
      if (left <= 0) this.running.delete(tenantId);
      else this.running.set(tenantId, left);
    }
  }
}

const busyTenant = () => new GraphError('TooManyRequests', 'Too many group nestings are being checked in this tenant at once. Retry after the time given in Retry-After.', { 'Retry-After': '1' });

const checkSlots = new TenantCheckSlots();

/** The reads one nesting check may still make, and by when. */
class CheckBudget {
  private reads = 0;
  private readonly deadline = performance.now() + nestingLimits.checkDeadlineMs;

  constructor(private readonly tenantId: string) {}

  /** Before any store request of the check (guard reads and walk reads). */
  spend(): void {
    this.reads += 1;
    if (this.reads > nestingLimits.checkReads) throw contended();
    if (performance.now() > this.deadline) throw graphErrors.storeUnavailable(2);
  }

  /** Before a walk read: also the tenant's budget on this instance. */
  spendOnWalk(): void {
    this.spend();
    const retryAfter = tenantBudget.take(this.tenantId);
    if (retryAfter !== undefined) {
      throw new GraphError('TooManyRequests', 'This tenant is making too many nestings of deep groups. Retry after the time given in Retry-After.', {
        'Retry-After': String(retryAfter),
      });
    }
  }
}

const edgeKey = (groupId: string, memberId: string) => `${groupId}|${memberId}`;

/** Runs `work` on every item, at most `limit` at once. */
async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    // After a failure no worker starts another item: the request is answered, its reads stop.
    while (next < items.length && !failed) {
      const item = items[next]!;
      next += 1;
      try {
        await work(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Walks down from `memberGroupId` (step 2). Throws the cycle 400 if `groupId` is reachable, the
 * limit 400 if the walk visits more than `walkReads` groups (or needs more reads). Returns the
 * edges it saw in the truth. `cache` holds the partitions an earlier attempt of the same check
 * read (reused only as reserveNesting's retry rule allows); `extraEdges` count as edges.
 */
async function walkDown(
  memberships: MembershipRepository,
  tenantId: string,
  groupId: string,
  memberGroupId: string,
  extraEdges: readonly { readonly groupId: string; readonly memberId: string }[],
  budget: CheckBudget,
  cache: Map<string, readonly string[]>,
): Promise<Set<string>> {
  const extra = new Map<string, string[]>();
  for (const edge of extraEdges) extra.set(edge.groupId, [...(extra.get(edge.groupId) ?? []), edge.memberId]);
  const seen = new Set<string>();
  const visited = new Set([memberGroupId]);
  let frontier = [memberGroupId];
  let cost = 0;
  let found = false;
  const spend = () => {
    cost += 1;
    if (cost > nestingLimits.walkReads) throw new GraphError('Request_BadRequest', tooDeepMessage);
  };
  // `found` is set inside visit(); the walk stops at the end of the level that found the group.
  while (frontier.length > 0) {
    const next: string[] = [];
    const visit = (child: string) => {
      if (child === groupId) found = true;
      else if (!visited.has(child)) {
        visited.add(child);
        next.push(child);
      }
    };
    await forEachLimited(frontier, nestingLimits.fanOut, async (parent) => {
      let children = cache.get(parent);
      if (children === undefined) {
        const read: string[] = [];
        let continuationToken: string | undefined;
        do {
          if (found) return;
          spend();
          budget.spendOnWalk();
          const page = await memberships.listMemberGroupIds(tenantId, parent, continuationToken);
          read.push(...page.ids);
          continuationToken = page.continuationToken;
        } while (continuationToken !== undefined);
        cache.set(parent, read);
        children = read;
      } else spend();
      for (const child of children) {
        seen.add(edgeKey(parent, child));
        visit(child);
      }
      for (const child of extra.get(parent) ?? []) visit(child);
    });
    if (found) throw cycleError();
    frontier = next;
  }
  return seen;
}

/** A committed nesting (step 3 done): write its edges through it, then release it. */
export interface NestingReservation {
  /** Step 4: throws 503 if the entry may be near its expiry; call right before writing. */
  assertFresh(): void;
  /** Step 5: best effort, never throws. */
  release(): Promise<void>;
}

/**
 * Steps 1 to 3 for "`memberGroupId` into `groupId`": resolves once this nesting is in the
 * guard's in-flight list and no cycle can form with it; throws the cycle 400, the limit 400, or
 * 429/503 with Retry-After.
 */
export async function reserveNesting(
  memberships: MembershipRepository,
  tenantId: string,
  groupId: string,
  memberGroupId: string,
  guardReadEarly?: Promise<NestingGuardState>,
): Promise<NestingReservation> {
  const endCheck = await checkSlots.acquire(tenantId);
  try {
    return await checkAndCommit(memberships, tenantId, groupId, memberGroupId, guardReadEarly);
  } finally {
    endCheck();
  }
}

async function checkAndCommit(
  memberships: MembershipRepository,
  tenantId: string,
  groupId: string,
  memberGroupId: string,
  guardReadEarly: Promise<NestingGuardState> | undefined,
): Promise<NestingReservation> {
  const budget = new CheckBudget(tenantId);
  // Partitions read by earlier attempts, and the guard version read before the first of them.
  const cache = new Map<string, readonly string[]>();
  let cachedSince: NestingGuardState | undefined;
  for (let attempt = 1; attempt <= nestingLimits.commitAttempts; attempt += 1) {
    let guard: NestingGuardState;
    if (attempt === 1 && guardReadEarly !== undefined) guard = await guardReadEarly;
    else {
      budget.spend();
      guard = await memberships.readNestingGuard(tenantId);
    }
    const now = Date.now();
    const live = guard.intents.filter((intent) => intent.expiresAtMs > now);
    // A retry may reuse what it read only if every edge that could have landed in those partitions
    // since is listed: intents of the version read before them (cachedSince), intents now, and
    // every nesting released since (landed, complete unless pruned past cachedSince's count).
    if (cachedSince !== undefined && guard.prunedThrough > cachedSince.releases) {
      cache.clear();
      cachedSince = undefined;
    }
    const extraEdges = cachedSince === undefined ? live : [...cachedSince.intents, ...live, ...guard.landed.filter((landed) => landed.release > cachedSince!.releases)];
    cachedSince ??= guard;
    const seen = await walkDown(memberships, tenantId, groupId, memberGroupId, extraEdges, budget, cache);
    const kept = live.filter((intent) => !seen.has(edgeKey(intent.groupId, intent.memberId)));
    if (kept.length >= nestingLimits.maxIntents) throw contended();
    const own: NestingIntent = { id: randomUUID(), groupId, memberId: memberGroupId, expiresAtMs: Date.now() + nestingLimits.intentTtlMs };
    budget.spend();
    const committed = await memberships.replaceNestingGuard(tenantId, { ...guard, intents: [...kept, own], commits: guard.commits + 1 }, guard.etag);
    if (committed !== undefined) return reservationOf(memberships, tenantId, own, committed, performance.now());
    // Lost the race to another request: a short, random, growing pause spreads the retries.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 10 * 2 ** attempt)));
  }
  throw contended();
}

function reservationOf(memberships: MembershipRepository, tenantId: string, own: NestingIntent, committed: NestingGuardState, committedAt: number): NestingReservation {
  return {
    assertFresh() {
      if (performance.now() - committedAt > nestingLimits.writeDeadlineMs) throw graphErrors.storeUnavailable(2);
    },
    async release() {
      let guard: NestingGuardState | undefined = committed;
      for (let attempt = 0; attempt < 3; attempt += 1) {
        try {
          guard ??= await memberships.readNestingGuard(tenantId);
          if (!guard.intents.some((intent) => intent.id === own.id)) return;
          // The entry moves to `landed` (its edge may exist now, even after a failed write), so
          // that a check retrying from cached reads learns of it; the oldest landed entries go.
          const release = guard.releases + 1;
          const landed = [...guard.landed, { groupId: own.groupId, memberId: own.memberId, release }];
          const pruned = landed.splice(0, Math.max(0, landed.length - nestingLimits.landedKept));
          const released = await memberships.replaceNestingGuard(
            tenantId,
            {
              ...guard,
              intents: guard.intents.filter((intent) => intent.id !== own.id),
              landed,
              releases: release,
              prunedThrough: Math.max(guard.prunedThrough, ...pruned.map((entry) => entry.release)),
            },
            guard.etag,
          );
          if (released !== undefined) return;
          guard = undefined;
        } catch {
          // The entry expires on its own; a failed release costs only a stricter check meanwhile.
          return;
        }
      }
    },
  };
}
