/**
 * Soak: random operations on the simulator (deploy, scale, restart, remove, health flaps, label
 * changes, task failures), then the registry, driven by events alone, must equal what Marathon's
 * own state implies, and a fresh full snapshot must find nothing to change.
 * BERTH_SOAK_OPS=10000 for the long run (default 150 per flavour, to keep CI short).
 */
import { silentLogger } from '../../src/log';
import { MarathonClient } from '../../src/marathon/client';
import { EventStream } from '../../src/marathon/stream';
import { appsSourceFrom, eventSourceFrom, REGISTRY_EVENT_TYPES } from '../../src/registry/marathon-adapter';
import { MarathonSync } from '../../src/registry/sync';
import { startSimulator } from '../../src/sim';
import { describeEachEngine } from '../support/db';
import { waitFor } from '../support/wait';
import { openRegistry, resetRegistryTables } from './helpers';
import { prng as rng } from '../support/prng';

const OPS = Number(process.env.BERTH_SOAK_OPS ?? 150);

for (const flavour of ['1.4', '1.10'] as const) {
  describeEachEngine(`registry soak, Marathon ${flavour}`, (db) => {
    test(`${OPS} random operations converge to Marathon's state`, async () => {
      await resetRegistryTables(db().knex);
      const seed = Number(process.env.BERTH_SOAK_SEED ?? 42);
      const rand = rng(seed);
      const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
      const sim = await startSimulator({ flavour, keepaliveMs: 500, agents: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] });
      const { registry } = await openRegistry(db().knex, { maxRemovalRatio: 1 });
      const client = new MarathonClient({ urls: [sim.url], timeoutMs: 5000 });
      const stream = new EventStream({ urls: [sim.url], eventTypes: [...REGISTRY_EVENT_TYPES], idleTimeoutMs: 5000, backoff: { initialMs: 20, maxMs: 200 } });
      const sync = new MarathonSync({
        registry,
        apps: appsSourceFrom(client),
        events: eventSourceFrom(stream),
        logger: silentLogger,
        resyncIntervalMs: 3_600_000,
        refetchDelayMs: 5,
      });
      sync.start();
      stream.start();
      try {
        await waitFor(() => sync.hasSynced(), 10000);
        let next = 0;
        for (let i = 0; i < OPS; i++) {
          const apps = sim.control.apps();
          const r = rand();
          if (apps.length < 3 || r < 0.2) {
            const id = `/soak/app${next++}`;
            const hc = rand() < 0.5 ? { healthChecks: [{ protocol: 'HTTP', path: '/', portIndex: 0 }] } : {};
            const bad = rand() < 0.1;
            await sim.control.deploy({
              id,
              instances: 1 + Math.floor(rand() * 3),
              ...hc,
              container: { type: 'DOCKER', docker: { image: 'x' }, portMappings: [{ containerPort: 80, hostPort: 0, name: 'http' }] },
              networks: [{ mode: 'container/bridge' }],
              labels: { 'berth.domain': bad ? `${id.slice(1).replace(/\//g, '-')}..bad` : `${id.slice(1).replace(/\//g, '-')}.berth.internal` },
            });
          } else if (r < 0.35) {
            await sim.control.scale(pick(apps), Math.floor(rand() * 4));
          } else if (r < 0.45) {
            await sim.control.restart(pick(apps));
          } else if (r < 0.55) {
            await sim.control.remove(pick(apps));
          } else if (r < 0.65) {
            const id = pick(apps);
            await sim.control.update(id, { labels: { 'berth.domain': `${id.slice(1).replace(/\//g, '-')}-v${i}.berth.internal` } });
          } else if (r < 0.85) {
            const tasks = sim.control.tasks().filter((t) => t.state === 'TASK_RUNNING');
            if (tasks.length > 0) sim.control.setHealth(pick(tasks).id, rand() < 0.5);
          } else {
            const tasks = sim.control.tasks().filter((t) => t.state === 'TASK_RUNNING');
            if (tasks.length > 0) await sim.control.failTask(pick(tasks).id);
          }
        }

        // What Marathon's state implies: running tasks (healthy ones, for health-checked apps) of valid apps.
        const expected = (): Record<string, string[]> => {
          const out: Record<string, string[]> = {};
          for (const [id, app] of sim.cluster.apps) {
            const domain = String((app.def.labels as Record<string, string>)['berth.domain']);
            if (domain.includes('..')) continue;
            const checked = Array.isArray(app.def.healthChecks) && app.def.healthChecks.length > 0;
            out[id] = [...app.tasks.values()]
              .filter((t) => t.state === 'TASK_RUNNING' && (!checked || t.health?.alive === true))
              .map((t) => `${t.host}:${t.ports[0]}`)
              .sort();
          }
          return out;
        };
        const actual = (): Record<string, string[]> =>
          Object.fromEntries(registry.listServices().map((s) => [s.appId, s.endpoints.map((e) => `${e.address}:${e.port}`).sort()]));
        const badApps = (): string[] =>
          [...sim.cluster.apps.keys()]
            .filter((id) => String((sim.cluster.apps.get(id)!.def.labels as Record<string, string>)['berth.domain']).includes('..'))
            .sort();
        const problemApps = (): string[] =>
          registry
            .listProblems()
            .map((p) => p.appId)
            .sort();
        await waitFor(
          async () => {
            await registry.idle();
            return (
              (JSON.stringify(actual()) === JSON.stringify(sortKeys(expected())) && JSON.stringify(problemApps()) === JSON.stringify(badApps())) || undefined
            );
          },
          20000,
          () =>
            `seed ${seed}\nexpected ${JSON.stringify(sortKeys(expected()))}\nactual   ${JSON.stringify(actual())}\nbad apps ${badApps()} problems ${problemApps()}`,
        );
        expect(await sync.syncNow()).toMatchObject({ result: 'unchanged' });
      } finally {
        stream.stop();
        await sync.stop();
        await registry.idle();
        await sim.close();
      }
    }, 600_000);
  });
}

function sortKeys(o: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
}
