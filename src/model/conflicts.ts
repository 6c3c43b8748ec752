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
 *
 * An HTTP domain is claimed per path prefix (`berth.path`; no label: `/`), so apps with different
 * prefixes share it. Two claims of one domain and prefix: DOMAIN_CONFLICT for `/` (as before prefixes
 * existed), PATH_CONFLICT for a prefix. A shared domain stays in one environment (its routes are
 * one file of that environment's folder), is never also a tcp/unproxied name, and its `/` app may
 * not answer it with its own tasks (`berth.dns=direct`): each of those is a DOMAIN_CONFLICT for the
 * newer app.
 */
import { nginxSpaceOf, type NginxScope } from '../rules';
import { specsOf, type AppRecord } from './catalog';
import type { ServiceSpec } from './spec';
import { PROBLEM_CODES as C, problem } from './problems';
import { drain, type Steps } from './steps';
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

/** One key an app needs free (`check`) or takes when it wins (`take`), and what losing it means. */
interface Claim {
  domain: string | null;
  listen: number | null;
  /** The prefix for a path claim (a loss is a PATH_CONFLICT); null for the domain itself. */
  path: string | null;
  /** Keys owned by anyone: a loss. */
  check: string[];
  /** A key owned by an app of another environment: a loss (one domain's routes live in one environment's files). */
  checkEnv?: string;
  /** Why losing `check` matters beyond "older app", when it is not plain ownership. */
  why?: string;
  take: string[];
}

/**
 * The keys one service claims. A domain is claimed per prefix (`/` for an app without `berth.path`,
 * docs/labels.md "Path prefixes"): apps on one domain with different prefixes share it. A tcp or
 * unproxied service claims the whole name (DNS answers it with that service alone).
 */
function claimsOf(spec: ServiceSpec, scope: NginxScope): Claim[] {
  const space = nginxSpaceOf(spec.env, scope);
  const out: Claim[] = [];
  for (const d of spec.domains) {
    const env = `${spec.env}\u0000${d}`;
    const sp = `${space}\u0000${d}`;
    if (spec.proxy !== 'http') {
      out.push({ domain: d, listen: null, path: null, check: [`u\u0000${env}`], take: [`d\u0000${env}\u0000/`, `u\u0000${env}`, `w\u0000${env}`] });
    } else if (spec.paths === undefined) {
      const direct = spec.dns === 'direct';
      out.push({
        domain: d,
        listen: null,
        path: null,
        check: [`d\u0000${env}\u0000/`, `s\u0000${sp}\u0000/`],
        checkEnv: `e\u0000${sp}`,
        take: [`d\u0000${env}\u0000/`, `s\u0000${sp}\u0000/`, `u\u0000${env}`, `e\u0000${sp}`, ...(direct ? [`x\u0000${env}`] : [])],
      });
      // berth.dns=direct would answer the name with this app's tasks, past Nginx and the other apps' prefixes.
      if (direct)
        out.push({
          domain: d,
          listen: null,
          path: null,
          check: [`p\u0000${env}`],
          why: 'is shared by path prefix (reached through Nginx only), and this app has berth.dns=direct',
          take: [],
        });
    } else {
      out.push({
        domain: d,
        listen: null,
        path: null,
        check: [`w\u0000${env}`],
        checkEnv: `e\u0000${sp}`,
        take: [`u\u0000${env}`, `e\u0000${sp}`, `p\u0000${env}`],
      });
      out.push({
        domain: d,
        listen: null,
        path: null,
        check: [`x\u0000${env}`],
        why: 'is answered with the tasks of its / app (berth.dns=direct), past Nginx',
        take: [],
      });
      for (const p of spec.paths)
        out.push({
          domain: d,
          listen: null,
          path: p,
          check: [`d\u0000${env}\u0000${p}`, `s\u0000${sp}\u0000${p}`],
          take: [`d\u0000${env}\u0000${p}`, `s\u0000${sp}\u0000${p}`],
        });
    }
  }
  if (spec.proxy === 'tcp' && spec.listen !== null)
    out.push({ domain: null, listen: spec.listen, path: null, check: [`l\u0000${space}\u0000${spec.listen}`], take: [`l\u0000${space}\u0000${spec.listen}`] });
  return out;
}

/** Decide ownership over every app with a spec. O(n log n) over apps; run when specs change. */
export function resolveConflicts(records: Iterable<AppRecord>, opts: ConflictOptions = {}): ConflictResult {
  return drain(resolveConflictsSteps(records, opts));
}

/** `resolveConflicts` as steps: one per app with a spec, after the sort (model/steps.ts). */
export function* resolveConflictsSteps(records: Iterable<AppRecord>, opts: ConflictOptions = {}): Steps<ConflictResult> {
  const scope = opts.nginxScope ?? 'per-env';
  const candidates: AppRecord[] = [];
  for (const r of records) if (r.spec && specsOf(r).length > 0) candidates.push(r);
  candidates.sort(olderFirst);
  const owners = new Map<string, Owner>();
  const winners = new Set<string>();
  const problems: Problem[] = [];
  for (const r of candidates) {
    yield;
    // Every service of the app claims (its main service and each published port): the app wins
    // or loses as a whole, like an app with an invalid label.
    const specs = specsOf(r);
    const env = specs[0].env;
    const claims = specs.flatMap((spec) => claimsOf(spec, scope));
    const domainLosses: Array<{ domain: string; owner: string; env: string; reason?: string }> = [];
    const pathLosses: Array<{ domain: string; path: string; owner: string; env: string }> = [];
    let listenLoss: { listen: number; owner: Owner } | null = null;
    for (const c of claims) {
      let owner = c.check.map((k) => owners.get(k)).find((o) => o !== undefined);
      if (owner === undefined && c.checkEnv !== undefined) {
        const o = owners.get(c.checkEnv);
        if (o !== undefined && o.env !== env) owner = o;
      }
      if (owner === undefined) continue;
      if (c.path !== null && c.domain !== null) pathLosses.push({ domain: c.domain, path: c.path, owner: owner.appId, env: owner.env });
      else if (c.domain !== null) domainLosses.push({ domain: c.domain, owner: owner.appId, env: owner.env, ...(c.why ? { reason: c.why } : {}) });
      else if (c.listen !== null && listenLoss === null) listenLoss = { listen: c.listen, owner };
    }
    if (domainLosses.length > 0) {
      const first = domainLosses[0];
      const where = first.env === env ? `in environment ${env}` : `in environment ${first.env}, which shares Nginx with ${env}`;
      const message = first.reason
        ? `domain ${first.domain} ${first.reason} (older app ${first.owner} ${where})`
        : `domain ${first.domain} belongs to the older app ${first.owner} ${where}`;
      problems.push(problem(C.DOMAIN_CONFLICT, r.appId, env, message, { conflicts: domainLosses }));
    }
    if (pathLosses.length > 0) {
      const first = pathLosses[0];
      problems.push(
        problem(C.PATH_CONFLICT, r.appId, env, `path ${first.path} on ${first.domain} belongs to the older app ${first.owner} in environment ${first.env}`, {
          conflicts: pathLosses,
        }),
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
    if (domainLosses.length > 0 || pathLosses.length > 0 || listenLoss !== null) continue;
    winners.add(r.appId);
    const me = { appId: r.appId, env };
    for (const c of claims) for (const k of c.take) if (!owners.has(k)) owners.set(k, me);
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
