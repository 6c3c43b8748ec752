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
import { specsOf, type AppRecord } from './catalog';
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
  for (const r of records) if (r.spec && specsOf(r).length > 0) candidates.push(r);
  candidates.sort(olderFirst);
  const owners = new Map<string, Owner>();
  const winners = new Set<string>();
  const problems: Problem[] = [];
  for (const r of candidates) {
    // Every service of the app claims (its main service and each published port): the app wins
    // or loses as a whole, like an app with an invalid label.
    const claims: Array<{ keys: string[]; domain: string | null; listen: number | null }> = [];
    const specs = specsOf(r);
    const env = specs[0].env;
    for (const spec of specs) {
      const space = nginxSpaceOf(spec.env, scope);
      for (const d of spec.domains) {
        const k = [`d\u0000${spec.env}\u0000${d}`];
        if (spec.proxy === 'http') k.push(`s\u0000${space}\u0000${d}`);
        claims.push({ keys: k, domain: d, listen: null });
      }
      if (spec.proxy === 'tcp' && spec.listen !== null) claims.push({ keys: [`l\u0000${space}\u0000${spec.listen}`], domain: null, listen: spec.listen });
    }
    const domainLosses: Array<{ domain: string; owner: string; env: string }> = [];
    let listenLoss: { listen: number; owner: Owner } | null = null;
    for (const c of claims) {
      const owner = c.keys.map((k) => owners.get(k)).find((o) => o !== undefined);
      if (owner === undefined) continue;
      if (c.domain !== null) domainLosses.push({ domain: c.domain, owner: owner.appId, env: owner.env });
      else if (c.listen !== null && listenLoss === null) listenLoss = { listen: c.listen, owner };
    }
    if (domainLosses.length > 0) {
      const first = domainLosses[0];
      const where = first.env === env ? `in environment ${env}` : `in environment ${first.env}, which shares Nginx with ${env}`;
      problems.push(
        problem(C.DOMAIN_CONFLICT, r.appId, env, `domain ${first.domain} belongs to the older app ${first.owner} ${where}`, { conflicts: domainLosses }),
      );
    }
    if (listenLoss !== null) {
      const o = listenLoss.owner;
      const where = o.env === env ? `in environment ${env}` : `in environment ${o.env}, which shares Nginx with ${env}`;
      problems.push(
        problem(C.LISTEN_CONFLICT, r.appId, env, `tcp listen port ${listenLoss.listen} belongs to the older app ${o.appId} ${where}`, {
          listen: listenLoss.listen,
          owner: o.appId,
          ownerEnv: o.env,
        }),
      );
    }
    if (domainLosses.length > 0 || listenLoss !== null) continue;
    winners.add(r.appId);
    const me = { appId: r.appId, env };
    for (const c of claims) for (const k of c.keys) owners.set(k, me);
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
