/**
 * Node.js process metrics (prom-client's defaults, prefixed `berth_process_`), without the three
 * gauges prom-client names `…_total`: a `_total` suffix promises a counter (rate() and increase()
 * over it are wrong), and `promtool check metrics` flags it. They are exposed under names that say
 * what they are: `berth_process_nodejs_{handles,requests,resources}_active`.
 */
import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';

const PREFIX = 'berth_process_';

type Counted = { _getActiveHandles?: () => unknown[]; _getActiveRequests?: () => unknown[] };

const ACTIVE: Array<[string, string, () => number]> = [
  ['handles', 'Active libuv handles (sockets, timers, servers), all types', () => (process as unknown as Counted)._getActiveHandles?.().length ?? 0],
  ['requests', 'Active libuv requests (file system, DNS), all types', () => (process as unknown as Counted)._getActiveRequests?.().length ?? 0],
  ['resources', 'Active resources keeping the event loop alive, all types', () => process.getActiveResourcesInfo().length],
];

/** Registers the process metrics on `registry`. */
export function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: PREFIX });
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
