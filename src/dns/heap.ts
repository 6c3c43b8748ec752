/**
 * Keeps V8's young generation from growing to its 3 × 16 MB default. An index build (and a DNS
 * query load) allocates fast enough that V8 grows new space to the maximum and never returns it:
 * that was ~30 MB of a ~105 MB RSS for 1,000 names; with this, RSS stays near 76 MB at the same
 * CPU per query (bench/dns). Process-wide, so the composition root decides whether to call it.
 *
 * `berth run` does not: a whole berth (registry, Nginx sync) at 10,000 apps and 200 events/s kept
 * 573 MB steady RSS with it against 532 MB without, and event → DNS p99 rose from 330 to 435 ms
 * (bench/events): objects that outlive a 1 MB semi-space (an Nginx render of every service) are
 * promoted, and old-generation growth between major GCs is what sets RSS there.
 */
import v8 from 'node:v8';

/** Call once at start-up, before the first index build. */
export function limitYoungGeneration(): void {
  // Read by V8 each time it considers growing new space, so it takes effect at run time
  // (unlike --max-semi-space-size, which is fixed when the heap is set up).
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}
