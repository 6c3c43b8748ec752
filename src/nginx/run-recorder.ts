import type { Logger } from '../log';
import type { NginxMetrics } from './metrics';
import type { SyncRun, SyncRunStore } from './store';

const PRUNE_EVERY = 100;
const KEEP_RUNS = 10_000;

/** Counts, logs and stores finished sync runs. */
export class RunRecorder {
  private recorded = 0;

  constructor(
    private readonly store: SyncRunStore,
    private readonly metrics: NginxMetrics,
    private readonly logger: Logger,
  ) {}

  async record(run: SyncRun, durationMs: number): Promise<SyncRun> {
    this.metrics.runs.inc({ result: run.status });
    if (run.status !== 'unchanged') this.metrics.duration.observe(durationMs / 1000);
    const log = {
      status: run.status,
      trigger: run.trigger,
      position: run.position,
      written: run.filesWritten,
      removed: run.filesRemoved,
      reloaded: run.reloaded,
      ms: durationMs,
    };
    if (run.status === 'applied') this.logger.info(log, 'nginx sync applied');
    else if (run.status === 'failed') this.logger.error({ ...log, error: run.error, output: run.testOutput }, 'nginx sync failed');
    try {
      const stored = await this.store.record(run);
      // Keep the history bounded: a busy platform records a run every few seconds.
      if (++this.recorded % PRUNE_EVERY === 0) await this.store.prune?.(KEEP_RUNS);
      return stored;
    } catch (err) {
      // The run history is informative; a database outage must not stop Nginx from updating.
      this.logger.warn({ err: (err as Error).message }, 'could not record nginx sync run');
      return run;
    }
  }
}
