/**
 * Per-app proxy option rules (docs/labels.md "Proxy options"): timeouts, the request body limit,
 * the client allow-list and sticky sessions. Each accepted value is normalised to a form that is inert in Nginx syntax
 * (digits, or an address with a prefix length), so the renderer can print it as it is.
 */
import ipaddr from 'ipaddr.js';
import { isIpLiteral } from './addresses';
import { bad, ok, type Checked } from './checked';

/** Bounds and defaults; the defaults are what the templates used before the labels existed. */
export const PROXY_OPTION_LIMITS = Object.freeze({
  connectTimeout: { min: 1, max: 60, default: 5 },
  readTimeout: { min: 1, max: 3600, default: 60 },
  /** 1 GiB; 0 (Nginx's "unlimited") is refused: one app must not accept unbounded uploads through the shared proxy. */
  bodyMax: { min: 1, max: 1024 * 1024 * 1024 },
  allowEntries: 64,
});

const SECONDS = /^[1-9][0-9]{0,5}$/;

/** Whole seconds, digits only (no sign, unit, leading zero or space), within `min..max`. */
export function checkSeconds(raw: string, min: number, max: number): Checked<number> {
  if (!SECONDS.test(raw)) return bad(`must be whole seconds ${min}..${max} (digits only, e.g. 30)`);
  const n = Number(raw);
  if (n < min || n > max) return bad(`must be whole seconds ${min}..${max}, got ${n}`);
  return ok(n);
}

const SIZE = /^([1-9][0-9]{0,9})([kmg]?)$/;
const UNIT: Record<string, number> = { '': 1, k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 };

/** A size in bytes: digits with an optional lowercase `k`, `m` or `g` (powers of 1024), 1 byte..1g. */
export function checkBodySize(raw: string): Checked<number> {
  const m = SIZE.exec(raw);
  const { min, max } = PROXY_OPTION_LIMITS.bodyMax;
  if (!m) return bad('must be a size like 512k, 10m or 1g (digits, optional k/m/g, no 0)');
  const n = Number(m[1]) * UNIT[m[2]];
  if (n < min || n > max) return bad(`must be at most 1g, got ${raw}`);
  return ok(n);
}

/** One allow-list entry: an address or `address/prefix`, host bits zero; IPv6 in RFC 5952 form. */
export function checkCidr(raw: string): Checked<string> {
  const slash = raw.indexOf('/');
  const addr = slash < 0 ? raw : raw.slice(0, slash);
  const len = slash < 0 ? null : raw.slice(slash + 1);
  if (!isIpLiteral(addr)) return bad(`"${raw}" is not an address or CIDR`);
  const v6 = addr.includes(':');
  const bits = v6 ? 128 : 32;
  if (len !== null && !/^(0|[1-9][0-9]{0,2})$/.test(len)) return bad(`"${raw}" has a bad prefix length`);
  const prefix = len === null ? bits : Number(len);
  if (prefix > bits) return bad(`"${raw}" has a prefix length above ${bits}`);
  const ip = ipaddr.parse(addr);
  const network = v6 ? ipaddr.IPv6.subnetMaskFromPrefixLength(prefix) : ipaddr.IPv4.subnetMaskFromPrefixLength(prefix);
  const masked = ip.toByteArray().map((b, i) => b & network.toByteArray()[i]);
  if (masked.some((b, i) => b !== ip.toByteArray()[i]))
    return bad(`"${raw}" has host bits set (the network is ${ipaddr.fromByteArray(masked).toString()}/${prefix})`);
  const text = v6 ? (ip as ipaddr.IPv6).toRFC5952String() : addr;
  return ok(len === null ? text : `${text}/${prefix}`);
}

/** A comma-separated allow-list of 1..64 addresses or CIDRs (IPv4 and IPv6), each checked by `checkCidr`. */
export function checkCidrList(raw: string): Checked<string[]> {
  const parts = raw.split(',').map((s) => s.trim());
  const max = PROXY_OPTION_LIMITS.allowEntries;
  if (parts.length > max) return bad(`at most ${max} entries, got ${parts.length}`);
  const out: string[] = [];
  for (const [i, p] of parts.entries()) {
    if (p === '') return bad(`entry ${i + 1} is empty (a stray comma?)`);
    const c = checkCidr(p);
    if (!c.ok) return c;
    if (!out.includes(c.value)) out.push(c.value);
  }
  return ok(out);
}

/** Render-time check of a normalised allow entry: only characters inert in Nginx syntax. */
export function isAllowEntry(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 50 && checkCidr(v).ok;
}

/** `berth.sticky` values; `off` (the default) is accepted and leaves the option unset. */
export const STICKY_MODES = ['off', 'cookie', 'ip'] as const;
export type StickyMode = Exclude<(typeof STICKY_MODES)[number], 'off'>;

/** Render-time check of a sticky mode: only the two values the templates know. */
export function isStickyMode(v: unknown): v is StickyMode {
  return v === 'cookie' || v === 'ip';
}

/** A well-formed label name for `BERTH_LABELS_DENY`: lowercase dotted words, e.g. `berth.allow`. */
export const LABEL_NAME = /^[a-z0-9]([a-z0-9_-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9_-]*[a-z0-9])?)+$/;

/**
 * True when label `key` is denied by the full name `denied`: the name itself, or its per-port form
 * `<prefix>port.<port>.<rest>` (so denying `berth.proxy` also denies `berth.port.web.proxy`).
 * Generic: it also covers labels other parts of berth read (e.g. `berth.tls`), known here or not.
 */
export function isLabelDenied(key: string, denied: string, prefix: string): boolean {
  if (key === denied) return true;
  if (!denied.startsWith(prefix)) return false;
  const head = `${prefix}port.`;
  const tail = `.${denied.slice(prefix.length)}`;
  return key.startsWith(head) && key.endsWith(tail) && key.length > head.length + tail.length;
}
