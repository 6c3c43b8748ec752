/** Reverse-lookup names (in-addr.arpa, ip6.arpa) for addresses and the reverse zones of pools. Pure. */
import ipaddr from 'ipaddr.js';
import { ipv4Bytes } from './wire';

/** `10.1.2.3` → `3.2.1.10.in-addr.arpa`; IPv6 → 32 nibbles under ip6.arpa. Null for a non-literal. */
export function reverseName(address: string): string | null {
  if (!address.includes(':')) {
    try {
      const b = ipv4Bytes(address);
      // joined, not a template literal: a flat string, not a rope (the index keeps it)
      return [b[3], b[2], b[1], b[0], 'in-addr.arpa'].join('.');
    } catch {
      return null;
    }
  }
  if (ipaddr.IPv6.isValid(address)) {
    return `${nibbles(ipaddr.IPv6.parse(address).toByteArray()).reverse().join('.')}.ip6.arpa`;
  }
  return null;
}

/** Zones above this many per CIDR are not worth listing one by one; the enclosing zone is used. */
const MAX_ZONES_PER_CIDR = 256;

/**
 * The reverse zones that exactly cover a CIDR: the prefix is rounded up to the next label boundary
 * (8 bits for IPv4, 4 for IPv6) so berth never claims addresses outside the pool, e.g.
 * 10.1.16.0/20 → 16 zones 16.1.10.in-addr.arpa … 31.1.10.in-addr.arpa. Throws on a bad CIDR.
 */
export function reverseZones(cidr: string): string[] {
  const [addr, prefix] = ipaddr.parseCIDR(cidr);
  const v4 = addr.kind() === 'ipv4';
  const step = v4 ? 8 : 4;
  const width = v4 ? 32 : 128;
  let boundary = Math.min(Math.ceil(prefix / step) * step, width);
  if (boundary === 0) boundary = step; // never claim all of in-addr.arpa
  if (2 ** (boundary - prefix) > MAX_ZONES_PER_CIDR) boundary = Math.max(step, Math.floor(prefix / step) * step);
  // Network address: clear every bit past the prefix.
  const bytes = addr.toByteArray().map((b, i) => {
    const keepBits = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - keepBits)) & 0xff);
  });
  const digits = v4 ? bytes : nibbles(bytes);
  const count = boundary > prefix ? 2 ** (boundary - prefix) : 1;
  const keep = boundary / step;
  const zones: string[] = [];
  for (let i = 0; i < count; i++) {
    const d = digits.slice(0, keep);
    // Only the bits in [prefix, boundary) vary; they all sit in the last kept digit, which is zero there.
    d[keep - 1] += i;
    const labels = (v4 ? d.map(String) : d.map((x) => x.toString(16))).reverse();
    zones.push(`${labels.join('.')}.${v4 ? 'in-addr.arpa' : 'ip6.arpa'}`);
  }
  return zones;
}

function nibbles(bytes: number[]): number[] {
  const out: number[] = [];
  for (const b of bytes) out.push(b >> 4, b & 15);
  return out;
}
