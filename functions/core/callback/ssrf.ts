/**
 * The SSRF guard for callback URLs: the one place that decides whether we may POST to a URL.
 * Used by deliver before every attempt and by the CLI when an instance is created or updated.
 *
 * A URL passes when it is https (http only with the development switch) and EVERY address its host
 * resolves to is a public unicast address. The caller then connects to exactly those addresses (the
 * sender's pinned lookup, adapters/http/callback-sender.ts), so a DNS answer that changes between
 * the check and the connect (rebinding) is never used. Resolving is a port (HostResolver): the
 * system resolver in adapters/http/host-resolver.ts.
 */
import { isIP } from 'node:net';
import type { HostResolver, ResolvedAddress, VettedTarget } from '../ports';

export interface CallbackUrlPolicy {
  /** Development switch: allow http:// (ENV.allowHttpCallbacks). */
  readonly allowHttp: boolean;
  /**
   * Hosts exempt from the address check (ENV.callbackAllowHosts): host names or IP literals,
   * compared case-insensitively with the URL's host. For the local runner and tests.
   */
  readonly allowHosts: readonly string[];
  /**
   * Ports a callback URL may name (ENV.callbackAllowedPorts), for hosts not exempt: a receiver is a
   * web server, so a URL cannot point deliver at another service (SSH, SMTP, a database) on a public host.
   * @default DEFAULT_CALLBACK_PORTS (443 and 8443), and 80 when `allowHttp`
   */
  readonly allowedPorts?: readonly number[];
}

/** The ports a callback URL may use unless configured otherwise. */
export const DEFAULT_CALLBACK_PORTS: readonly number[] = [443, 8443];

export type CallbackUrlCheck =
  | ({ readonly ok: true } & VettedTarget)
  /** `transient`: the host did not resolve (DNS may answer later); every other refusal is the URL's own. */
  | { readonly ok: false; readonly reason: string; readonly transient?: true };

/** Policy from the development switches in the environment; by default https only, no exemptions. */
export function callbackUrlPolicyFrom(values: { allowHttp?: string; allowHosts?: string; allowedPorts?: string }): CallbackUrlPolicy {
  const allowHttp = ['1', 'true', 'yes'].includes((values.allowHttp ?? '').trim().toLowerCase());
  const allowHosts = (values.allowHosts ?? '')
    .split(',')
    .map((host) => normalizeHost(host.trim()))
    .filter((host) => host !== '');
  const ports = (values.allowedPorts ?? '')
    .split(',')
    .map((port) => port.trim())
    .filter((port) => /^[0-9]{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65_535)
    .map(Number);
  return ports.length > 0 ? { allowHttp, allowHosts, allowedPorts: ports } : { allowHttp, allowHosts };
}

/**
 * Checks a callback URL. Never throws: every refusal comes back as `{ ok: false, reason }`.
 * The reason names the host but never the path or query (which may carry a receiver's token).
 */
export async function checkCallbackUrl(
  url: string | URL,
  policy: CallbackUrlPolicy,
  resolveHost: HostResolver,
): Promise<CallbackUrlCheck> {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    return { ok: false, reason: 'callback URL is not a valid absolute URL' };
  }
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && policy.allowHttp)) {
    const allowed = policy.allowHttp ? 'https or http' : 'https (http only with the development switch)';
    return { ok: false, reason: `callback URL scheme "${parsed.protocol.replace(/:$/, '')}" is not allowed; use ${allowed}` };
  }
  const host = normalizeHost(parsed.hostname);
  if (host === '') return { ok: false, reason: 'callback URL has no host' };
  const exempt = policy.allowHosts.includes(host);

  let addresses: ResolvedAddress[];
  const literalFamily = isIP(host);
  if (literalFamily !== 0) {
    addresses = [{ address: host, family: literalFamily }];
  } else {
    try {
      addresses = await resolveHost(host);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'lookup failed';
      return { ok: false, reason: `callback host ${host} does not resolve (${code})`, transient: true };
    }
    if (addresses.length === 0) return { ok: false, reason: `callback host ${host} does not resolve`, transient: true };
  }
  if (!exempt) {
    for (const { address } of addresses) {
      const refusal = refusedAddressReason(address);
      if (refusal) return { ok: false, reason: `callback host ${host} resolves to ${address} (${refusal})` };
    }
  }
  if (!exempt) {
    const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
    // Plain http (the development switch) keeps its own default port.
    const allowed = policy.allowedPorts ?? (policy.allowHttp ? [...DEFAULT_CALLBACK_PORTS, 80] : DEFAULT_CALLBACK_PORTS);
    if (!allowed.includes(port)) {
      return { ok: false, reason: `callback URL port ${port} is not allowed (allowed: ${allowed.join(', ')})` };
    }
  }
  return { ok: true, url: parsed, addresses };
}

/** URL hostnames keep IPv6 brackets and may end with a dot; compare without both. */
function normalizeHost(hostname: string): string {
  return hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
}

// ---- address classification -------------------------------------------------------------------

type Range = readonly [base: string, prefixLength: number, why: string];

const REFUSED_IPV4: readonly Range[] = [
  ['0.0.0.0', 8, 'unspecified / "this network"'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local / cloud metadata'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay anycast'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved / broadcast'],
];

const REFUSED_IPV6: readonly Range[] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['64:ff9b:1::', 48, 'local-use NAT64 (RFC 8215: translates to private networks)'],
  ['100::', 64, 'discard-only'],
  ['2001::', 32, 'Teredo'],
  ['2001:20::', 28, 'ORCHIDv2 (cryptographic identifiers, not routable)'],
  ['2001:2::', 48, 'benchmarking'],
  ['2001:db8::', 32, 'documentation'],
  ['3fff::', 20, 'documentation'],
  ['5f00::', 16, 'SRv6 segment identifiers (not a host)'],
  ['fc00::', 7, 'unique local (private)'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

/**
 * IPv6 ranges that carry an IPv4 address; the embedded address is judged by the IPv4 rules.
 * [base, prefix length, byte offset of the IPv4 address]
 */
const IPV4_EMBEDDING: readonly (readonly [string, number, number, string])[] = [
  ['::ffff:0:0', 96, 12, 'IPv4-mapped'],
  ['::ffff:0:0:0', 96, 12, 'SIIT IPv4-translated'],
  ['64:ff9b::', 96, 12, 'NAT64'],
  ['2002::', 16, 2, '6to4'],
];

/** Why an address may not be a callback target, or undefined when it is public unicast. */
export function refusedAddressReason(address: string): string | undefined {
  const family = isIP(address.replace(/%.*$/, ''));
  if (family === 4) return refusedIpv4(parseIpv4(address));
  if (family === 6) return refusedIpv6(parseIpv6(address));
  return 'not an IP address';
}

function refusedIpv4(bytes: Uint8Array): string | undefined {
  for (const [base, length, why] of REFUSED_IPV4) {
    if (inPrefix(bytes, parseIpv4(base), length)) return why;
  }
  return undefined;
}

function refusedIpv6(bytes: Uint8Array): string | undefined {
  for (const [base, length, why] of REFUSED_IPV6) {
    if (inPrefix(bytes, parseIpv6(base), length)) return why;
  }
  for (const [base, length, offset, kind] of IPV4_EMBEDDING) {
    if (inPrefix(bytes, parseIpv6(base), length)) {
      const embedded = bytes.slice(offset, offset + 4);
      const why = refusedIpv4(embedded);
      if (why) return `${kind} ${Array.from(embedded).join('.')}: ${why}`;
    }
  }
  // Deprecated (RFC 4291) and never a legitimate destination, whatever IPv4 address it embeds.
  if (inPrefix(bytes, parseIpv6('::'), 96)) return 'IPv4-compatible (deprecated)';
  return undefined;
}

function inPrefix(bytes: Uint8Array, base: Uint8Array, prefixLength: number): boolean {
  for (let bit = 0; bit < prefixLength; bit++) {
    const mask = 0x80 >> bit % 8;
    if ((bytes[bit >> 3] & mask) !== (base[bit >> 3] & mask)) return false;
  }
  return true;
}

function parseIpv4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

/** Parses a valid IPv6 text form (as accepted by net.isIP) into 16 bytes; zone ids are ignored. */
function parseIpv6(text: string): Uint8Array {
  let rest = text.replace(/%.*$/, '').toLowerCase();
  const bytes = new Uint8Array(16);
  let tailV4: number[] = [];
  const lastColon = rest.lastIndexOf(':');
  if (rest.slice(lastColon + 1).includes('.')) {
    tailV4 = rest.slice(lastColon + 1).split('.').map(Number);
    rest = `${rest.slice(0, lastColon + 1)}0:0`;
  }
  const [head, tail] = rest.includes('::') ? rest.split('::') : [rest, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? headGroups
      : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  groups.forEach((group, i) => {
    const value = parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  if (tailV4.length === 4) bytes.set(tailV4, 12);
  return bytes;
}
