/**
 * Event → visible: for each Marathon task or health event, how long until the registry committed
 * it and until DNS served an index that has it. The histogram's stages split an event's latency
 * where it goes: intake and the write queue plus the transaction ("registry"), then DNS's own
 * catch-up ("dns" counts from the event too, so its figures are end to end).
 *
 * Committed writes wait in a short list, by journal position, until DNS reports a position at or
 * past theirs. The list is bounded: if DNS stops reporting (a stuck reload), the oldest entries are
 * dropped instead of growing memory; those events are then not sampled.
 */
import type { Histogram } from 'prom-client';

/** The consumers whose catch-up is measured. */
export type VisibleStage = 'dns';

/** Most committed writes kept waiting (about 50 s of writes at 200 a second). */
const MAX_WAITING = 10_000;

export class EventVisibility {
  /** Committed writes DNS has not served yet, oldest first. */
  private readonly waiting: Array<{ position: number; receivedAt: readonly number[] }> = [];

  constructor(
    private readonly histogram: Histogram<'stage'> | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Events received at `receivedAt` (performance.now() ms) were committed at journal `position`. */
  committed(position: number, receivedAt: readonly number[]): void {
    if (!this.histogram || receivedAt.length === 0) return;
    const t = this.now();
    for (const at of receivedAt) this.histogram.observe({ stage: 'registry' }, (t - at) / 1000);
    if (this.waiting.length >= MAX_WAITING) this.waiting.shift();
    this.waiting.push({ position, receivedAt });
  }

  /** `stage` now serves the registry's state as of `position`: its waiting events are visible. */
  reached(stage: VisibleStage, position: number): void {
    if (!this.histogram || this.waiting.length === 0 || this.waiting[0].position > position) return;
    const t = this.now();
    let done = 0;
    while (done < this.waiting.length && this.waiting[done].position <= position) {
      for (const at of this.waiting[done].receivedAt) this.histogram.observe({ stage }, (t - at) / 1000);
      done++;
    }
    this.waiting.splice(0, done);
  }
}
