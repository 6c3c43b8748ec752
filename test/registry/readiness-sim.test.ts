/**
 * Marathon readiness checks (docs/marathon.md "Readiness checks"), end to end through the
 * simulator's REST API and event stream: during a rolling deployment the new task runs but is
 * not ready, so it is not an endpoint while the old one keeps serving; once Marathon reports it
 * ready (and the deployment finishes) it is, and the old one is gone.
 */
import { silentLogger } from '../../src/log';
import { MarathonClient } from '../../src/marathon/client';
import { EventStream } from '../../src/marathon/stream';
import { appsSourceFrom, eventSourceFrom, REGISTRY_EVENT_TYPES } from '../../src/registry/marathon-adapter';
import { Registry } from '../../src/registry/registry';
import { MarathonSync } from '../../src/registry/sync';
import { startSimulator } from '../../src/sim';
import { openTestDb } from '../support/db';
import { waitFor } from '../support/wait';

const APP = '/shop/ready';

describe('readiness checks through the simulator', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
  });

  it('a new task that runs but is not ready is not published; it is once Marathon reports it ready', async () => {
    const db = await openTestDb('pglite');
    cleanups.push(() => db.drop());
    const sim = await startSimulator({ flavour: '1.10', keepaliveMs: 200, agents: ['127.0.0.1'] });
    cleanups.push(() => sim.close());
    const registry = await Registry.open({ knex: db.knex, logger: silentLogger, defaultEnv: 'default', maxRemovalRatio: 1 });
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

    const def = {
      id: APP,
      instances: 1,
      container: { type: 'DOCKER', docker: { image: 'example/app:1' }, portMappings: [{ containerPort: 8080, hostPort: 0, name: 'http' }] },
      networks: [{ mode: 'container/bridge' }],
      readinessChecks: [{ name: 'readinessCheck', protocol: 'HTTP', path: '/ready', portName: 'http' }],
      labels: { 'berth.domain': 'ready.shop.berth.test' },
    };
    const [first] = await sim.control.deploy(def);
    const served = () =>
      registry
        .current()
        .services.find((s) => s.appId === APP)
        ?.endpoints.map((e) => e.taskId) ?? [];
    await waitFor(
      () => served().join() === first.id,
      20000,
      () => 'the first task to be served after its deployment',
    );

    // A rolling restart whose new task does not pass its readiness check on its own.
    const deployment = sim.control.update(APP, { ...def, env: { V: '2' } }, { ready: false });
    const fresh = await waitFor(
      () => sim.control.tasks(APP).find((t) => t.id !== first.id && t.state === 'TASK_RUNNING' && t.ready === false),
      20000,
      () => 'a running, not ready new task',
    );
    // berth has seen it running (its record holds it) and still publishes only the old task.
    await waitFor(
      () => registry.appRecords().get(APP)?.tasks.get(fresh.id)?.state === 'TASK_RUNNING',
      20000,
      () => 'berth to see the new task running',
    );
    const res = await fetch(`${sim.url}/v2/apps?embed=apps.readiness`);
    const listed = ((await res.json()) as { apps: Array<{ id: string; readinessCheckResults: unknown[] }> }).apps.find((a) => a.id === APP);
    expect(listed?.readinessCheckResults).toEqual([expect.objectContaining({ taskId: fresh.id, ready: false })]);
    await registry.idle();
    expect(served()).toEqual([first.id]);
    expect(registry.appRecords().get(APP)?.tasks.get(fresh.id)?.serving).toBe(false);

    // Marathon reports it ready: the deployment goes on (kills the old task) and ends.
    sim.control.setReady(fresh.id);
    await deployment;
    await waitFor(
      () => served().join() === fresh.id,
      20000,
      () => 'only the new task to be served',
    );
  }, 120000);
});
