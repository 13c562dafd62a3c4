/**
 * Store faults for the stress phases, injected by the FaultProxy between the service and Cosmos
 * DB on a share of the store requests it sees.
 */
import type { Fault, ProxiedRequest } from '../support/faultProxy';
import type { Random } from './model';

/** How long a partition stays throttled once hot: longer than the SDK's retries (3, at most 3 s). */
const hotWindowMs = 2_500;

export const faultKinds = ['429', '429-hot', '503', 'reset', 'stall', 'latency'] as const;
export type FaultKind = (typeof faultKinds)[number];

export const faultDescriptions: Readonly<Record<FaultKind, string>> = {
  '429': '429 with x-ms-retry-after-ms (the SDK retries most away)',
  '429-hot': `429 with x-ms-retry-after-ms on hot partitions (${hotWindowMs} ms each): throttling outlasts the SDK's retries`,
  '503': '503 from the store',
  reset: 'connection reset',
  stall: 'stall (no answer ever)',
  latency: 'added latency (100-3000 ms)',
};

function faultOf(kind: FaultKind, random: Random): Fault {
  switch (kind) {
    case '429':
      return { kind: 'status', status: 429, retryAfterMs: 20 + random.int(480) };
    case '429-hot':
      return { kind: 'status', status: 429, retryAfterMs: 300 + random.int(500) };
    case '503':
      return { kind: 'status', status: 503 };
    case 'reset':
      return { kind: 'reset' };
    case 'stall':
      return { kind: 'stall' };
    case 'latency':
      return { kind: 'delay', ms: 100 + random.int(2900) };
  }
}

function partitionOf(request: ProxiedRequest): string {
  const header = request.headers['x-ms-documentdb-partitionkey'];
  return header === undefined ? request.path : String(header);
}

/**
 * A proxy rule that injects `kind` into a share `rate` of store requests, and counts them. For
 * '429-hot', a fifth of `rate` is the share of requests that make their partition hot: every
 * request to a hot partition is throttled until its window ends, as Cosmos DB throttles a hot
 * partition (the share of requests throttled then comes out near `rate`, printed per phase).
 */
export class FaultInjector {
  seen = 0;
  injected = 0;
  private readonly hotUntil = new Map<string, number>();

  constructor(
    readonly kind: FaultKind,
    readonly rate: number,
    private readonly random: Random,
  ) {}

  readonly rule = (request: ProxiedRequest): Fault | undefined => {
    this.seen += 1;
    if (this.kind === '429-hot') {
      const partition = partitionOf(request);
      const now = performance.now();
      if ((this.hotUntil.get(partition) ?? 0) < now) {
        // The first partition seen is made hot whatever the dice say: with a fifth of the rate, a
        // short phase (under a hundred store requests) would otherwise inject nothing 2% of the time.
        if (this.injected > 0 && !this.random.chance(this.rate / 5)) return undefined;
        this.hotUntil.set(partition, now + hotWindowMs);
      }
    } else if (!this.random.chance(this.rate)) return undefined;
    this.injected += 1;
    return faultOf(this.kind, this.random);
  };
}
