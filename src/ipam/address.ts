/** Pure IP and CIDR arithmetic on bigint, strict parsing (no octal, no short forms, no zones). */
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;

export interface Ip {
  family: Family;
  value: bigint;
}

export interface Cidr {
  family: Family;
  network: bigint;
  prefixLength: number;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

/** Parses a dotted quad (no leading zeros) or an IPv6 literal without zone; null if neither. */
export function parseIp(raw: string): Ip | null {
  if (typeof raw !== 'string' || raw.length > 45) return null;
  if (ipaddr.IPv4.isValidFourPartDecimal(raw)) {
    // ipaddr accepts leading zeros that some tools read as octal; refuse them.
    if (raw.split('.').some((o) => o.length > 1 && o.startsWith('0'))) return null;
    return { family: 4, value: bytesToBigInt(ipaddr.IPv4.parse(raw).toByteArray()) };
  }
  if (raw.includes(':') && !raw.includes('%') && ipaddr.IPv6.isValid(raw)) {
    return { family: 6, value: bytesToBigInt(ipaddr.IPv6.parse(raw).toByteArray()) };
  }
  return null;
}

/** Canonical text: dotted quad, or RFC 5952 for IPv6. */
export function formatIp(ip: Ip): string {
  const bytes: number[] = [];
  let v = ip.value;
  for (let i = 0; i < BITS[ip.family] / 8; i++) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

/** Parses `a.b.c.d/n` or `x::/n`; `why` says what is wrong (malformed, host bits set). */
export function parseCidr(raw: string): { ok: true; cidr: Cidr } | { ok: false; why: string } {
  if (typeof raw !== 'string') return { ok: false, why: 'not a string' };
  const m = /^([^/]+)\/(\d{1,3})$/.exec(raw.trim());
  if (!m) return { ok: false, why: 'expected address/prefix-length, e.g. 10.20.0.0/16' };
  const ip = parseIp(m[1]);
  if (!ip) return { ok: false, why: `"${m[1]}" is not an IP address` };
  const prefixLength = Number(m[2]);
  if (prefixLength > BITS[ip.family] || (m[2].length > 1 && m[2].startsWith('0'))) {
    return { ok: false, why: `prefix length ${m[2]} is out of range for IPv${ip.family}` };
  }
  const hostMask = (1n << BigInt(BITS[ip.family] - prefixLength)) - 1n;
  if ((ip.value & hostMask) !== 0n) {
    const net = formatIp({ family: ip.family, value: ip.value & ~hostMask });
    return { ok: false, why: `host bits are set (did you mean ${net}/${prefixLength}?)` };
  }
  return { ok: true, cidr: { family: ip.family, network: ip.value, prefixLength } };
}

/** Number of addresses in the CIDR. */
export function cidrSize(c: Cidr): bigint {
  return 1n << BigInt(BITS[c.family] - c.prefixLength);
}

/** Last address of the CIDR (broadcast for IPv4). */
export function cidrLast(c: Cidr): bigint {
  return c.network + cidrSize(c) - 1n;
}

export function cidrContains(c: Cidr, ip: Ip): boolean {
  return c.family === ip.family && ip.value >= c.network && ip.value <= cidrLast(c);
}

export function formatCidr(c: Cidr): string {
  return `${formatIp({ family: c.family, value: c.network })}/${c.prefixLength}`;
}

/**
 * First and last host: IPv4 drops the network and broadcast addresses when the prefix has more
 * than two; IPv6 drops only the Subnet-Router anycast address (`prefix::`).
 */
export function hostRange(c: Cidr): { first: bigint; last: bigint } {
  const size = cidrSize(c);
  if (c.family === 4) return size > 2n ? { first: c.network + 1n, last: cidrLast(c) - 1n } : { first: c.network, last: cidrLast(c) };
  return size > 1n ? { first: c.network + 1n, last: cidrLast(c) } : { first: c.network, last: c.network };
}

function bytesToBigInt(bytes: number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}
