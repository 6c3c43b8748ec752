/**
 * Long CPU work in slices, one rule for the whole process: no piece of work (a snapshot's parse and
 * plan, a DNS index build, an Nginx render, thousands of file calls) holds the event loop for more
 * than SLICE_MS; then it gives the loop a turn (setImmediate, so pending I/O and timers run first:
 * DNS queries are answered, Marathon events read). At 10,000 apps each of those is seconds of CPU,
 * and in long pieces DNS queries waited behind them for up to ~850 ms.
 */

/** Work between two turns of the event loop (ms). */
export const SLICE_MS = 5;

/** A turn of the event loop: pending I/O and timers run before the caller goes on (a resolved promise would not let them). */
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

/** Runs `steps` (a generator that yields after each unit of work) to its end, a slice at a time. */
export async function runSliced<T>(steps: Iterator<unknown, T>): Promise<T>;
/** The same, giving up (null) when `stopped()` says so after a turn of the loop. */
export async function runSliced<T>(steps: Iterator<unknown, T>, stopped: () => boolean): Promise<T | null>;
export async function runSliced<T>(steps: Iterator<unknown, T>, stopped?: () => boolean): Promise<T | null> {
  for (;;) {
    const until = performance.now() + SLICE_MS;
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      if (performance.now() >= until) break;
    }
    await loopTurn();
    if (stopped?.()) return null;
  }
}

/**
 * Runs `step` on each item, synchronously, a slice at a time. Used for the file system calls of an
 * Nginx sync: at 10,000 files, a thread pool round trip and a promise per call cost several times
 * the system call itself, and one call on a local disk takes microseconds. The first error stops the
 * walk and is thrown.
 */
export async function inSlices<T>(items: readonly T[], step: (item: T) => void): Promise<void> {
  let until = performance.now() + SLICE_MS;
  for (const item of items) {
    step(item);
    if (performance.now() >= until) {
      await loopTurn();
      until = performance.now() + SLICE_MS;
    }
  }
}
