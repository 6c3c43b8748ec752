/**
 * End to end against the Marathon simulator (both flavours): real REST client and SSE stream,
 * MarathonSync, Registry on the test database. Assertions are on the registry after each step.
 */
import { silentLogger } from '../../src/log';
import { MarathonClient } from '../../src/marathon/client';
import { EventStream } from '../../src/marathon/stream';
import { appsSourceFrom, eventSourceFrom, REGISTRY_EVENT_TYPES } from '../../src/registry/marathon-adapter';
import type { Registry } from '../../src/registry/registry';
import { MarathonSync } from '../../src/registry/sync';
import { startSimulator, type Simulator } from '../../src/sim';
import type { Service } from '../../src/model/types';
import { describeEachEngine } from '../support/db';
import { waitFor } from '../support/wait';
import { openRegistry, resetRegistryTables } from './helpers';

const bridge = (id: string, domain: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  id,
  instances: 1,
  container: { type: 'DOCKER', docker: { image: 'nginx:alpine' }, portMappings: [{ containerPort: 80, hostPort: 0, name: 'http' }] },
  networks: [{ mode: 'container/bridge' }],
  labels: { 'berth.domain': domain },
  ...extra,
});

for (const flavour of ['1.4', '1.10'] as const) {
  describeEachEngine(`registry scenarios, Marathon ${flavour}`, (db) => {
    let sim: Simulator;
    let registry: Registry;
    let sync: MarathonSync;
    let stream: EventStream;

    beforeEach(async () => {
      await resetRegistryTables(db().knex);
      sim = await startSimulator({ flavour, keepaliveMs: 200, agents: ['10.0.0.1', '10.0.0.2'] });
      ({ registry } = await openRegistry(db().knex));
      const client = new MarathonClient({ urls: [sim.url], timeoutMs: 2000 });
      stream = new EventStream({ urls: [sim.url], eventTypes: [...REGISTRY_EVENT_TYPES], idleTimeoutMs: 1000, backoff: { initialMs: 20, maxMs: 200 } });
      sync = new MarathonSync({
        registry,
        apps: appsSourceFrom(client),
        events: eventSourceFrom(stream),
        logger: silentLogger,
        resyncIntervalMs: 600_000,
        refetchDelayMs: 10,
      });
      sync.start();
      stream.start();
      await waitFor(() => sync.hasSynced(), 5000);
    });

    afterEach(async () => {
      stream.stop();
      await sync.stop();
      await registry.idle();
      await sim.close();
    });

    const svc = (domain: string, env = 'default'): Service | undefined => registry.findService(env, domain);
    const endpointsOf = (domain: string): string[] => (svc(domain)?.endpoints ?? []).map((e) => `${e.address}:${e.port}`).sort();
    const until = (what: string, cond: () => boolean): Promise<true> =>
      waitFor(
        () => cond() || undefined,
        10000,
        () => `${what}; services: ${JSON.stringify(registry.listServices())}; problems: ${JSON.stringify(registry.listProblems())}`,
      );

    test('deploy, scale up and down, restart, delete', async () => {
      await sim.control.deploy(bridge('/shop/web', 'web.shop.berth.internal', { instances: 2 }));
      await until('two endpoints', () => svc('web.shop.berth.internal')?.endpoints.length === 2);
      const tasks = sim.control.tasks('/shop/web');
      expect(endpointsOf('web.shop.berth.internal')).toEqual(tasks.map((t) => `${t.host}:${t.ports[0]}`).sort());

      await sim.control.scale('/shop/web', 3);
      await until('three endpoints', () => svc('web.shop.berth.internal')?.endpoints.length === 3);
      await sim.control.scale('/shop/web', 1);
      await until('one endpoint', () => svc('web.shop.berth.internal')?.endpoints.length === 1);

      const before = svc('web.shop.berth.internal')!.endpoints.map((e) => e.taskId);
      await sim.control.restart('/shop/web');
      await until('restarted task', () => {
        const ids = svc('web.shop.berth.internal')?.endpoints.map((e) => e.taskId) ?? [];
        return ids.length === 1 && ids[0] !== before[0];
      });

      await sim.control.remove('/shop/web');
      await until('service removed', () => svc('web.shop.berth.internal') === undefined);
    });

    test('health flap: unhealthy leaves, healthy returns; a health wipe keeps serving', async () => {
      await sim.control.deploy(bridge('/api', 'api.berth.internal', { instances: 2, healthChecks: [{ protocol: 'HTTP', path: '/', portIndex: 0 }] }));
      await until('two healthy endpoints', () => svc('api.berth.internal')?.endpoints.length === 2);
      const [t1] = sim.control.tasks('/api');
      sim.control.setHealth(t1.id, false);
      await until('unhealthy task left', () => svc('api.berth.internal')?.endpoints.length === 1);
      sim.control.setHealth(t1.id, true);
      await until('task back', () => svc('api.berth.internal')?.endpoints.length === 2);
      sim.control.wipeHealth();
      expect(await sync.syncNow()).toMatchObject({ result: 'unchanged' });
      expect(svc('api.berth.internal')?.endpoints).toHaveLength(2);
    });

    test('label change, bad labels, fixed IP and container network apps', async () => {
      await sim.control.deploy(bridge('/a', 'a.berth.internal'));
      await until('a published', () => svc('a.berth.internal') !== undefined);
      await sim.control.update('/a', { labels: { 'berth.domain': 'a2.berth.internal', 'berth.env': 'qa' } });
      await until('a moved', () => svc('a2.berth.internal', 'qa') !== undefined && svc('a.berth.internal') === undefined);

      await sim.control.deploy(bridge('/bad', 'bad.com; include /etc/passwd'));
      await until('problem raised', () => registry.listProblems().some((p) => p.appId === '/bad' && p.code === 'LABEL_DOMAIN_INVALID'));

      await sim.control.deploy({
        id: '/db',
        instances: 1,
        container: {
          type: 'DOCKER',
          docker: {
            image: 'redis',
            parameters: [
              { key: 'net', value: 'br0' },
              { key: 'ip', value: '10.20.0.5' },
            ],
          },
        },
        portDefinitions: [],
        labels: { 'berth.domain': 'db.berth.internal', 'berth.port': '6379', 'berth.proxy': 'tcp', 'berth.listen': '16379' },
      });
      await until('fixed ip endpoint', () => endpointsOf('db.berth.internal').join() === '10.20.0.5:6379');

      const overlay =
        flavour === '1.4'
          ? {
              container: { type: 'DOCKER', docker: { image: 'x', network: 'USER', portMappings: [{ containerPort: 7000, name: 'api' }] } },
              ipAddress: { networkName: 'ovl' },
            }
          : {
              container: { type: 'DOCKER', docker: { image: 'x' }, portMappings: [{ containerPort: 7000, name: 'api' }] },
              networks: [{ mode: 'container', name: 'ovl' }],
            };
      await sim.control.deploy({ id: '/ovl', instances: 1, labels: { 'berth.domain': 'ovl.berth.internal' }, ...overlay });
      await until('container network endpoint', () => svc('ovl.berth.internal')?.endpoints.length === 1);
      const [task] = sim.control.tasks('/ovl');
      expect(endpointsOf('ovl.berth.internal')).toEqual([`${task.ipAddresses[0].ipAddress}:7000`]);
    });

    test('stream cut: reconnect takes a fresh snapshot that catches what was missed', async () => {
      await sim.control.deploy(bridge('/w', 'w.berth.internal'));
      await until('w published', () => svc('w.berth.internal') !== undefined);
      sim.control.stallStreams(true);
      await sim.control.scale('/w', 2);
      sim.control.stallStreams(false);
      sim.control.cutStreams();
      await until('snapshot after reconnect', () => svc('w.berth.internal')?.endpoints.length === 2);
    });

    test('an empty app list is held; garbage and 5xx change nothing', async () => {
      await sim.control.deploy(bridge('/w', 'w.berth.internal'));
      await until('w published', () => svc('w.berth.internal') !== undefined);
      // The deployment's own refetches of /w must not take the one-shot faults meant for /v2/apps.
      await sync.idle();
      const clear = sim.control.fault({ kind: 'emptyApps', path: '/v2/apps' });
      expect(await sync.syncNow()).toMatchObject({ result: 'held', reason: 'empty' });
      clear();
      sim.control.fault({ kind: 'garbage', path: '/v2/apps', times: 1 });
      expect(await sync.syncNow()).toMatchObject({ result: 'failed' });
      sim.control.fault({ kind: 'status', status: 503, path: '/v2/apps', times: 1 });
      expect(await sync.syncNow()).toMatchObject({ result: 'failed' });
      expect(svc('w.berth.internal')?.endpoints).toHaveLength(1);
      expect(await sync.syncNow()).toMatchObject({ result: 'unchanged' });
      expect(registry.status().held).toBeNull();
    });
  });
}
