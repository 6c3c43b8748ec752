import type { Registry } from 'prom-client';
import { systemClock, type Clock } from '../clock';
import type { Logger } from '../log';
import type { RegistryView } from '../registry/view';
import { applyChanges, inPlaceWorkspace, stagedWorkspace, type BaseFile, type Workspace } from './apply';
import { writeCandidateConf } from './candidate-conf';
import { commandControl, testsCandidate, type NginxControl } from './command';
import { GenerationConfirmer } from './confirm';
import { DiskState } from './disk-state';
import { removeStaleTemps } from './files';
import { Exclusions, type ExcludedService } from './exclusions';
import { finalFiles, HttpContext } from './http-context';
import { HTTP_CONF_PATH } from './http-conf';
import { luaHttpExtras } from './lua/extras';
import { TcpPortCheck } from './port-check';
import { createNginxMetrics, type NginxMetrics } from './metrics';
import { guardReason, planSync, type FileChange, type FileBytes } from './plan';
import { ProblemTracker } from './problem-tracker';
import { loopTurn } from '../slices';
import { RenderMemo } from './render-memo';
import { renderServicesAsync } from './render';
import { renderSharedDomainsOnly } from './render-shared';
import type { DynamicMode } from './template-context';
import type { RenderedFile } from './rendered-file';
import type { Templates } from './templates';
import type { ProblemSink, SyncRun, SyncRunStore, SyncTrigger } from './store';
import { RunRecorder } from './run-recorder';
import { CANDIDATE_CONF_NAME, Staging } from './staging';
import { loadTemplates } from './templates';
import { TlsCatalog, type TlsResolution } from './tls-catalog';
import { parseListen } from './validate';
import { isDomainGroupPath } from './names';
import path from 'node:path';
import { coalesce, type Coalescer } from '../runtime/coalesce';

const MAX_RETRY_MS = 60_000;
/** Default cap of the gap between retries of a quarantined service (BERTH_NGINX_QUARANTINE_MAX_MS). */
export const DEFAULT_QUARANTINE_MAX_MS = 600_000;
/** `nginx -t` on service files when nginx.conf does not include berth's http.conf (which defines the variable). */
const MISSING_HTTP_CONF = /unknown "connection_upgrade" variable/;

/** Plain options; `main.ts` maps config onto them. */
export interface NginxSyncOptions {
  dir: string;
  templatesDir: string;
  httpListen: string;
  testCmd: string;
  reloadCmd: string;
  /**
   * The operator's main nginx.conf (BERTH_NGINX_MAIN_CONF): when set, each test gets a candidate
   * copy whose includes of `dir` point at the staging tree (BERTH_NGINX_CANDIDATE_CONF).
   */
  mainConf?: string | null;
  /** Cap of the doubling gap between retries of a quarantined service. */
  quarantineMaxMs?: number;
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
  /** Loopback `ip:port` of the admin server in http.conf; empty or absent: none, reloads are not confirmed. */
  adminListen?: string;
  /** How long Nginx has to answer the new generation after a reload (default 5 s). */
  confirmTimeoutMs?: number;
  /** Nginx's error log, quoted when a reload is not confirmed. */
  errorLog?: string;
  /** Replaces the "is this TCP port taken" check (tests). */
  portInUse?: (host: string | null, port: number) => Promise<boolean>;
  /** `lua`: HTTP files carry no endpoints and http.conf carries the Lua balancer (BERTH_NGINX_DYNAMIC); default `off`. */
  dynamic?: DynamicMode;
  /**
   * Awaited before changed files are staged, tested and reloaded (lua mode: push the endpoints
   * first, so an upstream a reload introduces serves at once). A rejection is logged and the run goes on.
   */
  beforeApply?: () => Promise<void>;
  /** BERTH_TLS_DIR: certificate pairs for `berth.tls` services; empty: TLS unavailable (default). */
  tlsDir?: string;
  /** BERTH_NGINX_HTTPS_LISTEN (default `443`). */
  httpsListen?: string;
  /** BERTH_TLS_EXPIRY_WARN_DAYS (default 14). */
  tlsExpiryWarnDays?: number;
}

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
  private memo = new RenderMemo();
  private readonly tls: TlsCatalog;
  /** The last run's certificate choice and its problems (raised with the other Nginx problems). */
  private tlsResolved: TlsResolution | null = null;
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
  private readonly excluded: Exclusions;
  private warnedNoInclude = false;
  /** Null when the test command does not look at the candidate: changes are then tested in the live folder. */
  private readonly staging: Staging | null;
  private readonly httpContext: HttpContext;
  private readonly confirmer: GenerationConfirmer | null;
  private readonly ports: TcpPortCheck;
  private generation: string | null = null;
  private unconfirmed: SyncStatusView['unconfirmed'] = null;

  constructor(private readonly opts: NginxSyncOptions) {
    this.clock = opts.clock ?? systemClock;
    const control = opts.control ?? commandControl({ testCmd: opts.testCmd, reloadCmd: opts.reloadCmd, timeoutMs: opts.commandTimeoutMs });
    const adminListen = opts.adminListen?.trim() ?? '';
    // lua mode: the balancer's shared dicts, init and admin locations travel in http.conf, next to
    // /berth/generation, so an operator includes one file whatever the mode.
    this.httpContext = new HttpContext(opts.dir, adminListen, opts.dynamic === 'lua' ? luaHttpExtras() : undefined);
    // No confirmation without an admin server, nor when nothing reloads Nginx (render only).
    this.confirmer =
      adminListen !== '' && opts.reloadCmd.trim() !== ''
        ? new GenerationConfirmer({ adminListen, timeoutMs: opts.confirmTimeoutMs ?? 5000, errorLog: opts.errorLog })
        : null;
    this.ports = new TcpPortCheck(listenHost(opts.httpListen), opts.portInUse);
    // The confirmation holds a connection to the running generation across the reload (confirm.ts).
    this.control = {
      test: (target) => control.test(target),
      reload: async () => {
        await this.confirmer?.arm();
        this.confirmer?.reloading();
        return control.reload();
      },
    };
    this.metrics = createNginxMetrics(opts.metricsRegistry, () => this.clock.now());
    this.problems = new ProblemTracker(opts.problems, opts.logger);
    this.tls = new TlsCatalog(opts.tlsDir ?? '', opts.tlsExpiryWarnDays ?? 14, opts.metricsRegistry);
    this.disk = new DiskState(opts.dir, this.clock);
    this.excluded = new Exclusions(opts.intervalMs, opts.quarantineMaxMs ?? DEFAULT_QUARANTINE_MAX_MS);
    this.staging = testsCandidate(opts.testCmd, opts.mainConf) ? new Staging(opts.dir) : null;
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
    if (this.staging && this.opts.testCmd.includes('BERTH_NGINX_CANDIDATE_CONF') && !this.opts.mainConf)
      this.opts.logger.error(
        { testCmd: this.opts.testCmd },
        'the nginx test command uses $BERTH_NGINX_CANDIDATE_CONF but BERTH_NGINX_MAIN_CONF is not set: every test will fail',
      );
    if (this.staging) {
      // Whatever a killed predecessor staged was never tested or never made live: start from live.
      const started = this.clock.now();
      const files = await this.staging.reset().catch((err: Error) => {
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
    this.unsubscribe?.();
    await this.loop.stop();
    await this.chain.catch(() => undefined);
    this.confirmer?.disarm();
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
      generation: this.generation,
      unconfirmed: this.unconfirmed,
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
    // A quarantined service due for its retry starts a run of its own, unless failed runs are
    // already being retried with their own backoff.
    const quarantineAt = this.excluded.nextRetryAt();
    const quarantineDue = this.retryAt === null && quarantineAt !== null && this.clock.now() >= quarantineAt;
    // A renewed (or added, or removed) certificate file: rendered again with its new fingerprint.
    const certsMoved = !moved && (await this.tls.changed());
    if (moved || retryDue || quarantineDue || certsMoved) await this.enqueue(moved || certsMoved ? 'interval' : 'retry', false);
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
      const tls = await this.tls.resolve(snapshot.services, this.clock.now());
      // A certificate change changes files of services that did not change: nothing memoised holds.
      if (tls.key !== this.tlsResolved?.key) this.memo = new RenderMemo();
      this.tlsResolved = tls;
      const tlsInput = { httpsListen: this.opts.httpsListen ?? '443', plans: tls.plans };
      const all = await renderServicesAsync(snapshot.services, this.templates, this.opts.httpListen, this.memo, dynamic, tlsInput);
      this.memo.rotate();
      const reads = this.disk.reads;
      const disk = await this.disk.current();
      if (this.staging) {
        // Live was read again (after the first read, which follows the mirror made at start): it may
        // have been edited by hand, so staging looks at it again.
        if (reads > 0 && this.disk.reads !== reads) {
          this.staging.invalidate();
          this.httpContext.forget();
        }
        await this.staging.mirror();
      }
      // Each step below walks every file once: the event loop runs between them (DNS, events).
      await loopTurn();
      const checked = await this.ports.check(all.files, snapshot.services, disk);
      let rendered = { files: checked.files, rejected: [...all.rejected, ...checked.rejected] };
      let keep = this.excluded.keepPaths(rendered.files, rendered.rejected, started);
      // A service held back with no file on disk has no upstream there: the shared domains it is on
      // are rendered again without its locations (docs/nginx.md "Path prefixes"), so its quarantine
      // never holds back the other apps of the domain.
      const absent = new Set([...keep].filter((p) => !disk.has(p)));
      if (absent.size > 0 && all.files.some((f) => isDomainGroupPath(f.path))) {
        // Only the shared domains' files, their members' locations found in the memo as rendered above.
        const written = new Set(all.files.filter((f) => !absent.has(f.path)).map((f) => f.path));
        const again = renderSharedDomainsOnly(snapshot.services, this.templates, this.opts.httpListen, written, this.memo, dynamic, tlsInput);
        const groups = new Map(again.map((f) => [f.path, f]));
        rendered = { ...rendered, files: rendered.files.filter((f) => !isDomainGroupPath(f.path) || groups.has(f.path)).map((f) => groups.get(f.path) ?? f) };
        keep = this.excluded.keepPaths(rendered.files, rendered.rejected, started);
      }
      const final = finalFiles(rendered.files, keep, disk);
      // Hashed (in slices) before the plan compares them with the disk: hashing flattens each new
      // file's text, which the plan would otherwise do in one piece (10,000 files after a restart).
      await this.httpContext.prepare(snapshot.services, final);
      const plan = planSync(rendered.files, disk, keep, this.disk);
      await loopTurn();
      this.excluded.settle(new Set(plan.changes.map((c) => c.path)), keep);
      const httpConf = this.httpContext.desired(snapshot.services, final);
      const httpConfBefore = await this.httpContext.current();
      const httpConfChanged = httpConfBefore !== httpConf.content;
      await this.problems.update(rendered.rejected, this.excluded.list(), tls.problems);
      this.lastSeenPosition = position;
      this.retryAt = null;
      // A predecessor killed between writing files and reloading (SIGKILL during `nginx -t`) left
      // files Nginx never loaded: even when they match, the first run tests and reloads them.
      if (this.firstLoadedRun && snapshot.loaded) {
        this.firstLoadedRun = false;
        if (disk.size > 0) this.pendingReload = true;
      }

      // A taken TCP port is looked at again later even when nothing else moves.
      if (checked.rejected.length > 0) this.retryAt = this.clock.now() + Math.min(30_000, 5 * this.opts.intervalMs);

      if (plan.changes.length === 0 && !httpConfChanged && !this.pendingReload) {
        this.held = null;
        if (snapshot.loaded) this.appliedPosition = position; // an empty disk matching a never-loaded registry is not "synced"
        this.generation = httpConf.generation;
        this.ports.applied(final);
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
        shipping = { final: without, httpConf: this.httpContext.desired(snapshot.services, without) };
        return asBase(shipping.httpConf.content);
      };
      await this.opts.beforeApply?.().catch((err: Error) => this.opts.logger.warn({ err: err.message }, 'nginx sync: step before applying failed'));
      const outcome = await applyChanges(
        plan.changes,
        await this.workspace(rendered.files, disk, plan.changes),
        this.control,
        this.opts.logger,
        this.pendingReload,
        asBase(httpConf.content),
        rebase,
      );
      const testOutput = outcome.output;
      if (outcome.flaky) this.opts.logger.warn({ position }, 'nginx test failed once and passed when run again; applied');
      const live = outcome.status === 'applied' || outcome.stage === 'reload';
      const shipped = plan.changes.filter((c) => !outcome.offenders.includes(c));
      if (live && !outcome.rebuilt) this.disk.written(shipped);
      else this.disk.forget();
      if (outcome.baseLive) this.httpContext.written(shipping.httpConf.content);
      else if (!live) this.httpContext.forget();
      if (live) this.excluded.passed(shipped);
      const confirmation =
        outcome.status === 'applied' && outcome.reloaded && this.confirmer ? await this.confirmer.confirm(shipping.httpConf.generation) : null;
      if (!confirmation) this.confirmer?.disarm(); // a failed reload leaves the held connection unused
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
        this.metrics.failures.inc({ stage: 'confirm' });
        this.pendingReload = true;
      } else if (outcome.status === 'applied') {
        this.unconfirmed = null;
        this.generation = shipping.httpConf.generation;
        this.ports.applied(shipping.final);
      }
      if (outcome.offenders.length > 0 && MISSING_HTTP_CONF.test(testOutput ?? '')) {
        // Every new service file fails then, and none is to blame: excluding them all would stop the fleet.
        outcome.offenders = [];
        outcome.status = 'failed';
        outcome.stage = 'test';
        outcome.error = `test command failed; Nginx does not know $connection_upgrade: include BERTH_NGINX_DIR/http.conf in http {} before the service files (docs/nginx.md "http.conf")`;
      }
      this.excluded.add(outcome.offenders, this.clock.now());
      await this.problems.update(rendered.rejected, this.excluded.list(), tls.problems); // offenders raised, retried ones that passed cleared
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

  /** Where this run's changes are tested: the staging tree (with a fresh candidate conf), or the live folder. */
  private async workspace(files: readonly RenderedFile[], disk: ReadonlyMap<string, FileBytes>, changes: readonly FileChange[]): Promise<Workspace> {
    if (!this.staging) return inPlaceWorkspace(this.opts.dir);
    let conf: string | null = null;
    if (this.opts.mainConf) {
      conf = path.join(this.opts.dir, CANDIDATE_CONF_NAME);
      const { staged } = await writeCandidateConf(this.opts.mainConf, this.opts.dir, this.staging.root, conf);
      if (staged === 0 && !this.warnedNoInclude) {
        this.warnedNoInclude = true;
        this.opts.logger.warn(
          { mainConf: this.opts.mainConf, dir: this.opts.dir },
          'BERTH_NGINX_MAIN_CONF has no include of BERTH_NGINX_DIR: the test cannot see berth files',
        );
      }
    }
    return stagedWorkspace(this.staging, conf, () => desiredSet(files, disk, changes));
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

/**
 * The complete set of managed files after `changes` (content from the rendering, or the live bytes
 * for a file the plan leaves as it is), for rebuilding when the live files fail on their own.
 */
function desiredSet(
  files: readonly RenderedFile[],
  disk: ReadonlyMap<string, FileBytes>,
  changes: readonly FileChange[],
): { desired: FileChange[]; live: string[] } {
  const after = new Map<string, FileChange>();
  const rendered = new Map(files.map((f) => [f.path, f]));
  for (const [p, bytes] of disk) {
    const f = rendered.get(p);
    const content = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
    const who = f ?? { env: p.split('/')[0], appId: p, definitionKey: null };
    after.set(p, {
      path: p,
      env: who.env,
      appId: who.appId,
      content,
      before: null,
      serversBefore: 0,
      serversAfter: 0,
      definitionKey: f ? f.definitionKey : null,
    });
  }
  for (const c of changes) {
    if (c.content === null) after.delete(c.path);
    else after.set(c.path, { ...c, before: null });
  }
  return { desired: [...after.values()], live: [...disk.keys()] };
}

/** The address TCP services listen on (that of `httpListen`), null for all; an invalid value fails each run's render instead. */
function listenHost(httpListen: string): string | null {
  try {
    return parseListen(httpListen).host?.replace(/^\[|\]$/g, '') ?? null;
  } catch {
    return null;
  }
}
