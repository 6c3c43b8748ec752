/**
 * Address rules: what an IP literal is, which addresses a label may name, and which endpoints are
 * never published because they are berth's own sockets. Pure: the settings arrive as an
 * `AddressPolicy` built from configuration.
 */
import ipaddr from 'ipaddr.js';
import { bad, ok, type Checked } from './checked';

const IPV4 = /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/;

/** True when `s` is an IPv4 dotted quad (no leading zeros, no short forms) or an IPv6 literal without zone. */
export function isIpLiteral(s: string): boolean {
  return IPV4.test(s) || (s.length <= 45 && s.includes(':') && !s.includes('%') && ipaddr.IPv6.isValid(s));
}

/** An IP literal, trimmed and normalised (IPv6 in RFC 5952 form). */
export function checkIp(raw: string): Checked<string> {
  const s = raw.trim();
  if (IPV4.test(s)) return ok(s);
  if (isIpLiteral(s)) return ok(ipaddr.IPv6.parse(s).toRFC5952String());
  return bad('not an IP address');
}

/** Address classes a label may never name: traffic to them ends on the proxy host itself or nowhere. */
export type RefusedClass = 'loopback' | 'unspecified' | 'link-local' | 'multicast';

/** A parsed address with IPv4-mapped IPv6 reduced to IPv4, so `::ffff:127.0.0.1` is loopback too. */
function parsed(ip: string): ipaddr.IPv4 | ipaddr.IPv6 {
  return ipaddr.process(ip);
}

/** The refused class of an IP literal, or null. */
export function refusedClass(ip: string): RefusedClass | null {
  const r = parsed(ip).range();
  if (r === 'loopback') return 'loopback';
  if (r === 'unspecified') return 'unspecified';
  if (r === 'linkLocal') return 'link-local';
  if (r === 'multicast' || r === 'broadcast') return 'multicast';
  return null;
}

/**
 * One socket berth itself listens on or talks to. A wildcard listen (0.0.0.0, ::) is given as one
 * socket per local address by the configuration, so an app on the same port elsewhere is not hit.
 */
export interface Socket {
  /** IP literal, or a host name as written in the database URL (compared as text). */
  host: string;
  port: number;
  /** What it is, for problem messages: `API`, `DNS`, `database`. */
  what: string;
}

/** The address policy from configuration (defaults: refuse the classes above, nothing else). */
export interface AddressPolicy {
  /** When non-empty, a fixed IP must lie in one of these; inside them the class rule is waived. */
  allow: readonly string[];
  /** Fixed IPs inside these are refused. */
  deny: readonly string[];
  /** berth's own listen sockets and its database: never an endpoint, from any source. */
  self: readonly Socket[];
}

export const DEFAULT_ADDRESS_POLICY: AddressPolicy = Object.freeze({ allow: [], deny: [], self: [] });

/** Why a fixed IP is refused, with the stable problem code the model raises for it. */
export interface AddressRefusal {
  code: 'FIXED_IP_REFUSED';
  reason: string;
}

function inCidr(ip: ipaddr.IPv4 | ipaddr.IPv6, cidr: string): boolean {
  try {
    const range = ipaddr.parseCIDR(cidr);
    const net =
      range[0].kind() === 'ipv6' && (range[0] as ipaddr.IPv6).isIPv4MappedAddress()
        ? ([(range[0] as ipaddr.IPv6).toIPv4Address(), Math.max(0, range[1] - 96)] as [ipaddr.IPv4, number])
        : range;
    return ip.kind() === net[0].kind() && ip.match(net);
  } catch {
    return false;
  }
}

/** Null when a fixed IP (`berth.ip`, Docker `--ip`) is acceptable under `policy`, else why not. */
export function fixedIpRefusal(ip: string, policy: AddressPolicy): AddressRefusal | null {
  const addr = parsed(ip);
  const denied = policy.deny.find((c) => inCidr(addr, c));
  if (denied) return { code: 'FIXED_IP_REFUSED', reason: `${ip} is inside the denied range ${denied}` };
  const cls = refusedClass(ip);
  const allowed = policy.allow.find((c) => inCidr(addr, c));
  // unspecified and multicast are never a unicast destination, whatever the allow list says.
  if (cls === 'unspecified' || cls === 'multicast') return { code: 'FIXED_IP_REFUSED', reason: `${ip} is a ${cls} address` };
  if (policy.allow.length > 0 && !allowed) {
    return { code: 'FIXED_IP_REFUSED', reason: `${ip} is outside the allowed ranges ${policy.allow.join(', ')}` };
  }
  if (cls !== null && !allowed) return { code: 'FIXED_IP_REFUSED', reason: `${ip} is a ${cls} address` };
  return null;
}

/** The socket of berth's own that `address:port` is, or null. */
export function selfSocket(address: string, port: number, policy: AddressPolicy): Socket | null {
  // Ports first: parsing every task address of a 2,000-app snapshot when no socket of berth's has
  // that port was a fifth of the spec time. The address is parsed at most once, and only then.
  let key: string | undefined;
  for (const s of policy.self) {
    if (s.port !== port) continue;
    if (key === undefined) {
      try {
        key = parsed(address).toNormalizedString();
      } catch {
        return null;
      }
    }
    const host = normalizedHost(s.host);
    // a host name (database URL): compared as written
    if (host === null ? s.host === address : host === key) return s;
  }
  return null;
}

/** Normalised form of a socket's host (null: not an IP literal), remembered: the sockets are few and fixed. */
const hostKeys = new Map<string, string | null>();
function normalizedHost(host: string): string | null {
  let k = hostKeys.get(host);
  if (k === undefined) {
    try {
      k = parsed(host).toNormalizedString();
    } catch {
      k = null;
    }
    if (hostKeys.size < 1_000) hostKeys.set(host, k);
  }
  return k;
}
