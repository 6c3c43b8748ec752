/** `GET /v1/dns/status`: the DNS index the server answers from (serial, names) and the query rate. */
import type { FastifyInstance } from 'fastify';
import type { Registry as PromRegistry } from 'prom-client';

export interface DnsStatusSource {
  currentIndex(): { loaded: boolean; position: number; serial: number; names: number };
}

/** Queries per second over the last window, from the query counter sampled at each request. */
export class RateSampler {
  private samples: Array<{ at: number; total: number }> = [];
  constructor(private readonly windowMs = 60_000) {}

  /** Records `total` at `at` and returns the rate since the oldest sample in the window (null: too early). */
  add(at: number, total: number): number | null {
    this.samples = this.samples.filter((s) => at - s.at <= this.windowMs && s.total <= total);
    this.samples.push({ at, total });
    // Keep the sample list short however often the page asks.
    if (this.samples.length > 120) this.samples.splice(1, this.samples.length - 120);
    const first = this.samples[0];
    if (at - first.at < 1000) return null;
    return (total - first.total) / ((at - first.at) / 1000);
  }
}

async function queriesTotal(reg: PromRegistry): Promise<number> {
  const metric = reg.getSingleMetric('berth_dns_queries_total');
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

export function registerDnsStatusRoute(app: FastifyInstance, deps: { dns: DnsStatusSource; metricsRegistry: PromRegistry }): void {
  const sampler = new RateSampler();
  app.get(
    '/v1/dns/status',
    {
      schema: {
        tags: ['dns'],
        summary: 'The DNS index being served (loaded, journal position, SOA serial, names) and queries answered (total; per second over the last minute)',
        response: {
          200: {
            type: 'object',
            required: ['loaded', 'position', 'serial', 'names', 'queriesTotal', 'queriesPerSecond'],
            properties: {
              loaded: { type: 'boolean' },
              position: { type: 'integer' },
              serial: { type: 'integer' },
              names: { type: 'integer' },
              queriesTotal: { type: 'number' },
              queriesPerSecond: { type: ['number', 'null'], description: 'null until two samples a second apart exist' },
            },
          },
        },
      },
    },
    async () => {
      const idx = deps.dns.currentIndex();
      const total = await queriesTotal(deps.metricsRegistry);
      return {
        loaded: idx.loaded,
        position: idx.position,
        serial: idx.serial,
        names: idx.names,
        queriesTotal: total,
        queriesPerSecond: sampler.add(Date.now(), total),
      };
    },
  );
}
