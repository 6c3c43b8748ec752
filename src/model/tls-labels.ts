/**
 * `berth.tls` and `berth.tls.hsts` of the main service (docs/labels.md "TLS"). Certificates never
 * come from labels: only the mode and the HSTS max-age do; the operator's TLS directory holds the pairs.
 */
import { checkHstsSeconds, TLS_MODES, type TlsMode } from '../rules';
import type { Fail } from './port-choice';
import { PROBLEM_CODES as C } from './problems';
import { checkOneOf } from './validate';

/** What the service carries: nothing for `off` (so specs without TLS look as they always did). */
export interface TlsSettings {
  tls?: Exclude<TlsMode, 'off'>;
  hsts?: number;
}

export function tlsSettings(keys: { tls: string; hsts: string }, get: (k: string) => string | undefined, fail: Fail): TlsSettings {
  const out: TlsSettings = {};
  const modeRaw = get(keys.tls);
  if (modeRaw !== undefined) {
    const m = checkOneOf(modeRaw, TLS_MODES);
    if (!m.ok) fail(C.LABEL_TLS_INVALID, keys.tls, modeRaw, m.reason);
    else if (m.value !== 'off') out.tls = m.value;
  }
  const hstsRaw = get(keys.hsts);
  if (hstsRaw !== undefined) {
    const h = checkHstsSeconds(hstsRaw);
    if (!h.ok) fail(C.LABEL_HSTS_INVALID, keys.hsts, hstsRaw, h.reason);
    // HSTS is only ever sent over HTTPS; without TLS the label means nothing.
    else if (out.tls !== undefined) out.hsts = h.value;
  }
  return out;
}
