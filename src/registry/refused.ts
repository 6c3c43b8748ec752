/**
 * What follows when the database refused some apps of a write (isolate.ts): those apps keep their
 * published services and problems while everything else goes ahead, and each gets a registry
 * problem naming the refusal, cleared once the app is written or gone from Marathon.
 */
import type { Clock } from '../clock';
import type { Logger } from '../log';
import { problemKey } from '../model/problems';
import { appIdOfKey } from '../model/service-key';
import type { ChangeLog } from './changes';
import { safeText, writeFailedProblem } from './isolate';
import type { Mirror } from './mirror';
import type { Plan } from './planner';
import type { RegistryStore, StoredProblem } from './store';

/**
 * The database refused some apps' data: those apps keep their published service and problems
 * (their new record is kept, so the next write tries again), everything else goes ahead.
 */
export function keepPrevious(plan: Plan, failed: ReadonlyMap<string, Error>, mirror: Mirror): void {
  const ok = (id: string): boolean => !failed.has(id);
  plan.diff = { upserts: plan.diff.upserts.filter((s) => ok(s.appId)), removals: plan.diff.removals.filter((s) => ok(s.appId)) };
  plan.raised = plan.raised.filter((p) => ok(p.appId));
  plan.cleared = plan.cleared.filter((p) => ok(p.appId));
  if (!plan.partial) {
    // Every service of a refused app keeps its published state (keys are `serviceKey`s).
    plan.services = new Map(plan.services);
    for (const key of [...plan.services.keys()]) if (failed.has(appIdOfKey(key)) && !mirror.services.has(key)) plan.services.delete(key);
    for (const [key, prev] of mirror.services) if (failed.has(appIdOfKey(key))) plan.services.set(key, prev);
  }
  if (plan.problems) {
    const next = new Map(plan.problems);
    for (const [k, p] of next) if (failed.has(p.appId)) next.delete(k);
    for (const [k, p] of mirror.problems) if (failed.has(p.appId)) next.set(k, p);
    plan.problems = next;
  }
}

export interface SettleDeps {
  store: RegistryStore;
  mirror: Mirror;
  changes: ChangeLog;
  clock: Clock;
  log: Logger;
}

/**
 * Records a problem (with text the database accepts) for each app whose write was refused, and
 * clears those of apps written since or gone from Marathon. Its own write: when even that fails,
 * the log still names the app.
 */
export async function settleWriteFailures(plan: Plan, failed: ReadonlyMap<string, Error>, d: SettleDeps): Promise<void> {
  const { mirror } = d;
  const open = mirror.problemsOf('registry');
  if (failed.size === 0 && open.size === 0) return;
  const now = new Date(d.clock.now()).toISOString();
  const raise = [...failed].map(([id, err]) => {
    d.log.error({ appId: id, err: err.message, sqlstate: (err as { code?: unknown }).code }, 'registry write refused for one app; keeping its previous state');
    const p = writeFailedProblem(id, err, now);
    const before = open.get(problemKey(p));
    return before ? { ...p, since: (before as StoredProblem).since } : p;
  });
  const written = new Set(plan.write.upserts.map((u) => safeText(u.service.appId)).concat(plan.write.removals.map((r) => safeText(r.appId))));
  for (const id of failed.keys()) written.delete(safeText(id));
  const known = plan.partial ? null : new Set([...plan.records.keys()].map(safeText));
  const clear = [...open.values()].filter((p) => !raise.some((r) => r.appId === p.appId) && (written.has(p.appId) || (known !== null && !known.has(p.appId))));
  if (raise.length + clear.length === 0) return;
  const from = mirror.position;
  try {
    const position = await d.store.write({
      upserts: [],
      removals: [],
      raise,
      clear: clear.map((p) => ({ appId: p.appId, code: p.code })),
      markLoaded: false,
    });
    if (position !== null) mirror.position = position;
    mirror.setProblems(mirror.withProblems('registry', raise, clear));
    d.changes.record(from, mirror.position, []);
  } catch (err) {
    d.log.error({ err: (err as Error).message, apps: [...failed.keys()] }, 'registry could not record the refused apps as problems');
  }
}
