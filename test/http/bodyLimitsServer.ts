/**
 * The service alone in its own process, for bodyLimits.test.ts: its resident memory is then the
 * server's and nothing else's. Settings come from the environment (the test's issuer and store).
 * Prints one JSON line {"url": …} when it listens, then answers "memory" on stdin with its
 * memory after a full garbage collection (run with --expose-gc): current and peak resident size
 * (getrusage's maxrss), heap and external bytes.
 */
import { createInterface } from 'node:readline';
import { httpFunctions } from '../../functions/catalog';
import { startFunctionsHost } from '../../src/local/functionsHost';

export interface ServerMemory {
  readonly rssBytes: number;
  readonly maxRssBytes: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
}

async function memory(): Promise<ServerMemory> {
  const gc = (globalThis as { gc?: () => void }).gc;
  // Twice, a moment apart: buffers are released by V8's sweeper after the collection that found them.
  gc?.();
  await new Promise((resolve) => setTimeout(resolve, 100));
  gc?.();
  const usage = process.memoryUsage();
  return {
    rssBytes: usage.rss,
    // ru_maxrss is in KiB on Linux.
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    heapUsedBytes: usage.heapUsed,
    externalBytes: usage.external,
  };
}

async function main(): Promise<void> {
  const host = await startFunctionsHost({ functions: httpFunctions, port: 0 });
  createInterface({ input: process.stdin })
    .on('line', (line) => {
      if (line.trim() === 'memory') void memory().then((figures) => process.stdout.write(`${JSON.stringify(figures)}\n`));
    })
    // The test ended (or died): nothing else will stop this process.
    .on('close', () => void host.close().finally(() => process.exit(0)));
  process.stdout.write(`${JSON.stringify({ url: host.baseUrl })}\n`);
}

void main();
