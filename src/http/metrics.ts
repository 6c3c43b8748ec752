import { Counter, Histogram, type Registry } from 'prom-client';

/** HTTP API metrics. */
export function createHttpMetrics(registry: Registry) {
  return {
    errors: new Counter({ name: 'berth_http_errors_total', help: 'API error answers by code', labelNames: ['code'], registers: [registry] }),
    duration: new Histogram({
      name: 'berth_http_request_duration_seconds',
      help: 'API request duration by route and status class',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}
export type HttpMetrics = ReturnType<typeof createHttpMetrics>;
