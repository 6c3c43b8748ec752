/**
 * Keeps the DNS index in step with the registry: rebuilds off to the side and hands over a whole
 * new index. Changes are coalesced (latest wins, at most one build per `minIntervalMs`, skipped when
 * the journal position did not move); a failed read keeps the old index and retries.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock';
import type { RegistrySnapshot, RegistryView } from '../registry/view';
import type { DnsIndex } from './build';

export interface ReloaderOptions {
  view: RegistryView;
  /** The build as steps (see `buildIndexSteps`): run in slices so queries are answered in between. */
  build(snapshot: RegistrySnapshot): Generator<void, DnsIndex>;
  swap(index: DnsIndex, seconds: number): void;
  failed(err: unknown): void;
  current(): DnsIndex;
  clock: Clock;
  logger: Logger;
  /** Lower bound between two builds; well under the 1 s DNS must follow the registry within. */
  minIntervalMs: number;
  /** Safety net: the journal position is polled this often in case a change notification is lost. */
  pollMs: number;
  retryMs: number;
}

/** Longest stretch a build holds the event loop; queries wait at most about this long. */
const SLICE_MS = 5;

/** Drives index rebuilds; `start()` triggers the first load at once. */
export class IndexReloader {
  private dirty = false;
  private forced = false;
  private running = false;
  private stopped = true;
  private timer: unknown = null;
  private timerDue = 0;
  private lastStart = -Infinity;
  private unsubscribe: (() => void) | null = null;
  private failures = 0;
  private idle: Array<() => void> = [];

  constructor(private readonly o: ReloaderOptions) {}

  start(): void {
    this.stopped = false;
    this.unsubscribe = this.o.view.onChange(() => this.request());
    this.request();
  }

  /** Stops listening; resolves once a build in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer !== null) this.o.clock.clearTimeout(this.timer);
    this.timer = null;
    if (this.running) await new Promise<void>((r) => this.idle.push(r));
  }

  /** Asks for a rebuild (coalesced); `force` rebuilds even if the registry did not move (settings changed). */
  request(force = false): void {
    this.dirty = true;
    this.forced ||= force;
    this.schedule(0);
  }

  private schedule(extraDelay: number): void {
    if (this.stopped || this.running) return;
    const now = this.o.clock.now();
    const delay = Math.max(extraDelay, this.lastStart + this.o.minIntervalMs - now, 0);
    // An earlier wake-up replaces a later one (a change arriving while only the poll is pending).
    if (this.timer !== null) {
      if (this.timerDue <= now + delay) return;
      this.o.clock.clearTimeout(this.timer);
    }
    this.timerDue = now + delay;
    this.timer = this.o.clock.setTimeout(() => { this.timer = null; void this.run(); }, delay);
  }

  /** Runs a build in slices of ~SLICE_MS, yielding to the event loop in between; null when stopped. */
  private async sliced(steps: Generator<void, DnsIndex>): Promise<DnsIndex | null> {
    for (;;) {
      const until = performance.now() + SLICE_MS;
      for (;;) {
        const r = steps.next();
        if (r.done) return r.value;
        if (performance.now() >= until) break;
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.stopped) return null;
    }
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    this.running = true;
    this.lastStart = this.o.clock.now();
    const wanted = this.dirty;
    const forced = this.forced;
    this.dirty = false;
    this.forced = false;
    let retry = false;
    try {
      const cur = this.o.current();
      const position = await this.o.view.position();
      if (wanted || position !== cur.position || !cur.loaded) {
        const snap = await this.o.view.snapshot();
        if (forced || snap.position !== cur.position || snap.loaded !== cur.loaded) {
          const t0 = performance.now();
          const index = await this.sliced(this.o.build(snap));
          if (index && !this.stopped) this.o.swap(index, (performance.now() - t0) / 1000);
        }
      }
      if (this.failures > 0) this.o.logger.info({ failures: this.failures }, 'dns: registry readable again');
      this.failures = 0;
    } catch (err) {
      if (this.failures++ === 0) this.o.logger.warn({ err }, 'dns: index rebuild failed; serving the previous index');
      this.o.failed(err);
      this.forced ||= forced;
      retry = true;
    } finally {
      this.running = false;
      for (const r of this.idle.splice(0)) r();
    }
    if (this.stopped) return;
    if (retry) { this.dirty = true; this.schedule(this.o.retryMs); }
    else if (this.dirty) this.schedule(0);
    else this.schedule(this.o.pollMs);
  }
}
