import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import net, { BlockList, type LookupFunction } from 'node:net';
import { runsInAppService } from '../config/settings';

/**
 * Where this service may send a notification (SPEC 9): https anywhere public; plain http only to
 * a loopback address and only under the local host; never to an address inside a network
 * (private, link-local, CGNAT, unique-local, cloud metadata, loopback outside the local host), so
 * that a subscription cannot turn the service into a way to reach internal endpoints (SSRF).
 *
 * The check is made on the ADDRESSES, not the name: the host is resolved (every address, A and
 * AAAA), each one checked, and the connection then goes to a checked address, pinned through the
 * request's `lookup` option (https://nodejs.org/api/http.html#httprequesturl-options-callback:
 * `lookup` replaces dns.lookup for the socket), so a name that resolves to a public address for
 * the check and to 169.254.169.254 a moment later (DNS rebinding) still reaches the checked one.
 * TLS still verifies the certificate against the URL's host name (the `servername` comes from the
 * URL, not from the address).
 */

/** The local host (src/local/start.ts, and the tests' host) sets this; the deployed app never does. */
export const localHostSetting = 'FUNCTIONS_LOCAL_HOST';

/** Whether plain http to loopback is allowed: a setting only the local host sets, never in App Service. */
export function loopbackReceiversAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[localHostSetting] === 'true' && !runsInAppService(env);
}

const refused = new BlockList();
// IPv4: "this network", RFC 1918 private, CGNAT (RFC 6598), link-local (cloud metadata
// 169.254.169.254 included), IETF protocol assignments, TEST-NETs, benchmarking, multicast and reserved.
for (const [address, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  refused.addSubnet(address, prefix, 'ipv4');
}
// IPv6: unspecified, unique-local (AWS's metadata fd00:ec2::254 included), link-local, site-local,
// multicast, discard, documentation, and the translation prefixes that embed an IPv4 address.
for (const [address, prefix] of [
  ['::', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
  ['100::', 64],
  ['2001:db8::', 32],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['2002::', 16],
] as const) {
  refused.addSubnet(address, prefix, 'ipv6');
}
const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** An IPv4 address carried in IPv6 (::ffff:a.b.c.d, ::a.b.c.d) is judged as that IPv4 address. */
function normalize(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  if (net.isIPv4(address)) return { address, family: 'ipv4' };
  const lower = address.toLowerCase();
  const dotted = /^::(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted !== null) return { address: dotted[1]!, family: 'ipv4' };
  // ::ffff:7f00:1 is ::ffff:127.0.0.1 written in hex.
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex !== null) {
    const [high, low] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
    return { address: `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, family: 'ipv4' };
  }
  return { address: lower, family: 'ipv6' };
}

export type AddressVerdict = 'public' | 'loopback' | 'internal';

export function classifyAddress(address: string): AddressVerdict {
  const { address: normalized, family } = normalize(address);
  if (loopback.check(normalized, family)) return 'loopback';
  if (refused.check(normalized, family)) return 'internal';
  return 'public';
}

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** Every address of the host, as the operating system resolves it (A and AAAA, /etc/hosts included). */
const systemResolver: HostResolver = async (hostname) => (await dnsLookup(hostname, { all: true, verbatim: true })).map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
let resolver: HostResolver = systemResolver;

/**
 * Replaces name resolution, for tests that need a name resolving to an internal address without
 * touching the machine's DNS; undefined restores the system's. Literal IPs never reach it.
 */
export function useHostResolver(replacement: HostResolver | undefined): void {
  resolver = replacement ?? systemResolver;
}

export class UnsafeNotificationUrl extends Error {
  override readonly name = 'UnsafeNotificationUrl';
}

/** A URL that passed the checks, with the address every connection for it must use. */
export interface CheckedUrl {
  readonly url: URL;
  readonly address: ResolvedAddress;
}

/**
 * Checks `value` as a notification URL and resolves its host, refusing (UnsafeNotificationUrl,
 * with the reason) before any connection is made. Called again before every delivery: the
 * answer for a name may change, and only the addresses checked now may be connected to.
 */
export async function checkNotificationUrl(value: string, env: NodeJS.ProcessEnv = process.env): Promise<CheckedUrl> {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UnsafeNotificationUrl('it is not an absolute URL');
  }
  if (url.username !== '' || url.password !== '') throw new UnsafeNotificationUrl('it carries credentials');
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UnsafeNotificationUrl('it must use https');
  const allowLoopback = loopbackReceiversAllowed(env);
  if (url.protocol === 'http:' && !allowLoopback) throw new UnsafeNotificationUrl('it must use https');

  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  let addresses: ResolvedAddress[];
  if (net.isIP(hostname) !== 0) addresses = [{ address: hostname, family: net.isIPv6(hostname) ? 6 : 4 }];
  else {
    try {
      addresses = await resolver(hostname);
    } catch {
      throw new UnsafeNotificationUrl(`its host '${hostname}' could not be resolved`);
    }
  }
  if (addresses.length === 0) throw new UnsafeNotificationUrl(`its host '${hostname}' could not be resolved`);
  // Every address must pass, not just the first: the connection might otherwise be steered to
  // another of them (happy eyeballs, a retry).
  for (const { address } of addresses) {
    const verdict = classifyAddress(address);
    if (verdict === 'internal') throw new UnsafeNotificationUrl(`its host resolves to an internal address (${address})`);
    if (verdict === 'loopback' && !allowLoopback) throw new UnsafeNotificationUrl(`its host resolves to a loopback address (${address})`);
    if (verdict === 'public' && url.protocol === 'http:') throw new UnsafeNotificationUrl('plain http is only for a loopback receiver');
  }
  return { url, address: addresses[0]! };
}

export interface PostOutcome {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** Bodies read back from a receiver are capped: only a validation token is ever looked at. */
const maxAnswerBytes = 64 * 1024;

/**
 * POSTs `body` to a checked URL, connecting only to its checked address, within `timeoutMs`
 * (connection, request and answer together). Redirects are not followed (a 3xx is an answer like
 * any other, so a receiver cannot bounce the service elsewhere).
 */
export function postToChecked(target: CheckedUrl, body: string, contentType: string, timeoutMs: number): Promise<PostOutcome> {
  const pinned: LookupFunction = (_hostname, options, callback) => {
    const { address, family } = target.address;
    if ((options as { all?: boolean }).all === true) (callback as unknown as (error: null, addresses: { address: string; family: number }[]) => void)(null, [{ address, family }]);
    else callback(null, address, family);
  };
  const transport = target.url.protocol === 'https:' ? https : http;
  return new Promise<PostOutcome>((resolve, reject) => {
    const request = transport.request(
      target.url,
      {
        method: 'POST',
        lookup: pinned,
        agent: false,
        headers: { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) },
        signal: AbortSignal.timeout(timeoutMs),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= maxAnswerBytes) chunks.push(chunk);
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, contentType: response.headers['content-type'] ?? '', body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
