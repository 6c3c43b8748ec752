/**
 * `berth.path` and `berth.path.strip` of the main service (docs/labels.md "Path prefixes"): the
 * URL prefixes an HTTP app serves on its domains, which other apps may share by prefix. The
 * grammar is src/rules `checkPathList`; what is here is which services may carry it.
 */
import { checkPathList } from '../rules';
import type { Fail } from './port-choice';
import { PROBLEM_CODES as C } from './problems';
import type { ProxyMode } from './types';
import { checkOneOf } from './validate';

/** What the service carries: nothing without `berth.path` (so specs without it look as they always did). */
export interface PathSettings {
  /** Normalised prefixes (`/api`, no trailing slash), at least one. */
  paths?: string[];
  /** `berth.path.strip=true`: the prefix is removed before the request is proxied. */
  pathStrip?: true;
}

const BOOLEAN = ['true', 'false'] as const;

/** `proxy`: the main service's mode (null when the app has no main service: the labels are then refused). */
export function pathSettings(keys: { path: string; strip: string }, get: (k: string) => string | undefined, proxy: ProxyMode | null, fail: Fail): PathSettings {
  const out: PathSettings = {};
  const raw = get(keys.path);
  const stripRaw = get(keys.strip);
  let strip = false;
  if (stripRaw !== undefined) {
    const s = checkOneOf(stripRaw, BOOLEAN);
    if (!s.ok) fail(C.LABEL_PATH_INVALID, keys.strip, stripRaw, s.reason);
    else strip = s.value === 'true';
  }
  if (raw === undefined) {
    if (strip) fail(C.LABEL_PATH_INVALID, keys.strip, stripRaw, `means nothing without ${keys.path}`);
    return out;
  }
  const c = checkPathList(raw);
  if (!c.ok) {
    fail(C.LABEL_PATH_INVALID, keys.path, raw, c.reason);
    return out;
  }
  // Paths are a matter of HTTP requests: a tcp (or unproxied) service has none to split.
  if (proxy !== 'http') {
    fail(C.LABEL_PATH_INVALID, keys.path, raw, proxy === null ? 'needs the main service (berth.domain)' : `HTTP only, and this service is proxy ${proxy}`);
    return out;
  }
  out.paths = c.value;
  if (strip) out.pathStrip = true;
  return out;
}
