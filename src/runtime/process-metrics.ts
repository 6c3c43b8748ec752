/**
 * Node.js process metrics (prom-client's defaults, prefixed `berth_process_`), without the three
 * gauges prom-client names `…_total`: a `_total` suffix promises a counter (rate() and increase()
 * over it are wrong), and `promtool check metrics` flags it. They are exposed under names that say
 * what they are: `berth_process_nodejs_{handles,requests,resources}_active`.
 *
 * `berth_event_loop_delay_seconds{stat}` (p50, p99, max): how late the event loop got around to a
 * timer since the previous scrape. The event loop serves DNS, the API and the Marathon stream;
 * any piece of work that holds it for long (a full Nginx render, a large snapshot) shows here.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';

const PREFIX = 'berth_process_';

type Counted = { _getActiveHandles?: () => unknown[]; _getActiveRequests?: () => unknown[] };

const ACTIVE: Array<[string, string, () => number]> = [
  ['handles', 'Active libuv handles (sockets, timers, servers), all types', () => (process as unknown as Counted)._getActiveHandles?.().length ?? 0],
  ['requests', 'Active libuv requests (file system, DNS), all types', () => (process as unknown as Counted)._getActiveRequests?.().length ?? 0],
  ['resources', 'Active resources keeping the event loop alive, all types', () => process.getActiveResourcesInfo().length],
];

// A timer every 5 ms: a loop held for longer shows up as that timer's delay (at little cost).
const DELAY_RESOLUTION_MS = 5;

/** Registers the process metrics on `registry`. */
export function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: PREFIX });
  registerEventLoopDelay(registry);
  for (const [what, help, count] of ACTIVE) {
    registry.removeSingleMetric(`${PREFIX}nodejs_active_${what}_total`);
    new Gauge({
      name: `${PREFIX}nodejs_${what}_active`,
      help,
      registers: [registry],
      collect() {
        this.set(count());
      },
    });
  }
}

/** `berth_event_loop_delay_seconds{stat="p50"|"p99"|"max"}` over the time since the previous scrape. */
export function registerEventLoopDelay(registry: Registry): void {
  const histogram = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
  histogram.enable();
  new Gauge({
    name: 'berth_event_loop_delay_seconds',
    help: 'Event loop delay since the previous scrape (how long ready work waited), by statistic: p50, p99, max',
    labelNames: ['stat'],
    registers: [registry],
    collect() {
      // No sample yet (a scrape right after the previous one): report zero, not the histogram's NaN/huge defaults.
      const seen = histogram.count > 0;
      this.set({ stat: 'p50' }, seen ? histogram.percentile(50) / 1e9 : 0);
      this.set({ stat: 'p99' }, seen ? histogram.percentile(99) / 1e9 : 0);
      this.set({ stat: 'max' }, seen ? histogram.max / 1e9 : 0);
      histogram.reset();
    },
  });
}
