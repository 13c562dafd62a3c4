import { randomUUID } from 'node:crypto';
import type { HttpRequest } from '@azure/functions';
import { getServiceBaseUrls, runsInAppService } from '../config/settings';

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

const loopbackHosts = ['localhost', '127.0.0.1', '[::1]'];

/**
 * The base URL for @odata.context, @odata.nextLink and Location (SPEC 4). A request on the
 * loopback host, outside Azure, is the local host: its own address, or what a local TLS proxy in front of it
 * forwards. Anywhere else the base is one of the configured service base URLs
 * (getServiceBaseUrls): the one the client named if it is one of them, else the first. The Host
 * header alone never decides it: `Host: evil.example` must not move links or make
 * `https://evil.example/...` references count as this service.
 */
export function clientBaseUrl(request: HttpRequest): string {
  const url = new URL(request.url);
  // In Azure no request comes from a loopback proxy, so a `Host: localhost` there is forged too.
  if (!runsInAppService() && loopbackHosts.includes(url.hostname)) {
    const forwardedProto = request.headers.get('x-forwarded-proto')?.split(',')[0]?.trim();
    const forwardedHost = request.headers.get('x-forwarded-host')?.split(',')[0]?.trim();
    const protocol = forwardedProto === 'https' || forwardedProto === 'http' ? forwardedProto : url.protocol.replace(':', '');
    return `${protocol}://${validHost(forwardedHost) ?? url.host}`;
  }
  const configured = getServiceBaseUrls();
  return configured.find((base) => new URL(base).host === url.host) ?? configured[0]!;
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
