/**
 * How the registry's in-memory state follows the database: the whole state read at start-up (or
 * when the journal cannot tell what changed), and the journal applied as a delta otherwise, for
 * standby replicas catching up with the leader and for a writer that finds another writer's rows
 * below its own (docs/reliability.md "7. One writer at a time, even across replicas").
 */
import type { Logger } from '../log';
import type { AppRecord } from '../model/catalog';
import { problemKey } from '../model/problems';
import { appIdOfKey, comparePorts, serviceKey } from '../model/service-key';
import type { TaskRecord } from '../model/tasks';
import type { Service } from '../model/types';
import type { ChangeLog } from './changes';
import type { RegistryMetrics } from './metrics';
import type { Mirror } from './mirror';
import type { JournalGap, RegistryStore, StoredDelta, StoredService } from './store';

/** Why the registry read its whole state: `start`, or the journal gap a follower met. */
export type FollowReason = 'start' | JournalGap;

/** The app records the registry plans from; replaced wholesale by a full read. */
export interface RecordsRef {
  current: Map<string, AppRecord>;
}

export interface CatchUpDeps {
  store: RegistryStore;
  mirror: Mirror;
  changes: ChangeLog;
  records: RecordsRef;
  log: Logger;
  metrics?: RegistryMetrics;
}

/** Brings the mirror, the records and the change log to the database's journal position. */
export class CatchUp {
  constructor(private readonly d: CatchUpDeps) {}

  /** Applies the journal after `from` to the mirror (as a delta, or by a full reload when it cannot). */
  async follow(from: number): Promise<void> {
    const started = performance.now();
    const delta = await this.d.store.loadSince(from);
    if ('gap' in delta) return this.reload(delta.gap, delta.detail);
    try {
      this.applyDelta(from, delta);
    } catch (err) {
      // The mirror may hold part of the delta: the whole state replaces it.
      return this.reload('unapplicable', (err as Error).message);
    }
    const m = this.d.metrics;
    m?.followerApplied.inc(delta.entries);
    const local = (performance.now() - started) / 1000;
    for (const age of delta.ages) m?.followerLag.observe(age + local);
  }

  /** Reads the whole state (start-up, or a journal a follower cannot apply: `reason`). */
  async reload(reason: FollowReason, detail?: string): Promise<void> {
    const { mirror, changes } = this.d;
    if (reason !== 'start') this.d.log.warn({ reason, detail, position: mirror.position }, 'registry reloads its whole state from the database');
    this.d.metrics?.followerReloads.inc({ reason });
    const state = await this.d.store.load();
    const services = new Map<string, Service>();
    const records = new Map<string, AppRecord>();
    for (const s of state.services) services.set(serviceKey(s.service), s.service);
    for (const r of recordsOf(state.services)) records.set(r.appId, r);
    this.d.records.current = records;
    mirror.setServices(services);
    mirror.setProblems(new Map(state.problems.map((p) => [problemKey(p), p])));
    mirror.position = state.position;
    mirror.loaded = state.position > 0;
    changes.reset(state.position);
  }

  private applyDelta(from: number, delta: StoredDelta): void {
    const { mirror, changes } = this.d;
    const stored = new Map(delta.services.map((s) => [serviceKey(s.service), s]));
    const upserts: Service[] = [];
    const removals: Service[] = [];
    for (const key of delta.apps) {
      const s = stored.get(key);
      if (s) upserts.push(s.service);
      else {
        const prev = mirror.services.get(key);
        if (prev) removals.push(prev);
      }
    }
    // A record is rebuilt from all of its app's stored services (the store returns siblings too).
    const apps = new Set(delta.apps.map(appIdOfKey));
    const records = this.d.records.current;
    for (const id of apps) records.delete(id);
    for (const r of recordsOf(delta.services)) if (apps.has(r.appId)) records.set(r.appId, r);
    mirror.updateServices(upserts, removals);
    mirror.setProblems(new Map(delta.problems.map((p) => [problemKey(p), p])));
    mirror.position = delta.position;
    mirror.loaded ||= delta.loaded || delta.position > 0;
    changes.record(from, delta.position, delta.apps);
  }
}

/**
 * The app records stored services restore, one per app from all of its services (main and per-port;
 * label problems are not stored with them; a snapshot recomputes them).
 */
function recordsOf(stored: readonly StoredService[]): AppRecord[] {
  const byApp = new Map<string, StoredService[]>();
  for (const s of stored) {
    const list = byApp.get(s.service.appId);
    if (list) list.push(s);
    else byApp.set(s.service.appId, [s]);
  }
  const out: AppRecord[] = [];
  for (const [appId, list] of byApp) {
    list.sort((a, b) => comparePorts(a.spec, b.spec));
    const tasks = new Map<string, TaskRecord>();
    for (const s of list) for (const t of s.tasks) if (!tasks.has(t.taskId)) tasks.set(t.taskId, t);
    const specs = list.map((s) => s.spec);
    out.push({ appId, spec: specs[0], specs, problems: [], tasks, firstSeen: Math.min(...list.map((s) => s.firstSeen)) });
  }
  return out;
}
