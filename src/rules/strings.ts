/**
 * Untrusted strings: everything Marathon sends is checked here before any other rule looks at it,
 * so no value can make a database write (PostgreSQL refuses NUL in text and jsonb), a snapshot or a
 * render fail as a whole. A refused value becomes a per-app problem whose message shows the value
 * escaped by `display`.
 */
import { bad, ok, type Checked } from './checked';

/** Why a string was refused; stable words, shown in problem details. */
export type UntrustedReason = 'not-a-string' | 'nul' | 'lone-surrogate' | 'control-character' | 'too-long' | 'empty';

/** The kinds of strings berth reads from Marathon, each with its own length limit. */
export type StringKind = 'appId' | 'labelKey' | 'labelValue' | 'envName' | 'host' | 'portName' | 'taskId' | 'ip' | 'version';

/**
 * Longest accepted value per kind, in UTF-16 code units; the one place these limits are defined.
 * appId: 255, what Nginx always accepted (long ids get hashed file names, see nginx/names.ts);
 * envName: it becomes a folder, a DNS view and part of Nginx upstream names; labelValue: ten
 * full-length domains fit; host: an RFC 1035 name; portName: `_<name>` must still be a DNS label.
 */
export const MAX_LENGTH: Readonly<Record<StringKind, number>> = Object.freeze({
  appId: 255,
  labelKey: 256,
  labelValue: 4096,
  envName: 32,
  host: 253,
  portName: 62,
  taskId: 512,
  ip: 45,
  version: 64,
});

export interface Refusal {
  reason: UntrustedReason;
  message: string;
}

/**
 * A clean string of `kind`, or the first reason it is unusable: not a string, empty, longer than
 * the limit, NUL, a lone surrogate (not encodable as UTF-8) or a C0/C1 control character or DEL.
 */
export function checkUntrusted(raw: unknown, kind: StringKind): { ok: true; value: string } | ({ ok: false } & Refusal) {
  if (typeof raw !== 'string') return { ok: false, reason: 'not-a-string', message: `${kind} is not a string` };
  if (raw.length === 0) return { ok: false, reason: 'empty', message: `${kind} is empty` };
  const max = MAX_LENGTH[kind];
  if (raw.length > max) return { ok: false, reason: 'too-long', message: `${kind} longer than ${max} characters (${raw.length})` };
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0) return { ok: false, reason: 'nul', message: `${kind} contains NUL at ${i}` };
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      return { ok: false, reason: 'control-character', message: `${kind} contains control character U+${hex4(c)} at ${i}` };
    }
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = raw.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return { ok: false, reason: 'lone-surrogate', message: `${kind} contains a lone surrogate U+${hex4(c)} at ${i}` };
    }
    if (c >= 0xdc00 && c <= 0xdfff) return { ok: false, reason: 'lone-surrogate', message: `${kind} contains a lone surrogate U+${hex4(c)} at ${i}` };
  }
  return { ok: true, value: raw };
}

/** `checkUntrusted` as a `Checked`, for chaining with the grammar rules. */
export function untrusted(raw: unknown, kind: StringKind): Checked<string> {
  const c = checkUntrusted(raw, kind);
  return c.ok ? ok(c.value) : bad(c.message);
}

/** True when `raw` is a string `checkUntrusted` accepts for `kind`. */
export function isClean(raw: unknown, kind: StringKind): raw is string {
  return checkUntrusted(raw, kind).ok;
}

/**
 * A printable, storable rendering of any value: JSON-escaped (so NUL, controls and lone surrogates
 * become `\u0000`-style text, pure ASCII) and cut to `max` characters with `…`. `quotes` false keeps
 * `"` as is (for messages that quote values themselves).
 */
export function display(raw: unknown, max = 120, quotes = true): string {
  const s = typeof raw === 'string' ? raw : raw === undefined ? 'undefined' : String(raw);
  const head = s.length > max ? s.slice(0, max) : s;
  let out = '';
  for (let i = 0; i < head.length; i++) {
    const c = head.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x5c && (c !== 0x22 || !quotes)) out += head[i];
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x22) out += '\\"';
    else out += `\\u${hex4(c)}`;
  }
  return s.length > max ? `${out}…` : out;
}

function hex4(c: number): string {
  return c.toString(16).padStart(4, '0');
}

/** 53-bit string hash (cyrb53), hex; used to keep distinct unusable ids distinct after truncation. */
export function shortHash(s: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
}
