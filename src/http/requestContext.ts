import { randomUUID } from 'node:crypto';
import type { HttpRequest } from '@azure/functions';

export interface RequestIds {
  /** New per request. */
  readonly requestId: string;
  /** The client's own id when it sent a usable one, else the request id. */
  readonly clientRequestId: string;
  /** Whether the client chose clientRequestId (only then can it identify a retry). */
  readonly clientChoseId: boolean;
}

// Graph SDKs send a GUID; anything printable and short is accepted and echoed as it came.
const clientRequestIdPattern = /^[\x21-\x7e]{1,128}$/;

export function createRequestIds(request: HttpRequest): RequestIds {
  const requestId = randomUUID();
  const sent = request.headers.get('client-request-id');
  if (sent !== null && clientRequestIdPattern.test(sent)) return { requestId, clientRequestId: sent, clientChoseId: true };
  return { requestId, clientRequestId: requestId, clientChoseId: false };
}

/**
 * The base URL the client used, for @odata.context, @odata.nextLink and Location. Behind a
 * local TLS proxy the forwarded headers say what the client saw.
 */
export function clientBaseUrl(request: HttpRequest): string {
  const url = new URL(request.url);
  // Forwarded headers are trusted only from a local TLS proxy in front of a loopback host; in
  // Azure the request URL is already what the client used, and a client must not rewrite links.
  if (!['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) return `${url.protocol}//${url.host}`;
  const forwardedProto = request.headers.get('x-forwarded-proto')?.split(',')[0]?.trim();
  const forwardedHost = request.headers.get('x-forwarded-host')?.split(',')[0]?.trim();
  const protocol = forwardedProto === 'https' || forwardedProto === 'http' ? forwardedProto : url.protocol.replace(':', '');
  return `${protocol}://${validHost(forwardedHost) ?? url.host}`;
}

/** A forwarded host only if it is one (name or address, optional port) and nothing more. */
function validHost(candidate: string | undefined): string | undefined {
  if (candidate === undefined || candidate === '') return undefined;
  try {
    const parsed = new URL(`http://${candidate}`);
    return parsed.host === candidate.toLowerCase() && parsed.pathname === '/' ? parsed.host : undefined;
  } catch {
    return undefined;
  }
}

/** The API version segment the client used, so that links stay on it. */
export function apiVersionOf(request: HttpRequest): 'v1.0' | 'beta' {
  return new URL(request.url).pathname.split('/')[1]?.toLowerCase() === 'beta' ? 'beta' : 'v1.0';
}
