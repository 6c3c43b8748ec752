/**
 * The catalog diff: what changed between the published catalog and the desired one, so the
 * registry writes only changes (and logs one line per change).
 */
import { problemKey } from './problems';
import { drain, type Steps } from './steps';
import type { Endpoint, Problem, Service } from './types';

/** Services to write and to remove, keyed by `serviceKey` (an app publishes a main service and one per published port). */
export interface CatalogDiff {
  upserts: Service[];
  removals: Service[];
}

/** Compare two catalogs keyed by service key. Only the keys in `touched` are compared when given. */
export function diffCatalog(prev: ReadonlyMap<string, Service>, next: ReadonlyMap<string, Service>, touched?: Iterable<string>): CatalogDiff {
  return drain(diffCatalogSteps(prev, next, touched));
}

/** `diffCatalog` as steps: one per service key compared (model/steps.ts). */
export function* diffCatalogSteps(prev: ReadonlyMap<string, Service>, next: ReadonlyMap<string, Service>, touched?: Iterable<string>): Steps<CatalogDiff> {
  const upserts: Service[] = [];
  const removals: Service[] = [];
  const check = (id: string): void => {
    const a = prev.get(id);
    const b = next.get(id);
    if (b && (!a || !sameService(a, b))) upserts.push(b);
    else if (a && !b) removals.push(a);
  };
  if (touched) {
    for (const id of new Set(touched)) {
      check(id);
      yield;
    }
  } else {
    for (const id of next.keys()) {
      check(id);
      yield;
    }
    for (const id of prev.keys()) {
      if (!next.has(id)) check(id);
      yield;
    }
  }
  return { upserts, removals };
}

/** Deep equality of two services (endpoints are sorted by task id, so order is significant). */
export function sameService(a: Service, b: Service): boolean {
  return (
    a.env === b.env &&
    a.appId === b.appId &&
    a.port === b.port &&
    a.proxy === b.proxy &&
    a.listen === b.listen &&
    a.dns === b.dns &&
    a.portName === b.portName &&
    a.servicePort === b.servicePort &&
    a.fixedIp === b.fixedIp &&
    a.tls === b.tls &&
    a.hsts === b.hsts &&
    a.pathStrip === b.pathStrip &&
    (a.paths === b.paths || JSON.stringify(a.paths ?? null) === JSON.stringify(b.paths ?? null)) &&
    a.version === b.version &&
    a.domains.length === b.domains.length &&
    a.domains.every((d, i) => d === b.domains[i]) &&
    // Options are small and rare: compared as JSON (both built by the same parser, same key order).
    (a.options === b.options || JSON.stringify(a.options ?? null) === JSON.stringify(b.options ?? null)) &&
    sameEndpoints(a.endpoints, b.endpoints)
  );
}

function sameEndpoints(a: Endpoint[], b: Endpoint[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.taskId !== y.taskId || x.address !== y.address || x.port !== y.port || x.host !== y.host) return false;
  }
  return true;
}

/** Problems raised, cleared and changed (same app and code, different message or details). */
export interface ProblemDiff {
  raised: Problem[];
  cleared: Problem[];
  changed: Problem[];
}

/** Compare stored problems with the desired set; `since` is kept from the stored one. */
export function diffProblems(prev: ReadonlyMap<string, Problem>, next: Iterable<Problem>): ProblemDiff {
  const raised: Problem[] = [];
  const changed: Problem[] = [];
  const seen = new Set<string>();
  for (const p of next) {
    const k = problemKey(p);
    if (seen.has(k)) continue;
    seen.add(k);
    const old = prev.get(k);
    if (!old) raised.push(p);
    else if (old.message !== p.message || old.env !== p.env || JSON.stringify(old.details ?? null) !== JSON.stringify(p.details ?? null)) {
      changed.push({ ...p, since: old.since });
    }
  }
  const cleared: Problem[] = [];
  for (const [k, p] of prev) if (!seen.has(k)) cleared.push(p);
  return { raised, cleared, changed };
}
