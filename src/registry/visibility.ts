/**
 * Event → visible: for each Marathon task or health event, how long until the registry committed
 * it and until each consumer (DNS) served a state that has it. The histogram's stages split an
 * event's latency where it goes: intake and the write queue plus the transaction ("registry"), then
 * the consumer's own catch-up ("dns" counts from the event too, so its figures are end to end).
 *
 * Committed writes wait in a short list, by journal position, until the consumer reports a
 * position at or past theirs. The list is bounded: a consumer that stops reporting (a stuck DNS
 * reload) drops its oldest entries instead of growing memory; those events are then not sampled.
 */
import type { Histogram } from 'prom-client';

/** The consumers whose catch-up is measured. */
export type VisibleStage = 'dns';

/** Most committed writes kept waiting for a consumer (about 50 s of events at 200 writes/s). */
const MAX_WAITING = 10_000;

interface Waiting {
  position: number;
  receivedAt: number[];
}

export class EventVisibility {
  private readonly waiting = new Map<VisibleStage, Waiting[]>();

  constructor(
    private readonly histogram: Histogram<'stage'> | undefined,
    private readonly stages: readonly VisibleStage[] = ['dns'],
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Events received at `receivedAt` (performance.now() ms) were committed at journal `position`. */
  committed(position: number, receivedAt: readonly number[]): void {
    if (!this.histogram || receivedAt.length === 0) return;
    const t = this.now();
    for (const at of receivedAt) this.histogram.observe({ stage: 'registry' }, (t - at) / 1000);
    for (const stage of this.stages) {
      const list = this.waiting.get(stage) ?? [];
      if (list.length >= MAX_WAITING) list.shift();
      list.push({ position, receivedAt: [...receivedAt] });
      this.waiting.set(stage, list);
    }
  }

  /** `stage` now serves the registry's state as of `position`: its waiting events are visible. */
  reached(stage: VisibleStage, position: number): void {
    const list = this.waiting.get(stage);
    if (!this.histogram || !list || list.length === 0 || list[0].position > position) return;
    const t = this.now();
    let done = 0;
    while (done < list.length && list[done].position <= position) {
      for (const at of list[done].receivedAt) this.histogram.observe({ stage }, (t - at) / 1000);
      done++;
    }
    list.splice(0, done);
  }
}
