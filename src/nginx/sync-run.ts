/**
 * One sync run from start to record: what berth wants on disk (sync-desired.ts), then the guard,
 * the staged test and reload (apply.ts), the reload's confirmation and the bookkeeping of what
 * Nginx now serves. Kept apart from the scheduler (sync.ts), which only decides when a run
 * happens; the state a run leaves (held, applied position, generation) is what the status shows.
 */
import type { Clock } from '../clock';
import type { Service } from '../model/types';
import { applyChanges, type BaseFile } from './apply';
import type { ExcludedService } from './exclusions';
import { finalFiles } from './http-context';
import { HTTP_CONF_PATH } from './http-conf';
import { guardReason, type FileChange } from './plan';
import type { SyncRun, SyncTrigger } from './store';
import { DesiredFiles } from './sync-desired';
import type { NginxSyncOptions } from './sync-options';
import type { SyncParts } from './sync-parts';
import type { RetrySchedule } from './sync-retry';
import { RunWorkspaces } from './sync-workspace';

/** `nginx -t` on service files when nginx.conf does not include berth's http.conf (which defines the variable). */
const MISSING_HTTP_CONF = /unknown "connection_upgrade" variable/;

/** What `GET /v1/sync/status` shows. */
export interface SyncStatusView {
  held: { reason: string; since: string; position: number } | null;
  lastRun: SyncRun | null;
  lastReloadAt: string | null;
  appliedPosition: number | null;
  excluded: ExcludedService[];
  /** Generation id of the configuration berth last applied (and confirmed, when an admin server is configured). */
  generation: string | null;
  /** Set while Nginx does not answer the generation berth reloaded it with. */
  unconfirmed: { generation: string; reason: string; since: string } | null;
}

/** Runs one sync at a time (the scheduler queues them) and keeps what the runs left. */
export class SyncRunner {
  private readonly desired: DesiredFiles;
  private readonly workspaces: RunWorkspaces;
  private seenPosition = -1;
  private pendingReload = false;
  /** No run has seen a loaded registry since start (see `run`). */
  private firstLoadedRun = true;
  private held: SyncStatusView['held'] = null;
  private lastRun: SyncRun | null = null;
  private lastReloadAt: string | null = null;
  private applied: number | null = null;
  private generation: string | null = null;
  private unconfirmed: SyncStatusView['unconfirmed'] = null;

  constructor(
    private readonly opts: NginxSyncOptions,
    private readonly parts: SyncParts,
    private readonly retry: RetrySchedule,
    private readonly clock: Clock,
  ) {
    this.desired = new DesiredFiles(opts, parts, clock);
    this.workspaces = new RunWorkspaces(opts, parts.staging);
  }

  /** See `DesiredFiles.renderAhead`. */
  renderAhead(services: readonly Service[]): Promise<void> {
    return this.desired.renderAhead(services);
  }

  /** See `DesiredFiles.dropAhead`. */
  dropAhead(): void {
    this.desired.dropAhead();
  }

  /** The registry position the last run rendered (-1 before the first). */
  get lastSeenPosition(): number {
    return this.seenPosition;
  }

  /** The registry position the files on disk last matched (null: none yet). */
  get appliedPosition(): number | null {
    return this.applied;
  }

  status(): SyncStatusView {
    return {
      held: this.held,
      lastRun: this.lastRun,
      lastReloadAt: this.lastReloadAt,
      appliedPosition: this.applied,
      excluded: this.parts.excluded.list(),
      generation: this.generation,
      unconfirmed: this.unconfirmed,
    };
  }

  async run(trigger: SyncTrigger, bypassGuard: boolean): Promise<SyncRun> {
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
    let position = this.seenPosition;
    try {
      let snapshot = await this.opts.view.snapshot();
      if (snapshot.loaded && this.opts.beforeRender) {
        await this.opts.beforeRender(snapshot.position);
        snapshot = await this.opts.view.snapshot(); // what changed while waiting rides on this run
      }
      position = snapshot.position;
      const desired = await this.desired.compute(snapshot.services, started);
      const { tls, rendered, keep, disk, final, plan, httpConf, httpConfBefore } = desired;
      await this.parts.problems.update(rendered.rejected, this.parts.excluded.list(), tls.problems);
      this.seenPosition = position;
      this.retry.clear();
      // A predecessor killed between writing files and reloading (SIGKILL during `nginx -t`) left
      // files Nginx never loaded: even when they match, the first run tests and reloads them.
      if (this.firstLoadedRun && snapshot.loaded) {
        this.firstLoadedRun = false;
        if (disk.size > 0) this.pendingReload = true;
      }

      // A taken TCP port is looked at again later even when nothing else moves.
      if (desired.portTaken) this.retry.portTaken();

      if (plan.changes.length === 0 && !desired.httpConfChanged && !this.pendingReload) {
        this.held = null;
        if (snapshot.loaded) this.applied = position; // an empty disk matching a never-loaded registry is not "synced"
        this.generation = httpConf.generation;
        this.parts.ports.applied(final);
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
      // http.conf travels with the service files (staged, tested, promoted): the service files need
      // its hash sizes and map, and it is never blamed as a service (see BaseFile).
      const asBase = (content: string): BaseFile[] => (content !== httpConfBefore ? [{ path: HTTP_CONF_PATH, content, before: httpConfBefore }] : []);
      // What ships when offenders stay out: their previous files (or none) count, not the new ones.
      let shipping = { final, httpConf };
      const rebase = (offenders: readonly FileChange[]) => {
        const without = finalFiles(rendered.files, new Set([...keep, ...offenders.map((o) => o.path)]), disk);
        shipping = { final: without, httpConf: this.parts.httpContext.desired(snapshot.services, without) };
        return asBase(shipping.httpConf.content);
      };
      await this.opts.beforeApply?.().catch((err: Error) => this.opts.logger.warn({ err: err.message }, 'nginx sync: step before applying failed'));
      const outcome = await applyChanges(
        plan.changes,
        await this.workspaces.forRun(rendered.files, disk, plan.changes),
        this.parts.control,
        this.opts.logger,
        this.pendingReload,
        asBase(httpConf.content),
        rebase,
      );
      const testOutput = outcome.output;
      if (outcome.flaky) this.opts.logger.warn({ position }, 'nginx test failed once and passed when run again; applied');
      const live = outcome.status === 'applied' || outcome.stage === 'reload';
      const shipped = plan.changes.filter((c) => !outcome.offenders.includes(c));
      if (live && !outcome.rebuilt) this.parts.disk.written(shipped);
      else this.parts.disk.forget();
      if (outcome.baseLive) this.parts.httpContext.written(shipping.httpConf.content);
      else if (!live) this.parts.httpContext.forget();
      if (live) this.parts.excluded.passed(shipped);
      const confirmation =
        outcome.status === 'applied' && outcome.reloaded && this.parts.confirmer ? await this.parts.confirmer.confirm(shipping.httpConf.generation) : null;
      if (!confirmation) this.parts.confirmer?.disarm(); // a failed reload leaves the held connection unused
      if (confirmation && !confirmation.ok) {
        // Nginx did not load what passed the test: the files stay, the reload is retried.
        outcome.status = 'failed';
        outcome.error = confirmation.error;
        outcome.output = confirmation.logTail;
        this.unconfirmed = {
          generation: shipping.httpConf.generation,
          reason: confirmation.error,
          since: this.unconfirmed?.since ?? new Date(started).toISOString(),
        };
        this.parts.metrics.failures.inc({ stage: 'confirm' });
        this.pendingReload = true;
      } else if (outcome.status === 'applied') {
        this.unconfirmed = null;
        this.generation = shipping.httpConf.generation;
        this.parts.ports.applied(shipping.final);
      }
      if (outcome.offenders.length > 0 && MISSING_HTTP_CONF.test(testOutput ?? '')) {
        // Every new service file fails then, and none is to blame: excluding them all would stop the fleet.
        outcome.offenders = [];
        outcome.status = 'failed';
        outcome.stage = 'test';
        outcome.error = `test command failed; Nginx does not know $connection_upgrade: include BERTH_NGINX_DIR/http.conf in http {} before the service files (docs/nginx.md "http.conf")`;
      }
      this.parts.excluded.add(outcome.offenders, this.clock.now());
      await this.parts.problems.update(rendered.rejected, this.parts.excluded.list(), tls.problems); // offenders raised, retried ones that passed cleared
      if (outcome.stage) this.parts.metrics.failures.inc({ stage: outcome.stage });
      if (outcome.stage === 'reload') this.pendingReload = true;
      if (outcome.status === 'applied') {
        this.pendingReload = false;
        this.applied = position;
        if (outcome.reloaded) {
          this.lastReloadAt = new Date(this.clock.now()).toISOString();
          this.parts.metrics.markReloaded(this.clock.now());
        }
      } else {
        this.retry.failed(); // ship the rest (offenders excluded) or retry the reload
      }
      if (outcome.stage === 'reload' || outcome.reloaded) this.parts.metrics.reloads.inc({ result: outcome.reloaded ? 'ok' : 'failed' });
      this.parts.metrics.filesChanged.inc({ change: 'written' }, outcome.filesWritten);
      this.parts.metrics.filesChanged.inc({ change: 'removed' }, outcome.filesRemoved);
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
      this.retry.failed();
      this.parts.disk.forget();
      this.parts.metrics.failures.inc({ stage: 'render' });
      return this.finish({ ...base, position, status: 'failed', error: (err as Error).message }, started);
    }
  }

  private async finish(partial: Omit<SyncRun, 'finishedAt'>, started: number): Promise<SyncRun> {
    const finished = this.clock.now();
    if (partial.status === 'applied' || partial.status === 'unchanged') this.retry.succeeded();
    this.parts.metrics.held.set(this.held ? 1 : 0);
    this.parts.metrics.excluded.set(this.parts.excluded.size);
    this.lastRun = await this.parts.recorder.record({ ...partial, finishedAt: new Date(finished).toISOString() }, finished - started);
    return this.lastRun;
  }
}
