import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from '../../src/local/closeServer';

/** What to do with one request on its way to Cosmos DB. */
export type Fault =
  | { kind: 'status'; status: number; retryAfterMs?: number }
  /** The store does the work, but its answer is lost: the client gets `status` instead (a write that landed behind a 503). */
  | { kind: 'answerLost'; status: number }
  | { kind: 'reset' }
  | { kind: 'stall' }
  | { kind: 'delay'; ms: number };

export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
}

/**
 * An HTTP proxy on loopback between the service and the embedded Cosmos endpoint, which injects
 * faults on the requests a rule picks: Cosmos-shaped error statuses, connection resets, stalls
 * and latency. No rule: a plain pass-through.
 */
export class FaultProxy {
  private server: http.Server | undefined;
  rule: (request: ProxiedRequest) => Fault | undefined = () => undefined;
  readonly seen: ProxiedRequest[] = [];
  record = false;

  constructor(private readonly target: string) {}

  async listen(): Promise<string> {
    const target = new URL(this.target);
    this.server = http.createServer((incoming, outgoing) => {
      const request: ProxiedRequest = { method: incoming.method ?? 'GET', path: incoming.url ?? '/', headers: incoming.headers };
      if (this.record) this.seen.push(request);
      const fault = this.rule(request);
      if (fault?.kind === 'reset') {
        incoming.socket.destroy();
        return;
      }
      if (fault?.kind === 'stall') return;
      const answerFault = (status: number, retryAfterMs?: number) => {
        const headers: Record<string, string> = { 'Content-Type': 'application/json', 'x-ms-request-charge': '0' };
        if (retryAfterMs !== undefined) headers['x-ms-retry-after-ms'] = String(retryAfterMs);
        outgoing.writeHead(status, headers).end(JSON.stringify({ code: String(status), message: faultMessage(status) }));
      };
      if (fault?.kind === 'status') {
        incoming.resume();
        answerFault(fault.status, fault.retryAfterMs);
        return;
      }
      const forward = () => {
        const upstream = http.request({ host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: incoming.headers }, (response) => {
          if (fault?.kind === 'answerLost') {
            response.resume();
            response.on('end', () => answerFault(fault.status));
            return;
          }
          outgoing.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(outgoing);
        });
        upstream.on('error', () => outgoing.destroy());
        incoming.pipe(upstream);
      };
      if (fault?.kind === 'delay') setTimeout(forward, fault.ms);
      else forward();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    if (this.server !== undefined) await closeServer(this.server);
  }
}

function isUpsert(request: ProxiedRequest): boolean {
  return String(request.headers['x-ms-documentdb-is-upsert']).toLowerCase() === 'true';
}

function partitionOf(request: ProxiedRequest): string {
  return String(request.headers['x-ms-documentdb-partitionkey']);
}

/** Whether a proxied request writes a member-side document (an add's create, or an upsert). */
export function isMemberSideWrite(request: ProxiedRequest): boolean {
  return request.method === 'POST' && partitionOf(request).includes('|member|');
}

/** The name from before adds created the member side instead of upserting it. */
export const isMemberSideUpsert = isMemberSideWrite;

/** Whether a proxied request is the group-side create of an add (the duplicate check). */
export function isGroupSideCreate(request: ProxiedRequest): boolean {
  return request.method === 'POST' && !isUpsert(request) && partitionOf(request).includes('|group|');
}

/**
 * The message Cosmos DB sends with the status (the 429's is the service's own text, which code
 * that only has the message, such as a failed transactional batch, reads: src/store/storeBatch.ts).
 */
function faultMessage(status: number): string {
  if (status === 429)
    return 'Message: {"Errors":["Request rate is large. More Request Units may be needed, so no changes were made. Please retry this request later. Learn more: http://aka.ms/cosmosdb-error-429"]} (injected by the test proxy)';
  return 'injected by the test proxy';
}
