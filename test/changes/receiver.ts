import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from '../../src/local/closeServer';

export interface ReceivedRequest {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly contentType: string;
  readonly body: string;
  readonly atMs: number;
}

export type ReceiverMode = 'echo' | 'fail' | 'wrongToken' | 'silent' | 'json';

/**
 * A webhook receiver on loopback, as a subscriber runs one: it answers Graph's validation request
 * by echoing the token (or, by mode, fails it), and records every request it gets.
 */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  /** What to answer notifications with (the validation request follows `mode`). */
  notificationStatus = 202;
  /** Answers for the next notifications, in order, before notificationStatus applies; 'stall' never answers. */
  readonly answers: (number | 'stall')[] = [];
  /** Notifications left unanswered ('stall'). */
  stalled = 0;
  /** Stalled notifications whose sender gave up (closed the connection). */
  abandoned = 0;
  private server!: http.Server;
  private waiters: (() => void)[] = [];

  constructor(public mode: ReceiverMode = 'echo') {}

  static async start(mode: ReceiverMode = 'echo'): Promise<Receiver> {
    const receiver = new Receiver(mode);
    receiver.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const url = new URL(request.url ?? '/', 'http://receiver');
        receiver.requests.push({ path: url.pathname, query: url.searchParams, contentType: request.headers['content-type'] ?? '', body: Buffer.concat(chunks).toString('utf8'), atMs: Date.now() });
        for (const wake of receiver.waiters.splice(0)) wake();
        const token = url.searchParams.get('validationToken');
        if (token !== null) {
          if (receiver.mode === 'silent') return; // never answers
          if (receiver.mode === 'fail') response.writeHead(500).end();
          else if (receiver.mode === 'wrongToken') response.writeHead(200, { 'Content-Type': 'text/plain' }).end('not the token');
          else if (receiver.mode === 'json') response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(token));
          else response.writeHead(200, { 'Content-Type': 'text/plain' }).end(token);
          return;
        }
        const answer = receiver.answers.shift() ?? receiver.notificationStatus;
        if (answer === 'stall') {
          receiver.stalled += 1;
          response.once('close', () => (receiver.abandoned += 1));
        } else response.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', () => resolve()));
    return receiver;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path = '/notify'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** The notifications received (not validation requests), flattened. */
  notifications(path?: string): Record<string, unknown>[] {
    return this.requests
      .filter((request) => request.query.get('validationToken') === null && (path === undefined || request.path === path))
      .flatMap((request) => (JSON.parse(request.body) as { value: Record<string, unknown>[] }).value);
  }

  /** Waits until `done()` holds, re-checking on every request received (the test's own timeout bounds it). */
  async until(done: () => boolean): Promise<void> {
    while (!done()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return closeServer(this.server);
  }
}
