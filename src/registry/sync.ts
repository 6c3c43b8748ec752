/**
 * Drives the registry from Marathon: a full snapshot after every (re)connect and on a timer,
 * task events applied in place, app-definition events answered by refetching that one app, and
 * the IPAM reconciliation after each snapshot that was fetched and not held (docs/architecture.md "How a change travels", docs/ipam.md).
 */
import { systemClock, type Clock } from '../clock';
import type { Logger } from '../log';
import type { App, MarathonEvent } from '../marathon/types';
import { changedApp, classifyEvent, type Change, type RefetchCause } from '../model/events';
import { coalesce, type Coalescer } from '../runtime/coalesce';
import type { IpamReconcilePort } from './ipam-port';
import { ipamInputSteps, reconcileIpam } from './ipam-reconcile';
import type { Registry, SnapshotOutcome } from './registry';
import { runSliced } from '../slices';

/** The REST side berth needs from Marathon (main.ts adapts the real client to it). */
export interface MarathonAppsSource {
  /** Every app with embedded tasks (`GET /v2/apps?embed=apps.tasks`); throws when the answer is unusable. */
  getApps(): Promise<App[]>;
  /** One app with its tasks; null when Marathon answers 404. Throws on other failures. */
  getApp(id: string): Promise<App | null>;
}

/** The event stream (main.ts adapts the real one). `onConnected` fires after every (re)connect. */
export interface MarathonEventSource {
  subscribe(handlers: { onEvent(e: MarathonEvent): void; onConnected(): void }): () => void;
}

export interface MarathonSyncOptions {
  registry: Registry;
  apps: MarathonAppsSource;
  events?: MarathonEventSource;
  ipam?: IpamReconcilePort;
  logger: Logger;
  clock?: Clock;
  /** `BERTH_RESYNC_INTERVAL_MS`: periodic full snapshot. */
  resyncIntervalMs: number;
  labelPrefix?: string;
  /** Coalesce refetches of apps named by events for this long (default 50 ms). */
  refetchDelayMs?: number;
  /** More apps than this to refetch at once → one full snapshot instead (default 50). */
  maxRefetchBatch?: number;
  /** With an event source: snapshot anyway if no connect happened within this time (default 2000 ms). */
  initialSnapshotDelayMs?: number;
  /**
   * Refetch apps waiting for Marathon's readiness results this often (default 2000 ms; 0: never).
   * The results have no event of their own; only apps with readiness checks and a running
   * deployment are polled, at most `maxRefetchBatch` per round.
   */
  readinessPollMs?: number;
}

export type SyncResult = SnapshotOutcome | { result: 'failed'; error: string };

/** Changes seen while one fetch was in flight; `appId` null = a full snapshot (every app). */
interface FetchWindow {
  appId: string | null;
  changes: Change[];
}

/** Orchestrates snapshots, events, refetches and IPAM reconciliation. */
export class MarathonSync {
  private readonly clock: Clock;
  private readonly log: Logger;
  private inflight: Promise<SyncResult> | null = null;
  private queued: { force: boolean; promise: Promise<SyncResult> } | null = null;
  /** Open fetch windows: events that arrive while a fetch is in flight are applied again after it. */
  private readonly windows = new Set<FetchWindow>();
  /** Apps to refetch, and whether Marathon announced their end (a 404 then removes them). */
  private pendingRefetch = new Map<string, RefetchCause>();
  private readonly refetcher: Coalescer;
  private resyncTimer: unknown = null;
  private readinessTimer: unknown = null;
  private unsubscribe: (() => void) | null = null;
  private stopped = true;
  private failures = 0;
  private lastSuccessAt: number | null = null;
  private lastError: string | null = null;
  private background = new Set<Promise<unknown>>();

  constructor(private readonly o: MarathonSyncOptions) {
    this.clock = o.clock ?? systemClock;
    this.log = o.logger;
    // Refetches coalesce: apps named within the delay are fetched by one run, one run at a time.
    this.refetcher = coalesce({
      run: () => this.flushRefetch(),
      onError: (err) => this.log.error({ err: (err as Error).message }, 'app refetch run failed'),
      clock: this.clock,
      delayMs: o.refetchDelayMs ?? 50,
    });
  }

  /** Subscribe to events and take the first snapshot (on connect, or after a short delay without one). */
  start(): void {
    this.stopped = false;
    if (this.o.events) {
      this.unsubscribe = this.o.events.subscribe({ onEvent: (e) => this.onEvent(e), onConnected: () => void this.syncNow() });
      this.resyncTimer = this.schedule(this.o.initialSnapshotDelayMs ?? 2000, () => {
        this.resyncTimer = null;
        if (!this.inflight && this.lastSuccessAt === null) void this.syncNow();
      });
    } else {
      void this.syncNow();
    }
    this.pollReadiness();
  }

  private pollReadiness(): void {
    const every = this.o.readinessPollMs ?? 2000;
    if (every <= 0 || this.stopped) return;
    this.readinessTimer = this.schedule(every, () => {
      this.readinessTimer = null;
      if (this.stopped) return;
      const due = this.o.registry.appsAwaitingReadiness().slice(0, this.o.maxRefetchBatch ?? 50);
      for (const id of due) this.requestRefetch(id, 'deployment');
      this.pollReadiness();
    });
  }

  /** Stop timers and the subscription; waits for work in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.resyncTimer) this.clock.clearTimeout(this.resyncTimer);
    this.resyncTimer = null;
    if (this.readinessTimer) this.clock.clearTimeout(this.readinessTimer);
    this.readinessTimer = null;
    await this.refetcher.stop();
    await Promise.allSettled([this.inflight, this.queued?.promise, ...this.background]);
  }

  /** Take a full snapshot now; one more is queued if one is running (requests coalesce). */
  syncNow(opts: { force?: boolean } = {}): Promise<SyncResult> {
    const force = !!opts.force;
    if (!this.inflight) return this.launch(force);
    if (this.queued) {
      this.queued.force ||= force;
      return this.queued.promise;
    }
    const q = { force, promise: Promise.resolve<SyncResult>({ result: 'failed', error: 'not run' }) };
    q.promise = this.inflight.then(() => {
      this.queued = null;
      return this.launch(q.force);
    });
    this.queued = q;
    return q.promise;
  }

  /**
   * Resolves once nothing is pending or in flight: events being applied, refetches waiting for
   * their timer or running, snapshots (tests wait for this before arming one-shot Marathon faults).
   */
  async idle(): Promise<void> {
    for (;;) {
      await this.refetcher.idle();
      const busy = [...this.background, this.inflight, this.queued?.promise].filter((p): p is Promise<unknown> => !!p);
      if (busy.length === 0 && this.refetcher.dueAt === null && !this.refetcher.running) return;
      await Promise.allSettled(busy);
    }
  }

  /** For `/readyz` and the API. */
  status(): { lastSuccessAt: string | null; lastError: string | null; consecutiveFailures: number } {
    return {
      lastSuccessAt: this.lastSuccessAt === null ? null : new Date(this.lastSuccessAt).toISOString(),
      lastError: this.lastError,
      consecutiveFailures: this.failures,
    };
  }

  /** True once a snapshot was fetched and applied (or found unchanged). */
  hasSynced(): boolean {
    return this.lastSuccessAt !== null;
  }

  private launch(force: boolean): Promise<SyncResult> {
    const p: Promise<SyncResult> = this.snapshotOnce(force).finally(() => {
      if (this.inflight === p) this.inflight = null;
    });
    this.inflight = p;
    return p;
  }

  private async snapshotOnce(force: boolean): Promise<SyncResult> {
    const t0 = this.clock.now();
    const window = this.openWindow(null);
    let result: SyncResult;
    try {
      let apps: App[] | null = await this.o.apps.getApps();
      if (!Array.isArray(apps)) throw new Error('marathon answered without an apps list');
      const ipamInput = apps.length > 0 && this.o.ipam ? await runSliced(ipamInputSteps(apps, this.o.labelPrefix)) : null;
      result = await this.o.registry.applySnapshot(apps, { force, durationStartMs: t0 });
      // Released before IPAM runs: the DNS index and Nginx files are being built from the new state
      // meanwhile, and the app list would otherwise add to that peak.
      apps = null;
      if (result.result !== 'held') {
        this.lastSuccessAt = this.clock.now();
        this.failures = 0;
        this.lastError = null;
        if (ipamInput && this.o.ipam) await reconcileIpam(this.o.ipam, this.o.registry, ipamInput, new Date(t0), this.log);
      }
    } catch (err) {
      const error = (err as Error).message ?? String(err);
      this.failures++;
      this.lastError = error;
      this.o.registry.reportFailedSnapshot(err, t0);
      result = { result: 'failed', error };
    } finally {
      this.closeWindow(window);
    }
    this.scheduleResync(result.result === 'failed');
    return result;
  }

  private openWindow(appId: string | null): FetchWindow {
    const w: FetchWindow = { appId, changes: [] };
    this.windows.add(w);
    return w;
  }

  /**
   * Marathon's answer may be older than events that arrived while it was fetched (event order is
   * not guaranteed either); applying those changes again, in order, after the answer converges to
   * the latest state the events described.
   */
  private closeWindow(w: FetchWindow): void {
    this.windows.delete(w);
    for (const c of w.changes) this.apply(c, true);
  }

  private scheduleResync(failed: boolean): void {
    if (this.stopped) return;
    if (this.resyncTimer) this.clock.clearTimeout(this.resyncTimer);
    // After a failure retry sooner (1 s, 2 s, 4 s… capped by the resync interval).
    const delay = failed ? Math.min(this.o.resyncIntervalMs, 1000 * 2 ** Math.min(this.failures - 1, 8)) : this.o.resyncIntervalMs;
    this.resyncTimer = this.schedule(delay, () => {
      this.resyncTimer = null;
      void this.syncNow();
    });
  }

  /** The one place a Marathon event is classified; everything after works on the typed change. */
  private onEvent(e: MarathonEvent): void {
    if (this.stopped || !e || typeof e !== 'object') return;
    const c = classifyEvent(e);
    if (c.kind === 'task' || c.kind === 'health') c.receivedAt = performance.now();
    this.o.registry.countChange(c.kind);
    if (c.kind === 'ignored') return;
    if (this.windows.size > 0) {
      const appId = changedApp(c);
      for (const w of this.windows) if (w.appId === null || (appId !== null && w.appId === appId)) w.changes.push(c);
    }
    this.apply(c);
  }

  private apply(c: Change, replayed = false): void {
    // During a snapshot, refetches wait: the replay after it asks again for what is still unknown.
    const refetchNow = (): boolean => replayed || !this.snapshotInFlight();
    switch (c.kind) {
      case 'task':
      case 'health':
        this.track(
          this.o.registry.applyChange(c).then((out) => {
            if (refetchNow()) for (const id of out.refetch) this.requestRefetch(id, 'definition');
          }),
        );
        return;
      case 'apps':
        if (refetchNow()) for (const id of c.appIds) this.requestRefetch(id, c.cause);
        return;
      case 'group':
        if (refetchNow()) for (const id of this.o.registry.appIdsUnder(c.groupId)) this.requestRefetch(id, 'definition');
        return;
      case 'ignored':
        return;
    }
  }

  private snapshotInFlight(): boolean {
    for (const w of this.windows) if (w.appId === null) return true;
    return false;
  }

  private requestRefetch(appId: string, cause: RefetchCause): void {
    if (this.stopped) return;
    // An announced end is kept when the same app is also named for another reason.
    if (this.pendingRefetch.get(appId) !== 'terminated') this.pendingRefetch.set(appId, cause);
    this.refetcher.request();
  }

  private async flushRefetch(): Promise<void> {
    const batch = this.pendingRefetch;
    this.pendingRefetch = new Map();
    if (batch.size > (this.o.maxRefetchBatch ?? 50)) {
      await this.syncNow();
      return;
    }
    for (const [id, cause] of batch) {
      if (this.stopped) return;
      const window = this.openWindow(id);
      try {
        const app = await this.o.apps.getApp(id);
        await this.o.registry.applyApp(id, app, { terminated: cause === 'terminated' });
      } catch (err) {
        // The periodic snapshot converges it; don't hammer a failing Marathon per app.
        this.log.warn({ appId: id, err: (err as Error).message }, 'app refetch failed');
      } finally {
        this.closeWindow(window);
      }
    }
  }

  private schedule(ms: number, fn: () => void): unknown {
    const h = this.clock.setTimeout(fn, ms);
    (h as { unref?: () => void }).unref?.();
    return h;
  }

  private track(p: Promise<unknown>): void {
    const q = p.catch((err) => this.log.error({ err: (err as Error).message }, 'marathon sync task failed'));
    this.background.add(q);
    void q.finally(() => this.background.delete(q));
  }
}
