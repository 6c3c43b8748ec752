import { SLICE_MS, yieldToLoop } from './render';

/**
 * Runs `step` on each item, synchronously, in slices of at most SLICE_MS with the event loop let in
 * between (DNS, events). Used for the file system calls of a sync: at 10,000 files, a thread pool
 * round trip and a promise per call cost several times the system call itself (a first full run
 * spent over 2 s of CPU on them), and one call on a local disk takes microseconds. The first error
 * stops the walk and is thrown.
 */
export async function inSlices<T>(items: readonly T[], step: (item: T) => void): Promise<void> {
  let slice = performance.now();
  for (let i = 0; i < items.length; i++) {
    step(items[i]);
    if (performance.now() - slice > SLICE_MS) {
      await yieldToLoop();
      slice = performance.now();
    }
  }
}
