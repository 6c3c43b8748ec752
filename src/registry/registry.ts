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
import { serviceKey } from '../model/service-key';
import type { ChangeKind, EndpointChange } from '../model/events';
import { fixedIpOf, type PoolHolderLookup, type SpecOptions } from '../model/spec';
import type { Steps } from '../model/steps';
import type { Problem, Service } from '../model/types';
import { holdReason } from './guard';
import { HeldState } from './held';
import { writeIsolated } from './isolate';
import { keepPrevious, settleWriteFailures } from './refused';
import { Batcher, SerialQueue } from './serial';
import { CatchUp, type RecordsRef } from './catch-up';
import { Mirror } from './mirror';
import { Planner, type Plan } from './planner';
import { runSliced } from '../slices';
import { StaticHostResolver } from './resolver';
import { RegistryStore, type StoredProblem } from './store';
import type { EventOutcome, RegistryOptions, RegistryStatus, SnapshotOutcome } from './types';
import { ChangeLog } from './changes';
import { EventVisibility, type VisibleStage } from './visibility';
import type { RegistryChanges, RegistrySnapshot, RegistryView } from './view';

export type { EventOutcome, RegistryOptions, RegistryStatus, SnapshotOutcome } from './types';

export type { FollowReason } from './catch-up';

/**
 * Upserts from which a snapshot write is announced to `onWriting` listeners. Below it, preparing
 * elsewhere (a worker thread started and its templates compiled: about 0.1 s of CPU) costs about
 * what the work itself does.
 */
export const ANNOUNCE_MIN = 1000;

/** Database-backed registry with an in-memory mirror. Create with `Registry.open`. */
export class Registry implements RegistryView {
  private readonly store: RegistryStore;
  private readonly mirror = new Mirror();
  /** Apps each recent write touched, for consumers that follow changes instead of snapshots. */
  private readonly changes = new ChangeLog();
  private readonly listeners = new Set<(position: number) => void>();
  private readonly writing = new Set<(services: readonly Service[]) => void>();
  private readonly planner: Planner;
  private readonly held = new HeldState();
  private readonly clock: Clock;
  private readonly log: Logger;
  /** App records by id (all of Marathon's apps, as last seen); shared with the catch-up, whose full reads replace them. */
  private readonly recs: RecordsRef = { current: new Map() };
  private readonly catchUp: CatchUp;
  private readonly queue = new SerialQueue();
  private readonly events: Batcher<EndpointChange, EventOutcome>;
  private readonly visibility: EventVisibility;
  private lastSnapshot: RegistryStatus['lastSnapshot'] = null;
  /** IPAM's holders of the addresses the current plan parses (`poolHolders`). */
  private holders: PoolHolderLookup | undefined;

  private constructor(private readonly opts: RegistryOptions) {
    this.store = new RegistryStore(opts.knex, opts.fence);
    this.events = new Batcher(this.queue, (batch) => this.flushEvents(batch), opts.eventBatchMs ?? 0);
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger;
    this.visibility = new EventVisibility(opts.metrics?.eventVisible);
    const specOpts: SpecOptions = { ...opts.modelPolicy, defaultEnv: opts.defaultEnv, labelPrefix: opts.labelPrefix };
    if (opts.poolHolders) specOpts.poolHolder = (ip) => this.holders?.(ip);
    opts.metrics?.attach(() => this.mirror.gaugeData(this.held.status() !== null));
    this.catchUp = new CatchUp({ store: this.store, mirror: this.mirror, changes: this.changes, records: this.recs, log: this.log, metrics: opts.metrics });
    this.planner = new Planner({ specOpts, resolver: opts.resolver ?? new StaticHostResolver(), clock: this.clock, logger: opts.logger });
  }

  private get records(): Map<string, AppRecord> {
    return this.recs.current;
  }

  private set records(next: Map<string, AppRecord>) {
    this.recs.current = next;
  }

  /** Load the published state from the database (serving it at once) and return the registry. */
  static async open(opts: RegistryOptions): Promise<Registry> {
    const r = new Registry(opts);
    await r.catchUp.reload('start');
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
      await this.catchUp.follow(this.mirror.position);
      this.notify();
      return true;
    });
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

  /**
   * Hears the services a large snapshot write adds or changes as the write starts. The database does
   * most of such a write's work: work that only prepares for the commit (Nginx renders them in a
   * worker thread, keeping the text in memory) can run meanwhile. Nothing may act on these services
   * before `onChange` announces the commit: the write may still fail.
   */
  onWriting(listener: (services: readonly Service[]) => void): () => void {
    this.writing.add(listener);
    return () => this.writing.delete(listener);
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

  /** Known app ids under a group (`/shop` → `/shop/a`, `/shop/b/c`), for group changes. */
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
      if (plan) await this.commit(plan, 'events', false, receivedTimes(batch));
      return { refetch };
    } catch (err) {
      // The mirror kept the old state; the next snapshot converges. Ask for the touched apps again.
      return { refetch: [...new Set([...refetch, ...(plan?.touched ?? [])])], error: (err as Error).message };
    }
  }

  /** `receivedAt`: when the events behind an events write arrived, for `berth_registry_event_visible_seconds`. */
  private async commit(plan: Plan, kind: string, markLoaded: boolean, receivedAt: readonly number[] = []): Promise<void> {
    const w = plan.write;
    w.markLoaded = markLoaded;
    const empty = w.upserts.length + w.removals.length + w.raise.length + w.clear.length === 0 && !markLoaded;
    const from = this.mirror.position;
    let failed = new Map<string, Error>();
    if (!empty) {
      // A snapshot's write of many services only: a small write commits in milliseconds.
      if (kind === 'snapshot' && plan.diff.upserts.length >= ANNOUNCE_MIN) this.announceWriting(plan.diff.upserts);
      try {
        const started = performance.now();
        // One app the database refuses is isolated; the others are written (see isolate.ts).
        const out = await writeIsolated(w, (x) => this.store.write(x, from));
        failed = out.failed;
        this.opts.metrics?.writes.inc({ kind: kind.split(':')[0] });
        this.opts.metrics?.writeDuration.observe({ kind: kind.split(':')[0] }, (performance.now() - started) / 1000);
        if (out.position !== null) this.mirror.position = out.position;
      } catch (err) {
        this.opts.metrics?.writeErrors.inc({ kind: kind.split(':')[0] });
        this.log.error({ err: (err as Error).message, kind }, 'registry write failed; keeping the previous state');
        throw err;
      }
    }
    if (failed.size > 0) {
      this.opts.metrics?.writeErrors.inc({ kind: 'app' }, failed.size);
      keepPrevious(plan, failed, this.mirror);
    }
    if (markLoaded) this.mirror.loaded = true;
    // Logged against the services before this write: a partial plan updates the map in place.
    this.planner.logChanges(plan, this.mirror.services, kind === 'events');
    if (plan.partial) {
      for (const [id, r] of plan.records) this.records.set(id, r);
      this.mirror.updateServices(plan.diff.upserts, plan.diff.removals);
    } else {
      this.records = plan.records;
      this.mirror.setServices(plan.services);
    }
    this.changes.record(from, this.mirror.position, [...plan.diff.upserts.map(serviceKey), ...plan.diff.removals.map(serviceKey)]);
    if (plan.problems) this.mirror.setProblems(plan.problems);
    await settleWriteFailures(plan, failed, { store: this.store, mirror: this.mirror, changes: this.changes, clock: this.clock, log: this.log });
    // Another writer journaled after our view (a leader deposed a moment ago): its rows are read
    // now, or this view would claim a position whose changes it never saw.
    if (this.store.takeForeign()) {
      this.log.warn({ from, position: this.mirror.position }, "registry write landed after another writer's journal rows; reading them");
      await this.catchUp.follow(from);
    }
    if (plan.diff.upserts.length + plan.diff.removals.length > 0 || markLoaded) {
      // Before the listeners hear of it: a consumer may report this position from its callback.
      if (receivedAt.length > 0 && this.mirror.position !== from) this.visibility.committed(this.mirror.position, receivedAt);
      this.notify();
    }
  }

  /** A consumer now serves the registry as of `position` (`berth_registry_event_visible_seconds`). */
  reached(stage: VisibleStage, position: number): void {
    this.visibility.reached(stage, position);
  }

  private announceWriting(services: readonly Service[]): void {
    for (const l of this.writing) {
      try {
        l(services);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'registry write listener failed');
      }
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

function receivedTimes(batch: readonly EndpointChange[]): number[] {
  const out: number[] = [];
  for (const c of batch) if (c.receivedAt !== undefined) out.push(c.receivedAt);
  return out;
}
