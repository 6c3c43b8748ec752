/**
 * berth's DNS server alone, serving the benchmark data set: `node --import tsx bench/dns/berth-server.ts PORT`.
 * Prints `ready names=N` once the index is loaded; exits on SIGTERM. `--limit-young-generation` applies src/dns/heap.ts.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { limitYoungGeneration } from '../../src/dns/heap';
import { DnsServer } from '../../src/dns/server';
import { InMemoryRegistryView } from '../../src/registry/view';
import { benchServices, TTL, ZONE } from './data';

async function main(): Promise<void> {
  const port = Number(process.argv[2] ?? 5353);
  if (process.argv.includes('--limit-young-generation')) limitYoungGeneration();
  const view = new InMemoryRegistryView();
  const server = new DnsServer(
    {
      host: '127.0.0.1',
      port,
      zones: [ZONE],
      ttl: TTL,
      environments: {},
      defaultEnv: 'default',
      forwarders: [],
      reverseNetworks: ['10.0.0.0/16'],
      nsName: `ns1.${ZONE}`,
      logger: pino({ level: 'warn' }),
      metricsRegistry: new Registry(),
      // All load comes from one address: the rate limiter still checks every response (its cost is
      // measured) but with a limit the load generator cannot reach.
      limits: { rrlResponsesPerSecond: 10_000_000 },
    },
    view,
  );
  const loaded = new Promise<number>((resolve) =>
    server.onSwap((idx) => {
      if (idx.loaded) resolve(idx.names);
    }),
  );
  await server.start();
  view.set(benchServices());
  const names = await loaded;
  // The bench reads the index size from this line (its RSS target is per 10,000 names).
  console.log(`ready names=${names}`);
  process.on('SIGTERM', () => {
    void server.stop().then(() => process.exit(0));
  });
}

void main();
