/** DNS wire-format constants, name keys and validated address/name parsing (RFC 1035). Pure. */
import ipaddr from 'ipaddr.js';

export const TYPE = { A: 1, NS: 2, SOA: 6, PTR: 12, AAAA: 28, SRV: 33, OPT: 41, ANY: 255 } as const;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export const CLASS_IN = 1;

/**
 * Index key for a name: the lowercase wire labels without the terminating zero, as a latin1 string
 * (`api.shop` → `"\x03api\x04shop"`). The query path builds the same key straight from packet bytes
 * without splitting or joining strings.
 */
export function nameKey(name: string): string {
  // Written through a Buffer so the result is a flat string: concatenation would build a rope
  // that every Map lookup has to flatten first.
  const n = Math.min(name.length + 1, keyScratch.length);
  keyScratch.write(name, 1, n - 1, 'latin1');
  let lenAt = 0;
  for (let i = 1; i < n; i++) {
    if (keyScratch[i] === 0x2e) {
      keyScratch[lenAt] = i - lenAt - 1;
      lenAt = i;
    }
  }
  keyScratch[lenAt] = n - lenAt - 1;
  return name.length === 0 ? '' : keyScratch.toString('latin1', 0, n);
}
const keyScratch = Buffer.alloc(512);

/** The dotted name of an index key (for logs and tests). */
export function keyName(key: string): string {
  const labels: string[] = [];
  for (let i = 0; i < key.length;) {
    const len = key.charCodeAt(i);
    labels.push(key.slice(i + 1, i + 1 + len));
    i += 1 + len;
  }
  return labels.join('.');
}

/** Throws unless `name` is a printable-ASCII DNS name that fits the wire limits (63/255). One pass, no allocation. */
export function checkName(name: string): void {
  if (name.length > 253) throw new Error(`name too long: ${name.slice(0, 40)}…`);
  let label = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2e) {
      if (label === 0) throw new Error(`empty label in ${name}`);
      label = 0;
    } else if (c < 0x21 || c > 0x7e) {
      throw new Error(`non-printable byte in ${name}`);
    } else if (++label > 63) {
      throw new Error(`label longer than 63 in ${name}`);
    }
  }
  if (label === 0 && name.length > 0) throw new Error(`empty label in ${name}`);
}

/** IPv4 literal → 4 bytes; throws on anything that is not dotted-quad decimal (no leading zeros). */
export function ipv4Bytes(address: string): number[] {
  const out = [0, 0, 0, 0];
  let part = 0,
    digits = 0,
    v = 0;
  for (let i = 0; i <= address.length; i++) {
    const c = i < address.length ? address.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || part > 3) throw new Error(`not an IPv4 address: ${address}`);
      out[part++] = v;
      digits = 0;
      v = 0;
    } else if (c >= 0x30 && c <= 0x39 && !(digits === 1 && v === 0)) {
      v = v * 10 + (c - 0x30);
      if (++digits > 3 || v > 255) throw new Error(`not an IPv4 address: ${address}`);
    } else {
      throw new Error(`not an IPv4 address: ${address}`);
    }
  }
  if (part !== 4) throw new Error(`not an IPv4 address: ${address}`);
  return out;
}

/** IPv6 literal → 16 bytes; throws otherwise. */
export function ipv6Bytes(address: string): number[] {
  if (!ipaddr.IPv6.isValid(address)) throw new Error(`not an IPv6 address: ${address}`);
  return ipaddr.IPv6.parse(address).toByteArray();
}

/** Wire length of a name including the terminating zero byte. */
export function wireLength(name: string): number {
  return name === '' ? 1 : name.length + 2;
}
