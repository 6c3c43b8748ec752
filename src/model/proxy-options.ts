/**
 * The app's proxy options (`berth.timeout.connect`, `berth.timeout.read`, `berth.body.max`,
 * `berth.allow`, `berth.sticky`): one set per app, shared by every service it publishes. An invalid value is a
 * problem naming the label (the app is not published), never a value passed to Nginx.
 */
import { checkBodySize, checkCidrList, checkSeconds, PROXY_OPTION_LIMITS as L, STICKY_MODES } from '../rules';
import type { LabelNames } from './labels';
import type { Fail } from './port-choice';
import { PROBLEM_CODES as C } from './problems';
import type { ProxyMode, ProxyOptions } from './types';
import { checkOneOf } from './validate';

/** The options set by labels (empty object when none); `get` gives a clean value or undefined. */
export function parseProxyOptions(names: LabelNames, get: (k: string) => string | undefined, fail: Fail): ProxyOptions {
  const out: ProxyOptions = {};
  const connect = get(names['timeout.connect']);
  if (connect !== undefined) {
    const c = checkSeconds(connect, L.connectTimeout.min, L.connectTimeout.max);
    if (c.ok) out.connectTimeout = c.value;
    else fail(C.LABEL_TIMEOUT_INVALID, names['timeout.connect'], connect, c.reason);
  }
  const read = get(names['timeout.read']);
  if (read !== undefined) {
    const c = checkSeconds(read, L.readTimeout.min, L.readTimeout.max);
    if (c.ok) out.readTimeout = c.value;
    else fail(C.LABEL_TIMEOUT_INVALID, names['timeout.read'], read, c.reason);
  }
  const body = get(names['body.max']);
  if (body !== undefined) {
    const c = checkBodySize(body);
    if (c.ok) out.bodyMax = c.value;
    else fail(C.LABEL_BODY_MAX_INVALID, names['body.max'], body, c.reason);
  }
  const allow = get(names.allow);
  if (allow !== undefined) {
    const c = checkCidrList(allow);
    if (c.ok) out.allow = c.value;
    else fail(C.LABEL_ALLOW_INVALID, names.allow, allow, c.reason);
  }
  const sticky = get(names.sticky);
  if (sticky !== undefined) {
    const c = checkOneOf(sticky, STICKY_MODES);
    if (!c.ok) fail(C.LABEL_STICKY_INVALID, names.sticky, sticky, c.reason);
    else if (c.value !== 'off') out.sticky = c.value;
  }
  return out;
}

/**
 * HTTP-only options make no sense for a tcp service: refused rather than silently dropped. One
 * problem names every such label (problems are kept one per app and code).
 */
export function checkOptionsForProxies(options: ProxyOptions, proxies: readonly ProxyMode[], names: LabelNames, fail: Fail): void {
  if (!proxies.includes('tcp')) return;
  // `ip` works on stream upstreams too (hash on the client address); a cookie needs HTTP.
  const labels = [
    ...(options.readTimeout !== undefined ? [names['timeout.read']] : []),
    ...(options.bodyMax !== undefined ? [names['body.max']] : []),
    ...(options.sticky === 'cookie' ? [names.sticky] : []),
  ];
  if (labels.length === 0) return;
  const cookie = options.sticky === 'cookie' ? ` (${names.sticky}=ip works for tcp)` : '';
  fail(C.LABEL_NOT_FOR_TCP, labels[0], undefined, `${labels.join(', ')}: HTTP only, and this app publishes a tcp service${cookie}`);
}
