import type { Registry } from 'prom-client';
import { systemClock, type Clock } from '../clock';
import type { Logger } from '../log';
import type { RegistryView } from '../registry/view';
import { applyChanges } from './apply';
import { commandControl, type NginxControl } from './command';
import { DiskState } from './disk-state';
import { removeStaleTemps } from './files';
import { Exclusions } from './exclusions';
import { createNginxMetrics, type NginxMetrics } from './metrics';
import { guardReason, planSync } from './plan';
import { ProblemTracker } from './problem-tracker';
import { RenderMemo, renderServices, type DynamicMode, type Templates } from './render';
import type { ProblemSink, SyncRun, SyncRunStore, SyncTrigger } from './store';
import { RunRecorder } from './run-recorder';
import { loadTemplates } from './templates';
import { coalesce, type Coalescer } from '../runtime/coalesce';

const MAX_RETRY_MS = 60_000;

/** Plain options; `main.ts` maps config onto them. */
export interface NginxSyncOptions {
  dir: string;
  templatesDir: string;
  httpListen: string;
  testCmd: string;
  reloadCmd: string;
  intervalMs: number;
  commandTimeoutMs: number;
  maxRemovalRatio: number;
  logger: Logger;
  metricsRegistry: Registry;
  view: RegistryView;
  store: SyncRunStore;
  problems: ProblemSink;
  clock?: Clock;
  /** Replaces the test/reload commands (tests); defaults to running `testCmd`/`reloadCmd`. */
  control?: NginxControl;
  /** `lua`: HTTP files carry no endpoints (BERTH_NGINX_DYNAMIC); default `off`. */
  dynamic?: DynamicMode;
  /**
   * Awaited before changed files are written and reloaded (lua mode: push the endpoints first, so
   * an upstream a reload introduces serves at once). A rejection is logged and the run goes on.
   */
  beforeApply?: () => Promise<void>;
}

/** What `GET /v1/sync/status` shows. */
export interface SyncStatusView {
  held: { reason: string; since: string; position: number } | null;
  lastRun: SyncRun | null;
  lastReloadAt: string | null;
  appliedPosition: number | null;
  excluded: Array<{ env: string; appId: string; path: string }>;
}

/**
 * The Nginx batch sync. A registry change arms one timer for `intervalMs`; every change until it
 * fires rides on the same run (so a burst costs one reload). Between changes a poll every
 * `intervalMs` catches journal moves the listener missed and retries failed steps. Runs are
 * serial; `syncNow()` and `release()` run at once, queued behind a run in progress.
 */
export class NginxSync {
  private readonly clock: Clock;
  private readonly control: NginxControl;
  private readonly metrics: NginxMetrics;
  private readonly problems: ProblemTracker;
  private templates: Templates | null = null;
  private readonly memo = new RenderMemo();
  private readonly disk: DiskState;
  private readonly recorder: RunRecorder;
  /** The batch timer and the poll (see the class comment). */
  private readonly loop: Coalescer;
  private stopped = true;
  private unsubscribe: (() => void) | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private lastSeenPosition = -1;
  /** When a failed run may be retried without a registry change (null: nothing to retry). */
  private retryAt: number | null = null;
  private consecutiveFailures = 0;
  private pendingReload = false;
  /** No run has seen a loaded registry since start (see `run`). */
  private firstLoadedRun = true;
  private held: SyncStatusView['held'] = null;
  private lastRun: SyncRun | null = null;
  private lastReloadAt: string | null = null;
  private appliedPosition: number | null = null;
  private readonly excluded = new Exclusions();

  constructor(private readonly opts: NginxSyncOptions) {
    this.clock = opts.clock ?? systemClock;
    this.control = opts.control ?? commandControl({ testCmd: opts.testCmd, reloadCmd: opts.reloadCmd, timeoutMs: opts.commandTimeoutMs });
    this.metrics = createNginxMetrics(opts.metricsRegistry, () => this.clock.now());
    this.problems = new ProblemTracker(opts.problems, opts.logger);
    this.disk = new DiskState(opts.dir, this.clock);
    this.recorder = new RunRecorder(opts.store, this.metrics, opts.logger);
    this.loop = coalesce({
      clock: this.clock,
      everyMs: opts.intervalMs,
      run: () => this.tick(),
      onError: (err) => opts.logger.warn({ err: (err as Error).message }, 'nginx sync: registry unavailable, will retry'),
    });
  }

  /** Cleans temp files a killed predecessor left, subscribes to the registry and syncs once at once. */
  async start(): Promise<void> {
    this.stopped = false;
    const stale = await removeStaleTemps(this.opts.dir);
    if (stale > 0) this.opts.logger.info({ stale }, 'removed temp files left by an interrupted sync');
    this.unsubscribe = this.opts.view.onChange(() => this.onChange());
    this.loop.request({ delayMs: 0 });
  }

  /** Stops timers and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    await this.loop.stop();
    await this.chain.catch(() => undefined);
  }

  /** Renders and applies now (guard applies), queued behind a run in progress. */
  syncNow(): Promise<SyncRun> {
    return this.enqueue('forced', false);
  }

  /** Applies a held sync now, bypassing the mass-removal guard once. */
  release(): Promise<SyncRun> {
    return this.enqueue('release', true);
  }

  status(): SyncStatusView {
    return {
      held: this.held,
      lastRun: this.lastRun,
      lastReloadAt: this.lastReloadAt,
      appliedPosition: this.appliedPosition,
      excluded: this.excluded.list(),
    };
  }

  private onChange(): void {
    // Until the first full sync there is nothing to batch with: the files of a cold start (or a
    // new leader's first snapshot) go out at once; from then on, one run per interval (the first
    // change of a burst opens the window, the rest ride on it).
    this.loop.request({ delayMs: this.appliedPosition === null ? 0 : this.opts.intervalMs });
  }

  private async tick(): Promise<void> {
    const position = await this.opts.view.position();
    if (this.stopped) return;
    const moved = position !== this.lastSeenPosition;
    const retryDue = this.retryAt !== null && this.clock.now() >= this.retryAt;
    if (moved || retryDue) await this.enqueue(moved ? 'interval' : 'retry', false);
  }

  private enqueue(trigger: SyncTrigger, bypassGuard: boolean): Promise<SyncRun> {
    const run = this.chain.then(() => this.run(trigger, bypassGuard));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async run(trigger: SyncTrigger, bypassGuard: boolean): Promise<SyncRun> {
    const started = this.clock.now();
    const base = {
      startedAt: new Date(started).toISOString(),
      trigger,
      filesWritten: 0,
      filesRemoved: 0,
      reloaded: false,
      testOutput: null,
      heldReason: null,
      error: null,
      offenders: [],
    };
    let position = this.lastSeenPosition;
    try {
      const snapshot = await this.opts.view.snapshot();
      position = snapshot.position;
      const dynamic = this.opts.dynamic ?? 'off';
      this.templates ??= await loadTemplates(this.opts.templatesDir, { lua: dynamic === 'lua' });
      const rendered = renderServices(snapshot.services, this.templates, this.opts.httpListen, this.memo, dynamic);
      this.memo.rotate();
      const disk = await this.disk.current();
      const keep = this.excluded.keepPaths(rendered.files, rendered.rejected);
      const plan = planSync(rendered.files, disk, keep, this.disk);
      await this.problems.update(rendered.rejected, this.excluded.list());
      this.lastSeenPosition = position;
      this.retryAt = null;
      // A predecessor killed between writing files and reloading (SIGKILL during `nginx -t`) left
      // files Nginx never loaded: even when they match, the first run tests and reloads them.
      if (this.firstLoadedRun && snapshot.loaded) {
        this.firstLoadedRun = false;
        if (disk.size > 0) this.pendingReload = true;
      }

      if (plan.changes.length === 0 && !this.pendingReload) {
        this.held = null;
        if (snapshot.loaded) this.appliedPosition = position; // an empty disk matching a never-loaded registry is not "synced"
        return await this.finish({ ...base, position, status: 'unchanged' }, started);
      }
      const reason = bypassGuard ? null : guardReason(plan, snapshot.loaded, this.opts.maxRemovalRatio);
      if (reason) {
        if (this.held?.reason !== reason)
          this.opts.logger.warn({ reason, position }, 'nginx sync held by the mass-removal guard; POST /v1/sync/release to apply');
        this.held = { reason, since: this.held?.since ?? new Date(started).toISOString(), position };
        return await this.finish({ ...base, position, status: 'held', heldReason: reason }, started);
      }
      this.held = null;
      await this.opts.beforeApply?.().catch((err: Error) => this.opts.logger.warn({ err: err.message }, 'nginx sync: step before applying failed'));
      const outcome = await applyChanges(plan.changes, this.opts.dir, this.control, this.opts.logger);
      if (outcome.status === 'applied' || outcome.stage === 'reload') this.disk.written(plan.changes);
      else this.disk.forget();
      this.excluded.add(outcome.offenders);
      if (outcome.offenders.length > 0) await this.problems.update(rendered.rejected, this.excluded.list());
      if (outcome.stage) this.metrics.failures.inc({ stage: outcome.stage });
      if (outcome.stage === 'reload') this.pendingReload = true;
      if (outcome.status === 'applied') {
        this.pendingReload = false;
        this.appliedPosition = position;
        if (outcome.reloaded) {
          this.lastReloadAt = new Date(this.clock.now()).toISOString();
          this.metrics.markReloaded(this.clock.now());
        }
      } else {
        this.scheduleRetry(); // ship the rest (offenders excluded) or retry the reload
      }
      if (outcome.stage === 'reload' || outcome.reloaded) this.metrics.reloads.inc({ result: outcome.reloaded ? 'ok' : 'failed' });
      this.metrics.filesChanged.inc({ change: 'written' }, outcome.filesWritten);
      this.metrics.filesChanged.inc({ change: 'removed' }, outcome.filesRemoved);
      return await this.finish(
        {
          ...base,
          position,
          status: outcome.status,
          filesWritten: outcome.filesWritten,
          filesRemoved: outcome.filesRemoved,
          reloaded: outcome.reloaded,
          testOutput: outcome.output,
          error: outcome.error,
          offenders: outcome.offenders.map((o) => ({ env: o.env, appId: o.appId })),
        },
        started,
      );
    } catch (err) {
      this.scheduleRetry();
      this.disk.forget();
      this.metrics.failures.inc({ stage: 'render' });
      return this.finish({ ...base, position, status: 'failed', error: (err as Error).message }, started);
    }
  }

  /**
   * A failed run is retried on the next tick, then with doubling pauses up to a minute while it
   * keeps failing (a broken nginx.conf must not turn into a failed run and an error line every tick).
   */
  private scheduleRetry(): void {
    this.consecutiveFailures++;
    this.retryAt = this.clock.now() + Math.min(MAX_RETRY_MS, this.opts.intervalMs * 2 ** (this.consecutiveFailures - 1));
  }

  private async finish(partial: Omit<SyncRun, 'finishedAt'>, started: number): Promise<SyncRun> {
    const finished = this.clock.now();
    if (partial.status === 'applied' || partial.status === 'unchanged') this.consecutiveFailures = 0;
    this.metrics.held.set(this.held ? 1 : 0);
    this.metrics.excluded.set(this.excluded.size);
    this.lastRun = await this.recorder.record({ ...partial, finishedAt: new Date(finished).toISOString() }, finished - started);
    return this.lastRun;
  }
}
