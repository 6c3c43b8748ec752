/**
 * The demo's HTTPS: one self-signed pair for one app's domain, kept in the demo's own TLS folder
 * (`./var/tls`, BERTH_TLS_DIR of the berth it starts). A pair from an earlier run is reused while
 * berth itself would serve it without complaint (same check as the sync: parses, key matches, valid
 * for the name and dates) and it is not close to TLS_CERT_EXPIRING; otherwise it is made again.
 */
import fs from 'node:fs';
import { checkPair } from '../nginx/tls-certs';
import { isSafeTlsDir } from '../rules';
import { makeSelfSignedPair, opensslVersion } from './self-signed';

const DAY_MS = 86_400_000;

export interface DemoCertOptions {
  /** Absolute folder (created, mode 0700). */
  dir: string;
  domain: string;
  now: number;
  /** BERTH_TLS_EXPIRY_WARN_DAYS of the berth the demo starts: a reused pair never raises TLS_CERT_EXPIRING. */
  warnDays: number;
  openssl?: string;
}

/** What the demo serves over HTTPS: `domain` on the Nginx's loopback `port`, certificate file `cert`. */
export interface DemoHttps {
  domain: string;
  port: number;
  cert: string;
}

export type DemoCert =
  { ok: true; cert: string; key: string; notAfter: number; /** Why it was made this run; undefined: reused. */ made?: string } | { ok: false; reason: string };

/** How long a made pair is valid, and how close to its end it is made again (both past the warning). */
export const certDays = (warnDays: number) => ({ valid: warnDays + 90, renewWithin: warnDays + 30 });

/** A pair for `domain` in `dir`: the existing one when still good, else a new one (needs openssl). */
export async function ensureDemoCert(o: DemoCertOptions): Promise<DemoCert> {
  const bin = o.openssl ?? 'openssl';
  if (!opensslVersion(bin)) return { ok: false, reason: 'openssl is not installed (apt-get install openssl)' };
  // berth writes the folder into Nginx unquoted, and the panel into a shell command.
  if (!isSafeTlsDir(o.dir)) return { ok: false, reason: `${o.dir} cannot be BERTH_TLS_DIR (absolute, only letters, digits, . _ - /); pick another --data-dir` };
  fs.mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const days = certDays(o.warnDays);
  const existing = await checkPair(o.dir, o.domain, o.domain, o.now);
  let made: string;
  if (!existing.ok) made = existing.reason;
  else if (existing.notAfter - o.now < days.renewWithin * DAY_MS) made = `${o.domain}.crt expires ${new Date(existing.notAfter).toISOString()}`;
  else return { ok: true, cert: existing.cert, key: existing.key, notAfter: existing.notAfter };
  try {
    makeSelfSignedPair(o.dir, o.domain, [o.domain], days.valid, bin);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  // Its notBefore is the second openssl ran, which may be later than `now`.
  const fresh = await checkPair(o.dir, o.domain, o.domain, Math.max(o.now, Date.now()));
  if (!fresh.ok) return { ok: false, reason: `the certificate openssl made is not usable: ${fresh.reason}` };
  return { ok: true, cert: fresh.cert, key: fresh.key, notAfter: fresh.notAfter, made };
}
