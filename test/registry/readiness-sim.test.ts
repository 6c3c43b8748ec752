/**
 * Marathon readiness checks (docs/marathon.md "Readiness checks"), end to end through the
 * simulator's REST API and event stream: during a rolling deployment the new task runs but is
 * not ready, so it is not an endpoint while the old one keeps serving; once Marathon reports it
 * ready (and the deployment finishes) it is, and the old one is gone.
 */
import { openTestDb } from '../support/db';
import { waitFor } from '../support/wait';
import { followSimulator } from '../support/follow-sim';

const APP = '/shop/ready';

describe('readiness checks through the simulator', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
  });

  it('a new task that runs but is not ready is not published; it is once Marathon reports it ready', async () => {
    const db = await openTestDb('pglite');
    cleanups.push(() => db.drop());
    const { sim, registry } = await followSimulator(db.knex, 1, cleanups);

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
