/**
 * When the Nginx sync runs: the batch timer, the poll and the queue of runs, and its lifecycle.
 * What a run does is in sync-run.ts; this module only decides when one happens and in which order.
 */
import { systemClock, type Clock } from '../clock';
import type { Service } from '../model/types';
import { removeStaleTemps } from './files';
import type { SyncRun, SyncTrigger } from './store';
import type { NginxSyncOptions } from './sync-options';
import { createSyncParts, type SyncParts } from './sync-parts';
import { RetrySchedule } from './sync-retry';
import { SyncRunner, type SyncStatusView } from './sync-run';
import { coalesce, type Coalescer } from '../runtime/coalesce';

/**
 * The Nginx batch sync. A registry change arms one timer for `intervalMs`; every change until it
 * fires rides on the same run (so a burst costs one reload). Between changes a poll every
 * `intervalMs` catches journal moves the listener missed and retries failed steps. Runs are
 * serial; `syncNow()` and `release()` run at once, queued behind a run in progress.
 */
export class NginxSync {
  private readonly clock: Clock;
  private readonly parts: SyncParts;
  private readonly retry: RetrySchedule;
  private readonly runner: SyncRunner;
  /** The batch timer and the poll (see the class comment). */
  private readonly loop: Coalescer;
  private stopped = true;
  private unsubscribe: (() => void) | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  /** Resolves at `stop()`: ends a wait before a render. */
  private stopping = stopSignal();

  constructor(private readonly opts: NginxSyncOptions) {
    this.clock = opts.clock ?? systemClock;
    this.parts = createSyncParts(opts, this.clock);
    this.retry = new RetrySchedule(this.clock, opts.intervalMs);
    // A run waiting before its render (DNS first) gives up the wait when the sync stops.
    const before = opts.beforeRender;
    const beforeRender = before && ((position: number) => Promise.race([before(position), this.stopping.promise]));
    this.runner = new SyncRunner({ ...opts, beforeRender }, this.parts, this.retry, this.clock);
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
    this.stopping = stopSignal();
    const stale = await removeStaleTemps(this.opts.dir);
    if (stale > 0) this.opts.logger.info({ stale }, 'removed temp files left by an interrupted sync');
    if (this.parts.staging && this.opts.testCmd.includes('BERTH_NGINX_CANDIDATE_CONF') && !this.opts.mainConf)
      this.opts.logger.error(
        { testCmd: this.opts.testCmd },
        'the nginx test command uses $BERTH_NGINX_CANDIDATE_CONF but BERTH_NGINX_MAIN_CONF is not set: every test will fail',
      );
    if (this.parts.staging) {
      // Whatever a killed predecessor staged was never tested or never made live: start from live.
      const started = this.clock.now();
      const files = await this.parts.staging.reset().catch((err: Error) => {
        this.opts.logger.warn({ err: err.message }, 'nginx staging could not be rebuilt; the first run tries again');
        return -1;
      });
      this.opts.logger.info({ files, ms: this.clock.now() - started }, 'nginx staging rebuilt from the live folder');
    } else if (this.opts.testCmd.trim() !== '') {
      this.opts.logger.warn(
        { testCmd: this.opts.testCmd },
        'nginx test command does not use $BERTH_NGINX_CANDIDATE_CONF/_DIR: changes are tested in the live folder, which a crash during the test can leave untested (set BERTH_NGINX_MAIN_CONF)',
      );
    }
    this.unsubscribe = this.opts.view.onChange(() => this.onChange());
    this.loop.request({ delayMs: 0 });
  }

  /** Stops timers and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.resolve();
    this.unsubscribe?.();
    await this.loop.stop();
    // A run waiting for a worker's render stops waiting (it then renders what it needs itself).
    this.runner.dropAhead();
    await this.chain.catch(() => undefined);
    this.parts.confirmer?.disarm();
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
    return this.runner.status();
  }

  /**
   * Renders `services` in a worker thread for the next run (render-ahead.ts): berth calls it with
   * the services of a large registry write while the database commits it. Never throws; the run
   * renders whatever this does not deliver.
   */
  renderAhead(services: readonly Service[]): void {
    if (this.stopped) return;
    this.runner
      .renderAhead(services)
      .catch((err: Error) => this.opts.logger.warn({ err: err.message }, 'nginx: rendering ahead could not start; the next run renders those services'));
  }

  private onChange(): void {
    // Until the first full sync there is nothing to batch with: the files of a cold start (or a
    // new leader's first snapshot) go out at once; from then on, one run per interval (the first
    // change of a burst opens the window, the rest ride on it).
    this.loop.request({ delayMs: this.runner.appliedPosition === null ? 0 : this.opts.intervalMs });
  }

  private async tick(): Promise<void> {
    const position = await this.opts.view.position();
    if (this.stopped) return;
    const moved = position !== this.runner.lastSeenPosition;
    const retryDue = this.retry.due();
    // A quarantined service due for its retry starts a run of its own, unless failed runs are
    // already being retried with their own backoff.
    const quarantineAt = this.parts.excluded.nextRetryAt();
    const quarantineDue = !this.retry.pending && quarantineAt !== null && this.clock.now() >= quarantineAt;
    // A renewed (or added, or removed) certificate file: rendered again with its new fingerprint.
    const certsMoved = !moved && (await this.parts.tls.changed());
    if (moved || retryDue || quarantineDue || certsMoved) await this.enqueue(moved || certsMoved ? 'interval' : 'retry', false);
  }

  private enqueue(trigger: SyncTrigger, bypassGuard: boolean): Promise<SyncRun> {
    const run = this.chain.then(() => this.runner.run(trigger, bypassGuard));
    this.chain = run.catch(() => undefined);
    return run;
  }
}

function stopSignal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
