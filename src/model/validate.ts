/**
 * Strict validators for label values. Nothing from a label reaches a config file or a DNS answer
 * without passing one of these; they accept a narrow grammar and return a normalised value.
 */
import ipaddr from 'ipaddr.js';

/** Result of a validator: the normalised value, or why it was refused. */
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const bad = <T>(reason: string): Checked<T> => ({ ok: false, reason });

// LDH labels (RFC 1035 §2.3.1, RFC 1123 lets them start with a digit); `_` is refused because
// Nginx server_name and most resolvers treat it inconsistently.
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** One DNS name: lowercase, no trailing dot, ≤ 253 characters, labels 1..63 of [a-z0-9-]. */
export function checkDomain(raw: string): Checked<string> {
  let name = raw.trim().toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.length === 0) return bad('empty name');
  // 253 = 255 octets on the wire minus the length byte of the first label and the root label.
  if (name.length > 253) return bad(`name longer than 253 characters (${name.length})`);
  const labels = name.split('.');
  for (const l of labels) {
    if (l.length === 0) return bad('empty label');
    if (l.length > 63) return bad(`label longer than 63 characters: ${l.slice(0, 20)}…`);
    if (!DNS_LABEL.test(l)) return bad(`label "${l}" is not letters, digits and inner hyphens`);
  }
  // An all-numeric last label would read as an IPv4 address to Nginx and resolvers.
  if (/^[0-9]+$/.test(labels[labels.length - 1])) return bad('last label is numeric');
  return ok(name);
}

/** A comma-separated list of DNS names, deduplicated in order; the first is the primary name. */
export function checkDomainList(raw: string): Checked<string[]> {
  const parts = raw.split(',');
  const out: string[] = [];
  for (const p of parts) {
    const c = checkDomain(p);
    if (!c.ok) return bad(`"${p.trim().slice(0, 80)}": ${c.reason}`);
    if (!out.includes(c.value)) out.push(c.value);
  }
  return ok(out);
}

/** A TCP port 1..65535 written as plain decimal digits. */
export function checkPort(raw: string): Checked<number> {
  const s = raw.trim();
  if (!/^[0-9]{1,5}$/.test(s)) return bad('not a port number');
  const n = Number(s);
  if (n < 1 || n > 65535) return bad(`port ${n} outside 1..65535`);
  return ok(n);
}

/** A Marathon port name (`portMappings[].name`): IANA-service-name-like, so it is safe in SRV labels. */
export function checkPortName(raw: string): Checked<string> {
  const s = raw.trim();
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(s)) return bad('not a port name');
  return ok(s);
}

const IPV4 = /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/;

/** An IPv4 dotted quad (no leading zeros, no short forms) or an IPv6 literal without zone; normalised. */
export function checkIp(raw: string): Checked<string> {
  const s = raw.trim();
  if (IPV4.test(s)) return ok(s);
  if (s.includes(':') && !s.includes('%') && ipaddr.IPv6.isValid(s)) {
    return ok(ipaddr.IPv6.parse(s).toRFC5952String());
  }
  return bad('not an IP address');
}

/** True when `s` is already an IP literal (a task `host` that needs no resolution). */
export function isIpLiteral(s: string): boolean {
  return IPV4.test(s) || (s.includes(':') && !s.includes('%') && ipaddr.IPv6.isValid(s));
}

/** An environment name: `[a-z0-9-]{1,32}` (it becomes a directory name and a DNS view). */
export function checkEnv(raw: string): Checked<string> {
  const s = raw.trim();
  if (!/^[a-z0-9-]{1,32}$/.test(s)) return bad('not [a-z0-9-]{1,32}');
  return ok(s);
}

/** One of a fixed set of words. */
export function checkOneOf<T extends string>(raw: string, allowed: readonly T[]): Checked<T> {
  const s = raw.trim().toLowerCase();
  return (allowed as readonly string[]).includes(s) ? ok(s as T) : bad(`not one of ${allowed.join(', ')}`);
}
