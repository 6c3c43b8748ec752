/**
 * Long CPU work in slices: at most `SLICE_MS` of it, then a turn of the event loop (setImmediate,
 * so pending I/O and timers run first). A full snapshot is ~1.5 s of CPU at 10,000 apps (parse,
 * plan, write); in long pieces it held the loop for up to ~850 ms, and DNS queries waited behind it.
 */
import type { Steps } from '../model/steps';

/** Work between two turns of the event loop (ms). */
export const SLICE_MS = 4;

/** A turn of the event loop: pending I/O and timers run before the caller goes on. */
export const loopTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Tells a loop that processes input as it comes (where a microtask chain never lets the event loop
 * run: buffered stream chunks, for one) when its slice is used up.
 */
export class Slices {
  private until = performance.now() + SLICE_MS;

  /** A turn of the event loop when the slice is used up; else nothing (no promise, no await needed). */
  turnIfDue(): Promise<void> | null {
    if (performance.now() < this.until) return null;
    return loopTurn().then(() => {
      this.until = performance.now() + SLICE_MS;
    });
  }
}

/** Runs model steps (model/steps.ts) to the end, a slice at a time. */
export async function runSliced<T>(steps: Steps<T>): Promise<T> {
  for (;;) {
    const until = performance.now() + SLICE_MS;
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      if (performance.now() >= until) break;
    }
    await loopTurn();
  }
}
