/**
 * Path prefixes of HTTP apps (`berth.path`, docs/labels.md "Path prefixes"). A prefix becomes an
 * Nginx prefix `location`, so every accepted value is made only of characters that are inert in
 * Nginx syntax and carry no meaning in a location match: no whitespace, `;`, `{`, `}`, quotes,
 * `$`, `\`, `#`, `%`, `*`, `~`, `^`, NUL or other controls. Values are normalised once here, and
 * everything downstream (conflicts, rendering) compares the normalised form.
 */
import { bad, ok, type Checked } from './checked';
import { display } from './strings';

export const PATH_LIMITS = Object.freeze({
  /** Longest prefix, in characters (a leading `/` included). */
  length: 128,
  /** Prefixes one app may claim. */
  count: 16,
  /** Segments (`/a/b/c` has three). */
  segments: 8,
});

/**
 * One segment: letters, digits and `-._~` (RFC 3986 unreserved) plus `@` `+` `:` `!` `=`. Matched
 * against the decoded request path, so `%` (encoding) is refused rather than silently never matching.
 */
const SEGMENT = /^[A-Za-z0-9._~@+:!=-]+$/;

/**
 * One prefix, normalised: a leading `/`, no trailing `/` (`/api/` → `/api`), case kept (Nginx
 * matches paths case-sensitively). `/` alone is refused: an app without `berth.path` is the domain's
 * `/` app. Empty, `.` and `..` segments (`//`, `/./`, `/../`) are refused: Nginx merges them in the
 * request before matching, so such a prefix could never match.
 */
export function checkPathPrefix(raw: string): Checked<string> {
  const s = raw.trim();
  if (s === '') return bad('empty prefix (a stray comma?)');
  if (!s.startsWith('/')) return bad(`"${display(s, 60, false)}" must start with /`);
  const trimmed = s.length > 1 && s.endsWith('/') ? s.slice(0, -1) : s;
  if (trimmed === '/') return bad('"/" is the domain\'s default app: leave berth.path out instead');
  if (trimmed.length > PATH_LIMITS.length) return bad(`longer than ${PATH_LIMITS.length} characters`);
  const segments = trimmed.slice(1).split('/');
  if (segments.length > PATH_LIMITS.segments) return bad(`more than ${PATH_LIMITS.segments} segments`);
  for (const seg of segments) {
    if (seg === '') return bad(`"${display(s, 60, false)}" has an empty segment (//)`);
    if (seg === '.' || seg === '..') return bad(`"${display(s, 60, false)}" has a ${seg} segment`);
    if (!SEGMENT.test(seg)) return bad(`"${display(s, 60, false)}" has a character outside letters, digits and - . _ ~ @ + : ! =`);
  }
  return ok(trimmed);
}

/** `berth.path`: 1..16 comma-separated prefixes, each checked by `checkPathPrefix`, deduplicated in order. */
export function checkPathList(raw: string): Checked<string[]> {
  const parts = raw.split(',');
  if (parts.length > PATH_LIMITS.count) return bad(`at most ${PATH_LIMITS.count} prefixes, got ${parts.length}`);
  const out: string[] = [];
  for (const p of parts) {
    const c = checkPathPrefix(p);
    if (!c.ok) return c;
    if (!out.includes(c.value)) out.push(c.value);
  }
  return ok(out);
}

/** Render-time check of a normalised prefix (defence in depth: the value is printed into a location). */
export function isPathPrefix(v: unknown): v is string {
  if (typeof v !== 'string' || v.length > PATH_LIMITS.length) return false;
  const c = checkPathPrefix(v);
  return c.ok && c.value === v;
}
