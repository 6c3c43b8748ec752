/**
 * Domain and tcp listen-port conflicts: the older app keeps the claim, the newer one is skipped with
 * a problem. "Older" = first seen by berth (published apps are restored with their original time),
 * then Marathon's last config change, then app id, so the outcome is deterministic and a published
 * owner is never displaced by a newcomer.
 *
 * Where claims collide: a domain within one environment (one DNS view), and — for apps Nginx
 * renders — within one Nginx name space: an `http` app's domains are its `server_name`s, a `tcp`
 * app's listen port is a `listen` in `stream {}`. With a shared Nginx (`BERTH_NGINX_SCOPE=shared`,
 * the configuration's default) that space spans every environment (rules/names.ts `nginxSpaceOf`).
 */
import { nginxSpaceOf, type NginxScope } from '../rules';
import type { AppRecord } from './catalog';
import { PROBLEM_CODES as C, problem } from './problems';
import type { Problem } from './types';

/** Apps that may publish, and a problem for each app that lost a claim. */
export interface ConflictResult {
  winners: Set<string>;
  problems: Problem[];
}

export interface ConflictOptions {
  /**
   * `berth run` passes `BERTH_NGINX_SCOPE` (default `shared`); absent (library use, tests): `per-env`,
   * claims collide within one environment only.
   */
  nginxScope?: NginxScope;
}

interface Owner {
  appId: string;
  env: string;
}

/** Decide ownership over every app with a spec. O(n log n) over apps; run when specs change. */
export function resolveConflicts(records: Iterable<AppRecord>, opts: ConflictOptions = {}): ConflictResult {
  const scope = opts.nginxScope ?? 'per-env';
  const candidates: AppRecord[] = [];
  for (const r of records) if (r.spec) candidates.push(r);
  candidates.sort(olderFirst);
  const owners = new Map<string, Owner>();
  const winners = new Set<string>();
  const problems: Problem[] = [];
  for (const r of candidates) {
    const spec = r.spec!;
    const space = nginxSpaceOf(spec.env, scope);
    const keys = (d: string): string[] => {
      const k = [`d\u0000${spec.env}\u0000${d}`];
      if (spec.proxy === 'http') k.push(`s\u0000${space}\u0000${d}`);
      return k;
    };
    const domainLosses: Array<{ domain: string; owner: string; env: string }> = [];
    for (const d of spec.domains) {
      const owner = keys(d)
        .map((k) => owners.get(k))
        .find((o) => o !== undefined);
      if (owner !== undefined) domainLosses.push({ domain: d, owner: owner.appId, env: owner.env });
    }
    const listenKey = spec.proxy === 'tcp' && spec.listen !== null ? `l\u0000${space}\u0000${spec.listen}` : null;
    const listenOwner = listenKey ? owners.get(listenKey) : undefined;
    if (domainLosses.length > 0) {
      const first = domainLosses[0];
      const where = first.env === spec.env ? `in environment ${spec.env}` : `in environment ${first.env}, which shares Nginx with ${spec.env}`;
      problems.push(
        problem(C.DOMAIN_CONFLICT, r.appId, spec.env, `domain ${first.domain} belongs to the older app ${first.owner} ${where}`, { conflicts: domainLosses }),
      );
    }
    if (listenOwner !== undefined) {
      const where = listenOwner.env === spec.env ? `in environment ${spec.env}` : `in environment ${listenOwner.env}, which shares Nginx with ${spec.env}`;
      problems.push(
        problem(C.LISTEN_CONFLICT, r.appId, spec.env, `tcp listen port ${spec.listen} belongs to the older app ${listenOwner.appId} ${where}`, {
          listen: spec.listen,
          owner: listenOwner.appId,
          ownerEnv: listenOwner.env,
        }),
      );
    }
    if (domainLosses.length > 0 || listenOwner !== undefined) continue;
    winners.add(r.appId);
    const me = { appId: r.appId, env: spec.env };
    for (const d of spec.domains) for (const k of keys(d)) owners.set(k, me);
    if (listenKey) owners.set(listenKey, me);
  }
  return { winners, problems };
}

function olderFirst(a: AppRecord, b: AppRecord): number {
  if (a.firstSeen !== b.firstSeen) return a.firstSeen - b.firstSeen;
  const ca = a.spec!.configChangedAt;
  const cb = b.spec!.configChangedAt;
  if (ca !== cb) return ca < cb ? -1 : 1;
  return a.appId < b.appId ? -1 : a.appId > b.appId ? 1 : 0;
}
