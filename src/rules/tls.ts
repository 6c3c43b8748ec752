import { bad, ok, type Checked } from './checked';

/** `berth.tls`: `off` (plain HTTP only), `on` (HTTPS and plain HTTP), `redirect` (plain HTTP answers 308 to HTTPS). */
export type TlsMode = 'off' | 'on' | 'redirect';
export const TLS_MODES: readonly TlsMode[] = ['off', 'on', 'redirect'];

/** Longest HSTS max-age berth renders: two years, what browsers' preload lists ask for. */
export const HSTS_MAX_SECONDS = 63_072_000;

/** `berth.tls.hsts`: a plain decimal integer 0..HSTS_MAX_SECONDS (no sign, no exponent: it is rendered into a header). */
export function checkHstsSeconds(raw: string): Checked<number> {
  const s = raw.trim();
  if (!/^\d{1,9}$/.test(s)) return bad(`not an integer number of seconds 0..${HSTS_MAX_SECONDS}`);
  const n = Number(s);
  return n <= HSTS_MAX_SECONDS ? ok(n) : bad(`more than ${HSTS_MAX_SECONDS} seconds (two years)`);
}

/**
 * Certificate file names for `domain` in the TLS directory, most specific first: `<domain>` and
 * `_.<parent>` (a wildcard covers exactly one label, RFC 6125 §6.4.3, so only the immediate parent).
 * The domain is an already validated LDH name: the names hold no `/`, space or quote.
 */
export function certificateNames(domain: string): string[] {
  const dot = domain.indexOf('.');
  const parent = dot > 0 ? domain.slice(dot + 1) : '';
  return parent.includes('.') ? [domain, `_.${parent}`] : [domain];
}

/** A TLS directory berth may render into Nginx unquoted: an absolute path of plain characters. */
export function isSafeTlsDir(dir: string): boolean {
  return /^\/[A-Za-z0-9._/-]{0,4000}$/.test(dir) && !dir.split('/').includes('..');
}
