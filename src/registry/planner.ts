/**
 * Turns Marathon input (a full snapshot, one refetched app, a batch of events) into a plan: the new
 * app records, the desired published services and problems, and the write set that gets the
 * database there. Diffing happens here, in memory; only changes are written.
 */
import type { Clock } from '../clock';
import type { Logger } from '../log';
import type { App } from '../marathon/types';
import { readinessPending, recordFromApp, recordWithHealth, recordWithStatus, specsOf, type AppRecord } from '../model/catalog';
import { resolveConflictsSteps } from '../model/conflicts';
import { diffCatalogSteps, diffProblems, sameService, type CatalogDiff } from '../model/diff';
import { hostsToResolve, serviceOf } from '../model/endpoints';
import type { EndpointChange } from '../model/events';
import type { SpecOptions } from '../model/spec';
import { appIdOfKey, serviceKey } from '../model/service-key';
import type { Steps } from '../model/steps';
import type { Problem, Service } from '../model/types';
import type { Mirror } from './mirror';
import type { HostResolver } from './resolver';
import { runSliced } from '../slices';
import type { StoredProblem, StoredService, WriteSet } from './store';

/** Everything one write needs, and what the mirror becomes after it commits. */
export interface Plan {
  /**
   * Every app record (by app id) and published service (by `serviceKey`) after the write; with
   * `partial`, only those that change.
   */
  records: Map<string, AppRecord>;
  services: Map<string, Service>;
  /**
   * True for task events: `records` holds the changed records and the diff the changed services,
   * applied in place after the commit, so 200 events/s do not copy a 10,000-app catalog each.
   */
  partial?: boolean;
  /** Null when problems do not change. */
  problems: Map<string, StoredProblem> | null;
  diff: CatalogDiff;
  write: WriteSet;
  /** App ids the plan looked at (refetched again when the write fails). */
  touched: string[];
  raised: StoredProblem[];
  cleared: Problem[];
}

export interface PlannerOptions {
  specOpts: SpecOptions;
  resolver: HostResolver;
  clock: Clock;
  logger: Logger;
}

// Above this many changes in one write, log a summary instead of one line per service.
const LOG_EACH_MAX = 20;

/** Agent names the records' serving tasks run on; a set, as 30,000 tasks run on a few hundred agents. */
function* hostsOf(records: Iterable<AppRecord>): Steps<Set<string>> {
  const hosts = new Set<string>();
  for (const r of records) {
    if (r.spec) for (const h of hostsToResolve(r.spec, r.tasks.values())) hosts.add(h);
    yield;
  }
  return hosts;
}

/** Computes plans; holds no state of its own. */
export class Planner {
  constructor(private readonly o: PlannerOptions) {}

  /**
   * A full snapshot: every app rebuilt, conflicts and problems recomputed, all services compared.
   * Runs in slices (src/slices.ts): events and DNS queries are served while it plans.
   */
  async full(apps: App[], records: ReadonlyMap<string, AppRecord>, mirror: Mirror): Promise<Plan> {
    const next = await runSliced(this.recordsOf(apps, records, this.o.clock.now()));
    await this.prime(next.values());
    return runSliced(this.build(next, mirror, null));
  }

  private *recordsOf(apps: App[], records: ReadonlyMap<string, AppRecord>, now: number): Steps<Map<string, AppRecord>> {
    const next = new Map<string, AppRecord>();
    for (const app of apps) {
      if (!app || typeof app.id !== 'string') continue;
      next.set(app.id, recordFromApp(app, records.get(app.id), this.o.specOpts, now));
      yield;
    }
    return next;
  }

  /** One app replaced (or removed): conflicts are recomputed, since ownership may move. */
  async oneApp(appId: string, app: App | null, records: ReadonlyMap<string, AppRecord>, mirror: Mirror): Promise<Plan> {
    const next = new Map(records);
    // A 404 leaves a tombstone (an ignored record) until the next snapshot, so the status events of
    // a pod (whose id is not an app) or of a just-deleted app do not refetch it again and again.
    if (app === null) next.set(appId, { appId, spec: null, problems: [], tasks: new Map(), firstSeen: this.o.clock.now() });
    else next.set(appId, recordFromApp(app, records.get(appId), this.o.specOpts, this.o.clock.now()));
    const rec = next.get(appId);
    if (rec) await this.prime([rec]);
    // Conflicts are recomputed over every app: sliced like a snapshot.
    return runSliced(this.build(next, mirror, new Set([appId])));
  }

  /**
   * Task status and health changes, as a partial plan. Returns the apps to refetch: unknown ones
   * (created since the last snapshot) and ones whose task runs a newer version than we hold.
   */
  async events(changes: readonly EndpointChange[], records: ReadonlyMap<string, AppRecord>, mirror: Mirror): Promise<{ plan: Plan | null; refetch: string[] }> {
    const refetch = new Set<string>();
    const updates = new Map<string, AppRecord>();
    const cur = (id: string): AppRecord | undefined => updates.get(id) ?? records.get(id);
    for (const c of changes) {
      const rec = cur(c.appId);
      if (!rec) {
        refetch.add(c.appId);
        continue;
      }
      if (!rec.spec) continue;
      let next: AppRecord;
      if (c.kind === 'task') {
        if (typeof c.event.version === 'string' && c.event.version > rec.spec.version) refetch.add(c.appId);
        next = recordWithStatus(rec, c.event);
        // While a deployment of a readiness-checked app runs, its readiness results change without
        // an event of their own: each task event of it refetches the app to read them.
        if (readinessPending(rec.spec, c.event.version)) refetch.add(c.appId);
      } else {
        next = recordWithHealth(rec, c.instanceId, c.alive);
      }
      if (next !== rec) updates.set(next.appId, next);
    }
    if (updates.size === 0) return { plan: null, refetch: [...refetch] };
    await this.prime(updates.values());
    return { plan: this.partial(updates, records, mirror), refetch: [...refetch] };
  }

  /** Replace one source's problems; services do not change. */
  problemsOnly(source: string, problems: Problem[], records: ReadonlyMap<string, AppRecord>, mirror: Mirror): Plan {
    const plan = this.emptyPlan(new Map(records), mirror);
    this.planProblems(plan, source, problems, mirror);
    return plan;
  }

  /** One log line per meaningful change (docs/architecture.md "Logs"), or a summary for large writes. */
  logChanges(plan: Plan, before: ReadonlyMap<string, Service>, endpointsOnly = false): void {
    const log = this.o.logger;
    const { upserts, removals } = plan.diff;
    if (upserts.length + removals.length > LOG_EACH_MAX) {
      const added = upserts.filter((s) => !before.has(serviceKey(s))).length;
      const fields = { added, changed: upserts.length - added, removed: removals.length };
      if (endpointsOnly && added + removals.length === 0) log.debug(fields, 'endpoints updated');
      else log.info(fields, 'services updated');
    } else {
      for (const s of upserts) {
        const known = before.has(serviceKey(s));
        // Task churn is routine (hundreds of lines a second on a busy cluster): debug, not info.
        if (known && endpointsOnly) {
          log.debug({ appId: s.appId, port: s.port, env: s.env, endpoints: s.endpoints.length }, 'endpoints changed');
          continue;
        }
        const verb = known ? 'service changed' : 'service added';
        log.info({ appId: s.appId, port: s.port, env: s.env, domains: s.domains, endpoints: s.endpoints.length }, verb);
      }
      for (const s of removals) log.info({ appId: s.appId, port: s.port, env: s.env, domains: s.domains }, 'service removed');
    }
    if (plan.raised.length + plan.cleared.length > LOG_EACH_MAX) {
      log.warn({ raised: plan.raised.length, cleared: plan.cleared.length }, 'problems updated');
      return;
    }
    for (const p of plan.raised) log.warn({ appId: p.appId, env: p.env, code: p.code, details: p.details }, `problem: ${p.message}`);
    for (const p of plan.cleared) log.info({ appId: p.appId, code: p.code }, 'problem cleared');
  }

  private async prime(records: Iterable<AppRecord>): Promise<void> {
    const hosts = await runSliced(hostsOf(records));
    if (hosts.size > 0) await this.o.resolver.prime(hosts);
  }

  /**
   * Desired state for `records`, conflicts recomputed. `scope` null: every app; else only those ids
   * plus every app whose ownership flipped.
   */
  private *build(records: Map<string, AppRecord>, mirror: Mirror, scope: Set<string> | null): Steps<Plan> {
    const lookup = (h: string): string | undefined => this.o.resolver.lookup(h);
    let plan0Touched: string[] | null = null;
    const { winners, problems: conflictProblems } = yield* resolveConflictsSteps(records.values(), this.o.specOpts);
    const publish = (r: AppRecord, into: Map<string, Service>): void => {
      for (const spec of specsOf(r)) into.set(serviceKey(spec), serviceOf(spec, r.tasks.values(), lookup, this.o.specOpts));
    };
    let services: Map<string, Service>;
    let ids: Set<string> | undefined;
    if (scope === null) {
      services = new Map();
      for (const id of winners) {
        publish(records.get(id)!, services);
        yield;
      }
    } else {
      // `scope` and ownership flips are app ids; every service of those apps is recomputed.
      const apps = new Set(scope);
      const published = new Set<string>();
      for (const key of mirror.services.keys()) published.add(appIdOfKey(key));
      for (const id of winners) if (!published.has(id)) apps.add(id);
      for (const id of published) if (!winners.has(id)) apps.add(id);
      services = new Map(mirror.services);
      ids = new Set();
      for (const key of mirror.services.keys()) {
        if (!apps.has(appIdOfKey(key))) continue;
        ids.add(key);
        services.delete(key);
      }
      for (const id of apps) {
        const r = records.get(id);
        if (!r?.spec || !winners.has(id)) continue;
        const mine = new Map<string, Service>();
        publish(r, mine);
        for (const [key, svc] of mine) {
          ids.add(key);
          services.set(key, svc);
        }
      }
      plan0Touched = [...apps];
    }
    const plan = this.emptyPlan(records, mirror);
    plan.services = services;
    plan.diff = yield* diffCatalogSteps(mirror.services, services, ids);
    plan.touched = plan0Touched ?? [...records.keys()];
    for (const s of plan.diff.upserts) {
      plan.write.upserts.push(this.stored(s, records.get(s.appId)!));
      yield;
    }
    plan.write.removals = plan.diff.removals.map((s) => ({ appId: s.appId, env: s.env, key: serviceKey(s) }));
    const all: Problem[] = [];
    for (const r of records.values()) if (r.problems.length > 0) all.push(...r.problems);
    all.push(...conflictProblems);
    this.planProblems(plan, 'model', all, mirror);
    return plan;
  }

  /**
   * Events change tasks, never which app owns a domain: only apps already published are
   * recomputed, and only their services are compared and written.
   */
  private partial(updates: Map<string, AppRecord>, records: ReadonlyMap<string, AppRecord>, mirror: Mirror): Plan {
    const lookup = (h: string): string | undefined => this.o.resolver.lookup(h);
    const plan = this.emptyPlan(updates, mirror);
    plan.partial = true;
    plan.services = new Map();
    for (const r of updates.values()) {
      // Only services already published are recomputed: events never change which app owns what.
      for (const spec of specsOf(records.get(r.appId) ?? r)) {
        const key = serviceKey(spec);
        const prev = mirror.services.get(key);
        if (!prev) continue;
        const nextSpec = specsOf(r).find((sp) => serviceKey(sp) === key);
        const next = r.spec && nextSpec ? serviceOf(nextSpec, r.tasks.values(), lookup, this.o.specOpts) : null;
        if (!next) plan.diff.removals.push(prev);
        else if (!sameService(prev, next)) {
          plan.diff.upserts.push(next);
          plan.services.set(key, next);
        }
      }
    }
    plan.touched = [...updates.keys()];
    plan.write.upserts = plan.diff.upserts.map((s) => {
      const r = updates.get(s.appId)!;
      return { ...this.stored(s, r), specChanged: r.spec !== records.get(s.appId)?.spec };
    });
    plan.write.removals = plan.diff.removals.map((s) => ({ appId: s.appId, env: s.env, key: serviceKey(s) }));
    return plan;
  }

  private stored(s: Service, r: AppRecord): StoredService {
    const tasks = s.endpoints.map((e) => r.tasks.get(e.taskId)!).filter(Boolean);
    const key = serviceKey(s);
    const spec = specsOf(r).find((sp) => serviceKey(sp) === key) ?? r.spec!;
    return { spec, service: s, tasks, firstSeen: r.firstSeen };
  }

  private emptyPlan(records: Map<string, AppRecord>, mirror: Mirror): Plan {
    return {
      records,
      services: mirror.services,
      problems: null,
      diff: { upserts: [], removals: [] },
      write: { upserts: [], removals: [], raise: [], clear: [], markLoaded: false },
      touched: [],
      raised: [],
      cleared: [],
    };
  }

  private planProblems(plan: Plan, source: string, desired: Problem[], mirror: Mirror): void {
    const d = diffProblems(mirror.problemsOf(source), desired);
    if (d.raised.length + d.changed.length + d.cleared.length === 0) return;
    const now = new Date(this.o.clock.now()).toISOString();
    const raised = d.raised.map((p): StoredProblem => ({ ...p, source, since: now }));
    const changed = d.changed.map((p): StoredProblem => ({ ...p, source, since: p.since ?? now }));
    plan.write.raise = [...raised, ...changed];
    plan.write.clear = d.cleared.map((p) => ({ appId: p.appId, code: p.code }));
    plan.problems = mirror.withProblems(source, plan.write.raise, d.cleared);
    plan.raised = raised;
    plan.cleared = d.cleared;
  }
}
