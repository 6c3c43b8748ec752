/**
 * The first half of a sync run: what berth wants on disk. It renders the snapshot (through the
 * memo, certificates resolved first), reads the disk, checks TCP ports, keeps quarantined files
 * back and plans the file changes and http.conf. Nothing is written here: the run (sync-run.ts)
 * decides whether and how the result ships. The templates, the memo and the certificate choice
 * live here because only this half uses them.
 */
import type { Clock } from '../clock';
import type { Service } from '../model/types';
import { loopTurn } from '../slices';
import { finalFiles, type FinalFile } from './http-context';
import { isDomainGroupPath } from './names';
import { planSync, type FileBytes, type SyncPlan } from './plan';
import { renderServicesAsync, seedMemo } from './render';
import { renderInWorker, type AheadJob } from './render-ahead';
import { RenderMemo } from './render-memo';
import { renderSharedDomainsOnly } from './render-shared';
import type { RenderResult } from './rendered-file';
import type { NginxSyncOptions } from './sync-options';
import type { SyncParts } from './sync-parts';
import { loadTemplates, type Templates } from './templates';
import type { TlsResolution } from './tls-catalog';

/** What one run wants on disk, and what it was compared with. */
export interface Desired {
  tls: TlsResolution;
  rendered: RenderResult;
  /** A TCP service's new port is taken by another process (checked again later). */
  portTaken: boolean;
  /** Paths left as they are: quarantined offenders not due yet, services that could not be rendered. */
  keep: Set<string>;
  disk: ReadonlyMap<string, FileBytes>;
  final: FinalFile[];
  plan: SyncPlan;
  httpConf: { content: string; generation: string };
  httpConfBefore: string | null;
  httpConfChanged: boolean;
}

export class DesiredFiles {
  private templates: Templates | null = null;
  private memo = new RenderMemo();
  /** Services a worker is rendering for the next run (render-ahead.ts). */
  private ahead: AheadJob | null = null;
  /** Counts `dropAhead` calls (a render ahead asked for before one does not start after it). */
  private drops = 0;
  /** The last run's certificate choice and its problems (raised with the other Nginx problems). */
  private tlsResolved: TlsResolution | null = null;

  constructor(
    private readonly opts: NginxSyncOptions,
    private readonly parts: SyncParts,
    private readonly clock: Clock,
  ) {}

  /**
   * Starts rendering `services` in a worker thread for the next run (render-ahead.ts), dropping a
   * render still running for an earlier write.
   */
  async renderAhead(services: readonly Service[]): Promise<void> {
    const dynamic = this.opts.dynamic ?? 'off';
    const drops = this.drops;
    this.templates ??= await loadTemplates(this.opts.templatesDir, { lua: dynamic === 'lua' });
    const sources = this.templates.sources;
    // Dropped while the templates loaded (the sync stopped): no worker to start.
    if (!sources || drops !== this.drops) return;
    this.ahead?.cancel();
    this.ahead = renderInWorker(services, { sources, httpListen: this.opts.httpListen, dynamic });
  }

  /** Drops a render in a worker that no run took (the sync stops). */
  dropAhead(): void {
    this.drops++;
    this.ahead?.cancel();
    this.ahead = null;
  }

  /** What the worker rendered, into the memo (after the memo was kept or dropped for this run's certificates). */
  private async takeAhead(): Promise<void> {
    const job = this.ahead;
    if (!job) return;
    const started = this.clock.now();
    // Kept in `ahead` while waiting, so that stopping the sync cancels it.
    const { rendered, failure } = await job.result;
    if (this.ahead === job) this.ahead = null;
    const waitedMs = this.clock.now() - started;
    if (rendered) {
      const seeded = await seedMemo(job.services, rendered, this.memo);
      this.opts.logger.debug({ services: job.services.length, seeded, waitedMs }, 'nginx: services rendered ahead in a worker thread');
    } else if (failure !== 'cancelled') {
      this.opts.logger.warn(
        { services: job.services.length, failure, waitedMs },
        'nginx: rendering ahead in a worker thread failed; this run renders those services itself',
      );
    }
  }

  /** `started`: when the run started (quarantine retries are due relative to it). */
  async compute(services: readonly Service[], started: number): Promise<Desired> {
    const { tls: catalog, disk: diskState, staging, httpContext, ports, excluded } = this.parts;
    const dynamic = this.opts.dynamic ?? 'off';
    this.templates ??= await loadTemplates(this.opts.templatesDir, { lua: dynamic === 'lua' });
    const tls = await catalog.resolve(services, this.clock.now());
    // A certificate change changes files of services that did not change: nothing memoised holds.
    if (tls.key !== this.tlsResolved?.key) this.memo = new RenderMemo();
    this.tlsResolved = tls;
    const tlsInput = { httpsListen: this.opts.httpsListen ?? '443', plans: tls.plans };
    await this.takeAhead();
    const all = await renderServicesAsync(services, this.templates, this.opts.httpListen, this.memo, dynamic, tlsInput);
    this.memo.rotate();
    const reads = diskState.reads;
    const disk = await diskState.current();
    if (staging) {
      // Live was read again (after the first read, which follows the mirror made at start): it may
      // have been edited by hand, so staging looks at it again.
      if (reads > 0 && diskState.reads !== reads) {
        staging.invalidate();
        httpContext.forget();
      }
      await staging.mirror();
    }
    // Each step below walks every file once: the event loop runs between them (DNS, events).
    await loopTurn();
    const checked = await ports.check(all.files, services, disk);
    let rendered: RenderResult = { files: checked.files, rejected: [...all.rejected, ...checked.rejected] };
    let keep = excluded.keepPaths(rendered.files, rendered.rejected, started);
    // A service held back with no file on disk has no upstream there: the shared domains it is on
    // are rendered again without its locations (docs/nginx.md "Path prefixes"), so its quarantine
    // never holds back the other apps of the domain.
    const absent = new Set([...keep].filter((p) => !disk.has(p)));
    if (absent.size > 0 && all.files.some((f) => isDomainGroupPath(f.path))) {
      // Only the shared domains' files, their members' locations found in the memo as rendered above.
      const written = new Set(all.files.filter((f) => !absent.has(f.path)).map((f) => f.path));
      const again = renderSharedDomainsOnly(services, this.templates, this.opts.httpListen, written, this.memo, dynamic, tlsInput);
      const groups = new Map(again.map((f) => [f.path, f]));
      rendered = { ...rendered, files: rendered.files.filter((f) => !isDomainGroupPath(f.path) || groups.has(f.path)).map((f) => groups.get(f.path) ?? f) };
      keep = excluded.keepPaths(rendered.files, rendered.rejected, started);
    }
    const final = finalFiles(rendered.files, keep, disk);
    // Hashed (in slices) before the plan compares them with the disk: hashing flattens each new
    // file's text, which the plan would otherwise do in one piece (10,000 files after a restart).
    await httpContext.prepare(services, final);
    const plan = planSync(rendered.files, disk, keep, diskState);
    await loopTurn();
    excluded.settle(new Set(plan.changes.map((c) => c.path)), keep);
    const httpConf = httpContext.desired(services, final);
    const httpConfBefore = await httpContext.current();
    const httpConfChanged = httpConfBefore !== httpConf.content;
    return { tls, rendered, portTaken: checked.rejected.length > 0, keep, disk, final, plan, httpConf, httpConfBefore, httpConfChanged };
  }
}
