/**
 * When the sync runs again although the registry did not move: after a failed run, and after a
 * TCP port was found taken. The run (sync-run.ts) sets it; the scheduler's poll (sync.ts) asks
 * whether it is due.
 */
import type { Clock } from '../clock';

const MAX_RETRY_MS = 60_000;

export class RetrySchedule {
  /** When a failed run may be retried without a registry change (null: nothing to retry). */
  private at: number | null = null;
  private consecutiveFailures = 0;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {}

  /** A retry is scheduled (due or not). */
  get pending(): boolean {
    return this.at !== null;
  }

  due(): boolean {
    return this.at !== null && this.clock.now() >= this.at;
  }

  /** A run got through rendering: it schedules whatever retry it still needs itself. */
  clear(): void {
    this.at = null;
  }

  /** A taken TCP port is looked at again later even when nothing else moves. */
  portTaken(): void {
    this.at = this.clock.now() + Math.min(30_000, 5 * this.intervalMs);
  }

  /**
   * A failed run is retried on the next tick, then with doubling pauses up to a minute while it
   * keeps failing (a broken nginx.conf must not turn into a failed run and an error line every tick).
   */
  failed(): void {
    this.consecutiveFailures++;
    this.at = this.clock.now() + Math.min(MAX_RETRY_MS, this.intervalMs * 2 ** (this.consecutiveFailures - 1));
  }

  /** A run applied or found nothing to change: the next failure starts the backoff again. */
  succeeded(): void {
    this.consecutiveFailures = 0;
  }
}
