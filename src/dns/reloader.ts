/**
 * Keeps the DNS index in step with the registry. Normally it asks the registry which apps changed
 * since the served index and patches just those (`patch`); it reads a whole snapshot and builds new
 * tables off to the side (`build`) on the first load, when settings change (`request(true)`), when
 * the registry cannot say what changed (a lost notification is caught up by the poll, too far
 * behind, a reload from the database), and as a periodic safety net (`fullEveryMs`).
 * Changes are coalesced (latest wins, at most one run per `minIntervalMs`, skipped when the journal
 * position did not move); a failed read keeps the old index and retries.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock';
import type { RegistryChanges, RegistrySnapshot, RegistryView } from '../registry/view';
import { coalesce, type Coalescer } from '../runtime/coalesce';
import type { DnsIndex } from './build';
import { runSliced } from '../slices';

export type UpdateKind = 'build' | 'patch';

export interface ReloaderOptions {
  view: RegistryView;
  /** A full build as steps, run in slices so queries are answered in between; `reassemble`: the safety net. */
  build(snapshot: RegistrySnapshot, reassemble: boolean): Generator<void, DnsIndex>;
  /** Applies changed apps to the served index in place (as steps). Absent: every change is a full build. */
  patch?(changes: RegistryChanges): Generator<void, DnsIndex>;
  /** Whether `patch` applies to the served index (it came from the same builder). Default: yes. */
  canPatch?(index: DnsIndex): boolean;
  swap(index: DnsIndex, seconds: number, kind: UpdateKind): void;
  failed(err: unknown): void;
  current(): DnsIndex;
  clock: Clock;
  logger: Logger;
  /** Lower bound between two builds; well under the 1 s DNS must follow the registry within. */
  minIntervalMs: number;
  /** Safety net: the journal position is polled this often in case a change notification is lost. */
  pollMs: number;
  retryMs: number;
  /** A full rebuild at least this often even when patches kept up; 0/absent: never. */
  fullEveryMs?: number;
}

/** Drives index rebuilds; `start()` triggers the first load at once. */
export class IndexReloader {
  private dirty = false;
  private forced = false;
  private stopped = true;
  private unsubscribe: (() => void) | null = null;
  private failures = 0;
  private lastFull = -Infinity;
  /** The poll after a run: sooner when the served index's serial is due to move. */
  private readonly loop: Coalescer;

  constructor(private readonly o: ReloaderOptions) {
    this.loop = coalesce({
      clock: o.clock,
      minIntervalMs: o.minIntervalMs,
      everyMs: () => {
        const due = this.o.current().serialDue;
        return due ? Math.min(this.o.pollMs, Math.max(0, due - this.o.clock.now())) : this.o.pollMs;
      },
      run: () => this.run(),
      onError: (err) => this.o.logger.error({ err }, 'dns: index reloader failed'),
    });
  }

  start(): void {
    this.stopped = false;
    this.unsubscribe = this.o.view.onChange(() => this.request());
    this.request();
  }

  /** Stops listening; resolves once a build in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    await this.loop.stop();
  }

  /** Asks for a rebuild (coalesced); `force` rebuilds even if the registry did not move (settings changed). */
  request(force = false): void {
    this.dirty = true;
    this.forced ||= force;
    this.loop.request();
  }

  /** Runs a build in slices (src/slices.ts) so queries are answered meanwhile; null when stopped. */
  private sliced(steps: Generator<void, DnsIndex>): Promise<DnsIndex | null> {
    return runSliced(steps, () => this.stopped);
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    const now = this.o.clock.now();
    const wanted = this.dirty;
    const forced = this.forced;
    this.dirty = false;
    this.forced = false;
    const step = { patching: false };
    try {
      const cur = this.o.current();
      const position = await this.o.view.position();
      const serialDue = !!cur.serialDue && now >= cur.serialDue;
      const safety = !!this.o.fullEveryMs && cur.loaded && now - this.lastFull >= this.o.fullEveryMs;
      if (wanted || position !== cur.position || !cur.loaded || serialDue || safety) await this.update(cur, forced, safety, serialDue, step);
      if (this.failures > 0) this.o.logger.info({ failures: this.failures }, 'dns: registry readable again');
      this.failures = 0;
    } catch (err) {
      if (this.failures++ === 0) this.o.logger.warn({ err }, 'dns: index update failed; serving the previous index');
      this.o.failed(err);
      // A patch that failed half-way may have applied some apps: the next run rebuilds whole.
      this.forced ||= forced || step.patching;
      this.dirty = true;
      this.loop.request({ delayMs: this.o.retryMs });
    }
  }

  /** A patch when the registry can say what changed since `cur`, else a full build. */
  private async update(cur: DnsIndex, forced: boolean, safety: boolean, serialDue: boolean, step: { patching: boolean }): Promise<void> {
    const { view, patch } = this.o;
    if (!forced && !safety && cur.loaded && patch && view.changesSince && (this.o.canPatch?.(cur) ?? true)) {
      const changes = await view.changesSince(cur.position);
      if (changes?.loaded) {
        if (changes.changed.size === 0 && changes.position === cur.position && !serialDue) return;
        const t0 = performance.now();
        step.patching = true;
        const index = await this.sliced(patch(changes));
        step.patching = false;
        if (index && !this.stopped) this.o.swap(index, (performance.now() - t0) / 1000, 'patch');
        return;
      }
      // Null: the registry lost track of what we have (reloaded, or we are too far behind).
    }
    const snap = await view.snapshot();
    if (forced || safety || snap.position !== cur.position || snap.loaded !== cur.loaded) {
      const t0 = performance.now();
      const index = await this.sliced(this.o.build(snap, safety));
      if (index && !this.stopped) {
        this.lastFull = this.o.clock.now();
        this.o.swap(index, (performance.now() - t0) / 1000, 'build');
      }
    }
  }
}
