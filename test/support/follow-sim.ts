/**
 * The registry following a simulated Marathon the way the daemon does (snapshot, event stream,
 * refetches), with the short timings the end-to-end tests use. Stops are pushed onto `cleanups`.
 */
import type { Knex } from 'knex';
import { silentLogger } from '../../src/log';
import { MarathonClient } from '../../src/marathon/client';
import { EventStream } from '../../src/marathon/stream';
import { appsSourceFrom, eventSourceFrom, REGISTRY_EVENT_TYPES } from '../../src/registry/marathon-adapter';
import { Registry } from '../../src/registry/registry';
import { MarathonSync } from '../../src/registry/sync';
import { startSimulator } from '../../src/sim';

export async function followSimulator(knex: Knex, maxRemovalRatio: number, cleanups: Array<() => Promise<unknown>>) {
  const sim = await startSimulator({ flavour: '1.10', keepaliveMs: 200, agents: ['127.0.0.1'] });
  cleanups.push(() => sim.close());
  const registry = await Registry.open({ knex, logger: silentLogger, defaultEnv: 'default', maxRemovalRatio });
  const client = new MarathonClient({ urls: [sim.url], timeoutMs: 2000 });
  const stream = new EventStream({ urls: [sim.url], eventTypes: [...REGISTRY_EVENT_TYPES], idleTimeoutMs: 1000, backoff: { initialMs: 20, maxMs: 200 } });
  const marathon = new MarathonSync({
    registry,
    apps: appsSourceFrom(client),
    events: eventSourceFrom(stream),
    logger: silentLogger,
    resyncIntervalMs: 600_000,
    refetchDelayMs: 10,
  });
  marathon.start();
  stream.start();
  cleanups.push(async () => {
    stream.stop();
    await marathon.stop();
    await registry.idle();
  });
  return { sim, registry };
}
