/**
 * The registry: published services, endpoints and problems in the database, an in-memory mirror
 * for readers, and the writers that converge it (full snapshots, single apps, task events). All
 * writes run one at a time; events that arrive while a write is running are applied together in the
 * next transaction. Implements `RegistryView` for the DNS and Nginx consumers.
 */
import { systemClock, type Clock } from '../clock';
import type { Logger } from '../log';
import type { App } from '../marathon/types';
import type { AppRecord } from '../model/catalog';
import { appIdOfKey, comparePorts, serviceKey } from '../model/service-key';
import type { TaskRecord } from '../model/tasks';
import { problemKey } from '../model/problems';
import type { ChangeKind, EndpointChange } from '../model/events';
import { fixedIpOf, type PoolHolderLookup, type SpecOptions } from '../model/spec';
import type { Steps } from '../model/steps';
import type { Problem, Service } from '../model/types';
import { holdReason } from './guard';
import { HeldState } from './held';
import { safeText, writeFailedProblem, writeIsolated } from './isolate';
import { Batcher, SerialQueue } from './serial';
import { Mirror } from './mirror';
import { Planner, type Plan } from './planner';
import { runSliced } from './sliced';
import { StaticHostResolver } from './resolver';
import { RegistryStore, type JournalGap, type StoredDelta, type StoredProblem, type StoredService } from './store';
import type { EventOutcome, RegistryOptions, RegistryStatus, SnapshotOutcome } from './types';
import { ChangeLog } from './changes';
import type { RegistryChanges, RegistrySnapshot, RegistryView } from './view';

export type { EventOutcome, RegistryOptions, RegistryStatus, SnapshotOutcome } from './types';

/** Why the registry read its whole state: `start`, or the journal gap a follower met. */
export type FollowReason = 'start' | JournalGap;

/**
 * Event writes start at most this often (ms). A transaction costs about the same CPU whether it
 * carries one event or ten (seven round trips through knex and pg): at 200 events/s, 50 ms makes
 * ~10 events per write and cut berth's CPU per event by a third (bench/events), while adding at most
 * 50 ms, ~25 on average, to the 250 ms event → DNS budget (docs/architecture.md "Performance targets"). An event after a quiet
 * spell is written at once.
 */
const DEFAULT_EVENT_BATCH_MS = 50;

/** Database-backed registry with an in-memory mirror. Create with `Registry.open`. */
export class Registry implements RegistryView {
  private readonly store: RegistryStore;
  private readonly mirror = new Mirror();
  /** Apps each recent write touched, for consumers that follow changes instead of snapshots. */
  private readonly changes = new ChangeLog();
  private readonly listeners = new Set<(position: number) => void>();
  private readonly planner: Planner;
  private readonly held = new HeldState();
  private readonly clock: Clock;
  private readonly log: Logger;
  private records = new Map<string, AppRecord>();
  private readonly queue = new SerialQueue();
  private readonly events: Batcher<EndpointChange, EventOutcome>;
  private lastSnapshot: RegistryStatus['lastSnapshot'] = null;
  /** IPAM's holders of the addresses the current plan parses (`poolHolders`). */
  private holders: PoolHolderLookup | undefined;

  private constructor(private readonly opts: RegistryOptions) {
    this.store = new RegistryStore(opts.knex, opts.fence);
    this.events = new Batcher(this.queue, (batch) => this.flushEvents(batch), opts.eventBatchMs ?? DEFAULT_EVENT_BATCH_MS);
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger;
    const specOpts: SpecOptions = { ...opts.modelPolicy, defaultEnv: opts.defaultEnv, labelPrefix: opts.labelPrefix };
    if (opts.poolHolders) specOpts.poolHolder = (ip) => this.holders?.(ip);
    opts.metrics?.attach(() => this.mirror.gaugeData(this.held.status() !== null));
    this.planner = new Planner({ specOpts, resolver: opts.resolver ?? new StaticHostResolver(), clock: this.clock, logger: opts.logger });
  }

  /** Load the published state from the database (serving it at once) and return the registry. */
  static async open(opts: RegistryOptions): Promise<Registry> {
    const r = new Registry(opts);
    await r.reload('start');
    return r;
  }

  /**
   * Catch up with what another writer (the cluster leader) journaled; for standby replicas, on a
   * timer or a notification, and for a new leader before it writes. The journal is the change
   * feed: only the apps its rows name since our position are re-read, and recorded as changed, so
   * consumers (DNS patches, Nginx) follow a standby as they follow the leader. A journal that
   * cannot tell (`JournalGap`) means a full reload, logged and counted with its reason. True when
   * the mirror changed.
   */
  refresh(): Promise<boolean> {
    return this.serial(async () => {
      if ((await this.store.position()) === this.mirror.position) return false;
      await this.follow(this.mirror.position);
      this.notify();
      return true;
    });
  }

  /** Applies the journal after `from` to the mirror (as a delta, or by a full reload when it cannot). */
  private async follow(from: number): Promise<void> {
    const started = performance.now();
    const delta = await this.store.loadSince(from);
    if ('gap' in delta) return this.reload(delta.gap, delta.detail);
    try {
      this.applyDelta(from, delta);
    } catch (err) {
      // The mirror may hold part of the delta: the whole state replaces it.
      return this.reload('unapplicable', (err as Error).message);
    }
    const m = this.opts.metrics;
    m?.followerApplied.inc(delta.entries);
    const local = (performance.now() - started) / 1000;
    for (const age of delta.ages) m?.followerLag.observe(age + local);
  }

  private applyDelta(from: number, delta: StoredDelta): void {
    const stored = new Map(delta.services.map((s) => [serviceKey(s.service), s]));
    const upserts: Service[] = [];
    const removals: Service[] = [];
    for (const key of delta.apps) {
      const s = stored.get(key);
      if (s) upserts.push(s.service);
      else {
        const prev = this.mirror.services.get(key);
        if (prev) removals.push(prev);
      }
    }
    // A record is rebuilt from all of its app's stored services (the store returns siblings too).
    const apps = new Set(delta.apps.map(appIdOfKey));
    const records = recordsOf(delta.services);
    for (const id of apps) this.records.delete(id);
    for (const r of records) if (apps.has(r.appId)) this.records.set(r.appId, r);
    this.mirror.updateServices(upserts, removals);
    this.mirror.setProblems(new Map(delta.problems.map((p) => [problemKey(p), p])));
    this.mirror.position = delta.position;
    this.mirror.loaded ||= delta.loaded || delta.position > 0;
    this.changes.record(from, delta.position, delta.apps);
  }

  /** Reads the whole state (start-up, or a journal a follower cannot apply: `reason`). */
  private async reload(reason: FollowReason, detail?: string): Promise<void> {
    if (reason !== 'start') this.log.warn({ reason, detail, position: this.mirror.position }, 'registry reloads its whole state from the database');
    this.opts.metrics?.followerReloads.inc({ reason });
    await this.loadFromStore();
  }

  private async loadFromStore(): Promise<void> {
    const state = await this.store.load();
    const services = new Map<string, Service>();
    const records = new Map<string, AppRecord>();
    for (const s of state.services) services.set(serviceKey(s.service), s.service);
    for (const r of recordsOf(state.services)) records.set(r.appId, r);
    this.records = records;
    this.mirror.setServices(services);
    this.mirror.setProblems(new Map(state.problems.map((p) => [problemKey(p), p])));
    this.mirror.position = state.position;
    this.mirror.loaded = state.position > 0;
    this.changes.reset(state.position);
  }

  // ------------------------------------------------------------------ RegistryView

  async snapshot(): Promise<RegistrySnapshot> {
    return this.mirror.snapshot();
  }

  async position(): Promise<number> {
    return this.mirror.position;
  }

  onChange(listener: (position: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async changesSince(position: number): Promise<RegistryChanges | null> {
    const ids = this.changes.since(position);
    if (!ids) return null;
    const changed = new Map<string, Service | null>();
    for (const id of ids) changed.set(id, this.mirror.services.get(id) ?? null);
    return { position: this.mirror.position, loaded: this.mirror.loaded, changed };
  }

  // ------------------------------------------------------------------ readers (API)

  /** Synchronous snapshot of the mirror (same object `snapshot()` resolves to). */
  current(): RegistrySnapshot {
    return this.mirror.snapshot();
  }

  listServices(env?: string): Service[] {
    return this.mirror.list(env);
  }

  findService(env: string, domain: string): Service | undefined {
    return this.mirror.find(env, domain);
  }

  listProblems(): StoredProblem[] {
    return this.mirror.listProblems();
  }

  status(): RegistryStatus {
    return {
      loaded: this.mirror.loaded,
      position: this.mirror.position,
      services: this.mirror.services.size,
      endpoints: this.mirror.endpointCount(),
      problems: this.mirror.problems.size,
      held: this.held.status(),
      lastSnapshot: this.lastSnapshot,
    };
  }

  /** Known apps (all of Marathon's, as last seen), for IPAM reconciliation and tests. */
  appRecords(): ReadonlyMap<string, AppRecord> {
    return this.records;
  }

  // ------------------------------------------------------------------ writers

  /** Converge to a full Marathon answer, unless the guard holds it (`force` skips the guard). */
  applySnapshot(apps: App[], opts: { force?: boolean; durationStartMs?: number } = {}): Promise<SnapshotOutcome> {
    return this.serial(async () => {
      const started = opts.durationStartMs ?? this.clock.now();
      await this.readHolders(apps);
      const plan = await this.planner.full(apps, this.records, this.mirror);
      const reason = opts.force
        ? null
        : holdReason({
            apps: apps.length,
            currentServices: this.mirror.services.size,
            currentEndpoints: this.mirror.endpointCount(),
            nextServices: plan.services.size,
            nextEndpoints: this.mirror.endpointCount(plan.services.values()),
            removedServices: plan.diff.removals.length,
            maxRemovalRatio: this.opts.maxRemovalRatio ?? 0.5,
          });
      if (reason) {
        const st = this.held.hold(
          reason,
          this.clock.now(),
          apps,
          {
            services: this.mirror.services.size,
            endpoints: this.mirror.endpointCount(),
          },
          {
            apps: apps.length,
            services: plan.services.size,
            endpoints: this.mirror.endpointCount(plan.services.values()),
            removedServices: plan.diff.removals.length,
          },
        );
        if (st.attempts === 1) this.log.warn({ reason, ...st.current, proposed: st.proposed }, 'marathon snapshot held by the removal guard');
        this.finishSnapshot('held', started);
        return { result: 'held', position: this.mirror.position, upserts: 0, removals: 0, reason };
      }
      if (this.held.status()) this.log.info({ reason: this.held.status()?.reason, forced: !!opts.force }, 'snapshot hold cleared');
      this.held.clear();
      const markLoaded = !this.mirror.loaded;
      await this.commit(plan, 'snapshot', markLoaded);
      const changed = plan.diff.upserts.length + plan.diff.removals.length > 0;
      this.finishSnapshot(changed || markLoaded ? 'applied' : 'unchanged', started);
      return {
        result: changed || markLoaded ? 'applied' : 'unchanged',
        position: this.mirror.position,
        upserts: plan.diff.upserts.length,
        removals: plan.diff.removals.length,
      };
    });
  }

  /** Record that fetching a snapshot failed (shown as held with reason `failed`; nothing changes). */
  reportFailedSnapshot(err: unknown, durationStartMs?: number): void {
    const st = this.held.fail(this.clock.now(), err instanceof Error ? err.message : String(err), {
      services: this.mirror.services.size,
      endpoints: this.mirror.endpointCount(),
    });
    if (st.attempts === 1) this.log.warn({ err: st.error }, 'marathon snapshot failed; keeping the published state');
    this.finishSnapshot('failed', durationStartMs ?? this.clock.now());
  }

  /** Apply the held snapshot as it is (operator decision); clears a `failed` hold. Null when nothing was held. */
  async release(): Promise<SnapshotOutcome | null> {
    const apps = this.held.take();
    if (apps === undefined) return null;
    if (apps === null) return { result: 'unchanged', position: this.mirror.position, upserts: 0, removals: 0 };
    this.log.warn({ apps: apps.length }, 'held snapshot released by operator');
    return this.applySnapshot(apps, { force: true });
  }

  /**
   * Replace one app (refetched after a definition event); `null` = Marathon answered 404. A 404
   * removes a published service only when Marathon announced the app's end (`terminated`, from
   * app_terminated_event): a Marathon that lost its state (a fresh leader, a broken proxy) answers
   * 404 for every app, and such removals one by one would get around the removal guard. Otherwise
   * the service stays until a full snapshot, which the guard judges, confirms it. Returns
   * `deferred` when a removal was left to that snapshot.
   */
  applyApp(appId: string, app: App | null, opts: { terminated?: boolean } = {}): Promise<'applied' | 'deferred'> {
    return this.serial(async () => {
      if (app === null && !opts.terminated && this.mirror.publishes(appId)) {
        this.log.info({ appId }, 'marathon does not know a published app; its removal waits for a full snapshot');
        return 'deferred';
      }
      await this.readHolders(app ? [app] : []);
      const plan = await this.planner.oneApp(appId, app, this.records, this.mirror);
      await this.commit(plan, 'app', false);
      return 'applied';
    });
  }

  /** Apply a task or health change; changes that arrive together (or within the batch interval) are written in one transaction. */
  applyChange(c: EndpointChange): Promise<EventOutcome> {
    return this.events.add(c);
  }

  /** Counts one classified Marathon event (`berth_registry_changes_total`). */
  countChange(kind: ChangeKind): void {
    this.opts.metrics?.changes.inc({ kind });
  }

  /** Known app ids under a group (`/shop` → `/shop/a`, `/shop/b/c`), for group changes. */
  /**
   * Whether a deployment event should refetch the app: it has readiness checks and a deployment was
   * running when it was last fetched, so Marathon's readiness results (which have no event of their
   * own) may have changed, or the deployment may be over (docs/marathon.md "Readiness checks").
   */
  awaitsReadiness(appId: string): boolean {
    const spec = this.records.get(appId)?.spec;
    return spec?.readinessChecked === true && spec.deploying === true;
  }

  /**
   * Apps with readiness checks whose deployment was running when last fetched: Marathon's readiness
   * results have no event, so the sync refetches these on a short timer until the deployment ends
   * (docs/marathon.md "Readiness checks").
   */
  appsAwaitingReadiness(): string[] {
    const out: string[] = [];
    for (const [id, r] of this.records) if (r.spec?.readinessChecked === true && r.spec.deploying === true) out.push(id);
    return out;
  }

  appIdsUnder(groupId: string): string[] {
    const prefix = groupId.endsWith('/') ? groupId : `${groupId}/`;
    return [...this.records.keys()].filter((id) => id.startsWith(prefix));
  }

  /** Replace every problem of `source` (e.g. `ipam`, `nginx`) with `problems`. */
  setProblems(source: string, problems: Problem[]): Promise<void> {
    return this.serial(async () => {
      const plan = this.planner.problemsOnly(source, problems, this.records, this.mirror);
      await this.commit(plan, `problems:${source}`, false);
    });
  }

  /** Wait for queued writes (tests, shutdown). */
  async idle(): Promise<void> {
    await this.events.drained();
    await this.queue.idle();
  }

  // ------------------------------------------------------------------ internals

  /** One IPAM read per plan, for the fixed IPs of the apps it parses (task events parse none). */
  private async readHolders(apps: readonly App[]): Promise<void> {
    if (!this.opts.poolHolders) return;
    const ips = await runSliced(this.fixedIpsOf(apps));
    this.holders = undefined;
    this.holders = await this.opts.poolHolders([...ips]);
  }

  private *fixedIpsOf(apps: readonly App[]): Steps<Set<string>> {
    const ips = new Set<string>();
    for (const app of apps) {
      const ip = app && typeof app.id === 'string' ? fixedIpOf(app, this.opts.labelPrefix) : null;
      if (ip !== null) ips.add(ip);
      yield;
    }
    return ips;
  }

  private async flushEvents(batch: EndpointChange[]): Promise<EventOutcome> {
    const { plan, refetch } = await this.planner.events(batch, this.records, this.mirror);
    try {
      if (plan) await this.commit(plan, 'events', false);
      return { refetch };
    } catch (err) {
      // The mirror kept the old state; the next snapshot converges. Ask for the touched apps again.
      return { refetch: [...new Set([...refetch, ...(plan?.touched ?? [])])], error: (err as Error).message };
    }
  }

  private async commit(plan: Plan, kind: string, markLoaded: boolean): Promise<void> {
    const w = plan.write;
    w.markLoaded = markLoaded;
    const empty = w.upserts.length + w.removals.length + w.raise.length + w.clear.length === 0 && !markLoaded;
    const from = this.mirror.position;
    let failed = new Map<string, Error>();
    if (!empty) {
      try {
        // One app the database refuses is isolated; the others are written (see isolate.ts).
        const out = await writeIsolated(w, (x) => this.store.write(x, from));
        failed = out.failed;
        this.opts.metrics?.writes.inc({ kind: kind.split(':')[0] });
        if (out.position !== null) this.mirror.position = out.position;
      } catch (err) {
        this.opts.metrics?.writeErrors.inc({ kind: kind.split(':')[0] });
        this.log.error({ err: (err as Error).message, kind }, 'registry write failed; keeping the previous state');
        throw err;
      }
    }
    if (failed.size > 0) this.keepPrevious(plan, failed);
    if (markLoaded) this.mirror.loaded = true;
    // Logged against the services before this write: a partial plan updates the map in place.
    this.planner.logChanges(plan, this.mirror.services);
    if (plan.partial) {
      for (const [id, r] of plan.records) this.records.set(id, r);
      this.mirror.updateServices(plan.diff.upserts, plan.diff.removals);
    } else {
      this.records = plan.records;
      this.mirror.setServices(plan.services);
    }
    this.changes.record(from, this.mirror.position, [...plan.diff.upserts.map(serviceKey), ...plan.diff.removals.map(serviceKey)]);
    if (plan.problems) this.mirror.setProblems(plan.problems);
    await this.settleWriteFailures(plan, failed);
    // Another writer journaled after our view (a leader deposed a moment ago): its rows are read
    // now, or this view would claim a position whose changes it never saw.
    if (this.store.takeForeign()) {
      this.log.warn({ from, position: this.mirror.position }, "registry write landed after another writer's journal rows; reading them");
      await this.follow(from);
    }
    if (plan.diff.upserts.length + plan.diff.removals.length > 0 || markLoaded) this.notify();
  }

  /**
   * The database refused some apps' data: those apps keep their published service and problems
   * (their new record is kept, so the next write tries again), everything else goes ahead.
   */
  private keepPrevious(plan: Plan, failed: ReadonlyMap<string, Error>): void {
    this.opts.metrics?.writeErrors.inc({ kind: 'app' }, failed.size);
    const ok = (id: string): boolean => !failed.has(id);
    plan.diff = { upserts: plan.diff.upserts.filter((s) => ok(s.appId)), removals: plan.diff.removals.filter((s) => ok(s.appId)) };
    plan.raised = plan.raised.filter((p) => ok(p.appId));
    plan.cleared = plan.cleared.filter((p) => ok(p.appId));
    if (!plan.partial) {
      // Every service of a refused app keeps its published state (keys are `serviceKey`s).
      plan.services = new Map(plan.services);
      for (const key of [...plan.services.keys()]) if (failed.has(appIdOfKey(key)) && !this.mirror.services.has(key)) plan.services.delete(key);
      for (const [key, prev] of this.mirror.services) if (failed.has(appIdOfKey(key))) plan.services.set(key, prev);
    }
    if (plan.problems) {
      const next = new Map(plan.problems);
      for (const [k, p] of next) if (failed.has(p.appId)) next.delete(k);
      for (const [k, p] of this.mirror.problems) if (failed.has(p.appId)) next.set(k, p);
      plan.problems = next;
    }
  }

  /**
   * Records a problem (with text the database accepts) for each app whose write was refused, and
   * clears those of apps written since or gone from Marathon. Its own write: when even that fails,
   * the log still names the app.
   */
  private async settleWriteFailures(plan: Plan, failed: ReadonlyMap<string, Error>): Promise<void> {
    const open = this.mirror.problemsOf('registry');
    if (failed.size === 0 && open.size === 0) return;
    const now = new Date(this.clock.now()).toISOString();
    const raise = [...failed].map(([id, err]) => {
      this.log.error(
        { appId: id, err: err.message, sqlstate: (err as { code?: unknown }).code },
        'registry write refused for one app; keeping its previous state',
      );
      const p = writeFailedProblem(id, err, now);
      const before = open.get(problemKey(p));
      return before ? { ...p, since: (before as StoredProblem).since } : p;
    });
    const written = new Set(plan.write.upserts.map((u) => safeText(u.service.appId)).concat(plan.write.removals.map((r) => safeText(r.appId))));
    for (const id of failed.keys()) written.delete(safeText(id));
    const known = plan.partial ? null : new Set([...plan.records.keys()].map(safeText));
    const clear = [...open.values()].filter(
      (p) => !raise.some((r) => r.appId === p.appId) && (written.has(p.appId) || (known !== null && !known.has(p.appId))),
    );
    if (raise.length + clear.length === 0) return;
    const from = this.mirror.position;
    try {
      const position = await this.store.write({
        upserts: [],
        removals: [],
        raise,
        clear: clear.map((p) => ({ appId: p.appId, code: p.code })),
        markLoaded: false,
      });
      if (position !== null) this.mirror.position = position;
      this.mirror.setProblems(this.mirror.withProblems('registry', raise, clear));
      this.changes.record(from, this.mirror.position, []);
    } catch (err) {
      this.log.error({ err: (err as Error).message, apps: [...failed.keys()] }, 'registry could not record the refused apps as problems');
    }
  }

  private notify(): void {
    const p = this.mirror.position;
    for (const l of this.listeners) {
      try {
        l(p);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'registry change listener failed');
      }
    }
  }

  private finishSnapshot(result: string, started: number): void {
    const durationMs = Math.max(0, this.clock.now() - started);
    this.lastSnapshot = { at: new Date(this.clock.now()).toISOString(), result, durationMs };
    this.opts.metrics?.snapshots.inc({ result });
    this.opts.metrics?.snapshotDuration.observe({ result }, durationMs / 1000);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    // Events that arrived before this write go first, as they did before events were batched: a
    // refetched app must not be overwritten by an older event still waiting for its batch.
    this.events.flushNow();
    return this.queue.run(fn);
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
