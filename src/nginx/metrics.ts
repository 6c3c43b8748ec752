import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Nginx sync metrics (names `berth_nginx_*`). */
export interface NginxMetrics {
  runs: Counter<'result'>;
  reloads: Counter<'result'>;
  failures: Counter<'stage'>;
  duration: Histogram<string>;
  filesChanged: Counter<'change'>;
  held: Gauge<string>;
  excluded: Gauge<string>;
  /** Set by the sync after every successful reload (epoch ms); read by the age gauge. */
  markReloaded(atMs: number): void;
}

/** Registers the Nginx sync metrics on `registry`; `now` feeds the "seconds since last reload" gauge. */
export function createNginxMetrics(registry: Registry, now: () => number = Date.now): NginxMetrics {
  let lastReloadMs: number | null = null;
  const registers = [registry];
  const metrics: NginxMetrics = {
    runs: new Counter({
      name: 'berth_nginx_sync_runs_total',
      help: 'Nginx sync runs by result (applied, unchanged, held, failed)',
      labelNames: ['result'],
      registers,
    }),
    reloads: new Counter({ name: 'berth_nginx_reloads_total', help: 'Nginx reload commands by result (ok, failed)', labelNames: ['result'], registers }),
    failures: new Counter({
      name: 'berth_nginx_sync_failures_total',
      help: 'Failed sync steps by stage (render, write, test, reload, confirm)',
      labelNames: ['stage'],
      registers,
    }),
    duration: new Histogram({
      name: 'berth_nginx_sync_duration_seconds',
      help: 'Duration of sync runs that did work',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    filesChanged: new Counter({ name: 'berth_nginx_files_changed_total', help: 'Rendered files written or removed', labelNames: ['change'], registers }),
    held: new Gauge({ name: 'berth_nginx_sync_held', help: '1 while a sync is held by the mass-removal guard', registers }),
    excluded: new Gauge({ name: 'berth_nginx_excluded_services', help: 'Services held back because nginx -t rejected them', registers }),
    markReloaded: (atMs) => {
      lastReloadMs = atMs;
    },
  };
  new Gauge({
    name: 'berth_nginx_last_reload_age_seconds',
    help: 'Seconds since the last successful Nginx reload (-1 before the first)',
    registers,
    collect() {
      this.set(lastReloadMs === null ? -1 : (now() - lastReloadMs) / 1000);
    },
  });
  return metrics;
}
