/** IPAM metrics: per-pool usage gauges (read from the database at scrape time), latency, errors. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { PoolUsage } from './types';

export interface IpamMetrics {
  /** Allocation latency; `result` is created, existing or error. */
  allocationSeconds: Histogram<'result'>;
  /** Refused or failed IPAM operations by error code. */
  errors: Counter<'code'>;
}

export interface IpamMetricsOptions {
  /** Usage source; called at most once per `cacheMs`, shared by all gauges of one scrape. */
  usage: () => Promise<Map<string, PoolUsage>>;
  cacheMs?: number;
  now?: () => number;
}

const GAUGES: Array<[keyof PoolUsage, string]> = [
  ['capacity', 'Addresses in the pool allocation window'],
  ['allocated', 'Addresses allocated to apps'],
  ['available', 'Addresses free and out of quarantine'],
  ['quarantined', 'Released addresses still in quarantine'],
  ['reserved', 'Reserved addresses (gateway, Docker aux addresses and ip-range, operator reservations)'],
];

/** Registers IPAM metrics on `registry`. */
export function createIpamMetrics(registry: Registry, opts: IpamMetricsOptions): IpamMetrics {
  const cacheMs = opts.cacheMs ?? 5000;
  const now = opts.now ?? Date.now;
  let cached: { at: number; value: Promise<Map<string, PoolUsage>> } | undefined;
  // One query per scrape (five gauges) and at most one per cacheMs: a /16 count is a few ms, and
  // scrapes must not add load proportional to the number of gauges.
  const usage = (): Promise<Map<string, PoolUsage>> => {
    if (!cached || now() - cached.at > cacheMs) {
      const value = opts.usage().catch((err) => {
        cached = undefined;
        throw err;
      });
      cached = { at: now(), value };
    }
    return cached.value;
  };

  for (const [key, help] of GAUGES) {
    new Gauge({
      name: `berth_ipam_pool_${key}_addresses`,
      help,
      labelNames: ['pool'],
      registers: [registry],
      async collect() {
        let u: Map<string, PoolUsage>;
        try {
          u = await usage();
        } catch {
          return; // database unreachable: keep the last values rather than failing the scrape
        }
        this.reset();
        for (const [pool, v] of u) this.set({ pool }, v[key]);
      },
    });
  }
  return {
    allocationSeconds: new Histogram({
      name: 'berth_ipam_allocation_duration_seconds',
      help: 'Time to serve one allocation request, in the database and around it',
      labelNames: ['result'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'berth_ipam_errors_total',
      help: 'IPAM operations refused or failed, by error code',
      labelNames: ['code'],
      registers: [registry],
    }),
  };
}
