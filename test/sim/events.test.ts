import { type SimEvent, type Simulator, startSimulator } from '../../src/sim';
import { HTTP_HEALTH, bridgeApp } from './helpers';

/** Records every event the cluster publishes (what every unfiltered stream receives, in order). */
function record(sim: Simulator): SimEvent[] {
  const events: SimEvent[] = [];
  sim.control.onEvent((e) => events.push(e));
  return events;
}

/** Event types without the status/instance/health noise, to compare sequences. */
const skeleton = (evs: SimEvent[]): string[] =>
  evs
    .map((e) => (e.eventType === 'status_update_event' ? `status:${String(e.taskStatus)}` : e.eventType))
    .filter((t) => t !== 'instance_changed_event' && t !== 'instance_health_changed_event');

describe.each(['1.4', '1.10'] as const)('simulator event sequences (Marathon %s)', (flavour) => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = await startSimulator({ flavour });
  });
  afterEach(async () => {
    await sim.close();
  });

  it('deploys: api_post_event, group change, steps, STAGING → STARTING → RUNNING, health, success', async () => {
    const events = record(sim);
    const tasks = await sim.control.deploy(bridgeApp('/shop/web', { instances: 2, ...HTTP_HEALTH }));
    expect(tasks).toHaveLength(2);
    expect(skeleton(events)).toEqual([
      'api_post_event',
      'group_change_success',
      'deployment_info',
      'add_health_check_event',
      'deployment_step_success',
      'deployment_info',
      'status:TASK_STAGING',
      'status:TASK_STAGING',
      'status:TASK_STARTING',
      'status:TASK_STARTING',
      'status:TASK_RUNNING',
      'status:TASK_RUNNING',
      'health_status_changed_event',
      'health_status_changed_event',
      'deployment_step_success',
      'deployment_success',
    ]);
    const status = events.find((e) => e.eventType === 'status_update_event') as SimEvent;
    expect(Object.keys(status)).toEqual([
      'slaveId',
      'taskId',
      'taskStatus',
      'message',
      'appId',
      'host',
      'ipAddresses',
      'ports',
      'version',
      'eventType',
      'timestamp',
    ]);
    expect(status.appId).toBe('/shop/web');
    const idRe = flavour === '1.4' ? /^shop_web\.[0-9a-f-]{36}$/ : /^shop_web\.instance-[0-9a-f-]{36}\._app\.1$/;
    expect(status.taskId).toMatch(idRe);
    const health = events.find((e) => e.eventType === 'health_status_changed_event') as SimEvent;
    expect(health.instanceId).toMatch(flavour === '1.4' ? /^shop_web\.marathon-[0-9a-f-]{36}$/ : /^shop_web\.instance-[0-9a-f-]{36}$/);
    const changed = events.find((e) => e.eventType === 'instance_changed_event') as SimEvent;
    expect(changed.condition).toBe('Staging');
    const post = events[0];
    expect((post.appDefinition as Record<string, unknown>).id).toBe('/shop/web');
    const info = events.find((e) => e.eventType === 'deployment_info') as SimEvent;
    const plan = info.plan as Record<string, unknown>;
    // 1.4 always writes heavy plans; 1.8+ always light.
    expect('original' in plan).toBe(flavour === '1.4');
    expect(plan.steps).toEqual([
      { actions: [{ action: 'StartApplication', app: '/shop/web' }] },
      { actions: [{ action: 'ScaleApplication', app: '/shop/web' }] },
    ]);
  });

  it('scales up and down (youngest killed first, KILLING → KILLED)', async () => {
    await sim.control.deploy(bridgeApp('/web'));
    const events = record(sim);
    await sim.control.scale('/web', 3);
    expect(skeleton(events)).toEqual([
      'api_post_event',
      'group_change_success',
      'deployment_info',
      'status:TASK_STAGING',
      'status:TASK_STAGING',
      'status:TASK_STARTING',
      'status:TASK_STARTING',
      'status:TASK_RUNNING',
      'status:TASK_RUNNING',
      'deployment_step_success',
      'deployment_success',
    ]);
    expect(sim.control.tasks('/web')).toHaveLength(3);
    events.length = 0;
    await sim.control.scale('/web', 1);
    expect(skeleton(events)).toEqual([
      'api_post_event',
      'group_change_success',
      'deployment_info',
      'status:TASK_KILLING',
      'status:TASK_KILLING',
      'status:TASK_KILLED',
      'status:TASK_KILLED',
      'deployment_step_success',
      'deployment_success',
    ]);
    expect(sim.control.tasks('/web')).toHaveLength(1);
  });

  it('restarts rolling: new tasks up and healthy before old ones are killed', async () => {
    const old = (await sim.control.deploy(bridgeApp('/web', { instances: 2, ...HTTP_HEALTH }))).map((t) => t.id);
    const events = record(sim);
    await sim.control.restart('/web');
    const s = skeleton(events);
    expect(s.indexOf('status:TASK_KILLING')).toBeGreaterThan(s.lastIndexOf('health_status_changed_event'));
    const now = sim.control.tasks('/web').map((t) => t.id);
    expect(now).toHaveLength(2);
    expect(now.filter((id) => old.includes(id))).toEqual([]);
    const plan = (events.find((e) => e.eventType === 'deployment_success') as SimEvent).plan as { steps: unknown };
    expect(plan.steps).toEqual([{ actions: [{ action: 'RestartApplication', app: '/web' }] }]);
  });

  it('deletes: tasks killed, app_terminated_event, app gone from the list at once', async () => {
    await sim.control.deploy(bridgeApp('/web', { instances: 2 }));
    const events = record(sim);
    await sim.control.remove('/web');
    expect(skeleton(events)).toEqual([
      'group_change_success',
      'deployment_info',
      'status:TASK_KILLING',
      'status:TASK_KILLING',
      'status:TASK_KILLED',
      'status:TASK_KILLED',
      'app_terminated_event',
      'deployment_step_success',
      'deployment_success',
    ]);
    expect(sim.control.apps()).toEqual([]);
  });

  it('flaps health with the flavour’s keys', async () => {
    const [task] = await sim.control.deploy(bridgeApp('/web', HTTP_HEALTH));
    const events = record(sim);
    sim.control.setHealth(task.id, false);
    sim.control.setHealth(task.id, false);
    sim.control.setHealth(task.id, true);
    expect(events.map((e) => e.eventType)).toEqual([
      'failed_health_check_event',
      'health_status_changed_event',
      'instance_health_changed_event',
      'failed_health_check_event',
      'health_status_changed_event',
      'instance_health_changed_event',
    ]);
    const failed = events[0];
    // 1.4 keys failed checks by instanceId; 1.5+ by taskId holding the instance id.
    if (flavour === '1.4') expect(failed.instanceId).toBe(task.instanceId);
    else {
      expect(failed.taskId).toBe(task.instanceId);
      expect(failed.instanceId).toBeUndefined();
    }
    expect(events[1]).toMatchObject({ alive: false, instanceId: task.instanceId });
    expect(events[5]).toMatchObject({ healthy: true, instanceId: task.instanceId });
  });

  it('kills an unhealthy task and replaces it', async () => {
    const [task] = await sim.control.deploy(bridgeApp('/web', HTTP_HEALTH));
    const events = record(sim);
    const next = await sim.control.killUnhealthy(task.id);
    expect(skeleton(events)).toEqual([
      'unhealthy_instance_kill_event',
      'status:TASK_KILLING',
      'status:TASK_KILLED',
      'status:TASK_STAGING',
      'status:TASK_STARTING',
      'status:TASK_RUNNING',
      'health_status_changed_event',
    ]);
    expect(events[0]).toMatchObject({ taskId: task.id, instanceId: task.instanceId, reason: 'HealthCheckFailed' });
    expect(sim.control.tasks('/web').map((t) => t.id)).toEqual([next.id]);
  });

  it('relaunches a failed task (1.10: same instance, next incarnation; 1.4: new ids)', async () => {
    const [task] = await sim.control.deploy(bridgeApp('/web'));
    const events = record(sim);
    const next = await sim.control.failTask(task.id);
    expect(events[0]).toMatchObject({ eventType: 'status_update_event', taskStatus: 'TASK_FAILED', taskId: task.id });
    expect(next.id).not.toBe(task.id);
    if (flavour === '1.10') {
      expect(next.instanceId).toBe(task.instanceId);
      expect(next.id.endsWith('._app.2')).toBe(true);
    } else expect(next.instanceId).not.toBe(task.instanceId);
    expect(sim.control.tasks('/web').map((t) => t.state)).toEqual(['TASK_RUNNING']);
  });

  it('runs a deployment one step at a time when paused', async () => {
    const events = record(sim);
    sim.control.pause();
    const done = sim.control.deploy(bridgeApp('/web'));
    expect(events.map((e) => e.eventType)).toEqual(['api_post_event', 'group_change_success']);
    const seen: string[] = [];
    while (seen.at(-1) !== 'deployment_success') {
      await waitForPending(sim);
      sim.control.step();
      await new Promise((r) => setImmediate(r));
      seen.push(events.at(-1)?.eventType ?? '');
      if (events.some((e) => e.taskStatus === 'TASK_STARTING') && !events.some((e) => e.taskStatus === 'TASK_RUNNING')) {
        expect(sim.control.tasks('/web')[0].state).toBe('TASK_STARTING');
      }
    }
    sim.control.resume();
    await done;
  });

  it('wipes health results on a leader change and closes streams', async () => {
    const [task] = await sim.control.deploy(bridgeApp('/web', HTTP_HEALTH));
    expect(task.health?.alive).toBe(true);
    const standby = await startSimulator({ cluster: sim.cluster });
    try {
      standby.control.becomeLeader();
      expect(sim.cluster.leader).toBe(standby.hostPort);
      expect(sim.control.tasks('/web')[0].health).toBeNull();
    } finally {
      await standby.close();
    }
  });
});

async function waitForPending(sim: Simulator): Promise<void> {
  for (let i = 0; i < 1000 && sim.control.pendingSteps() === 0; i++) await new Promise((r) => setImmediate(r));
}

describe('simulator forced changes', () => {
  it('cancels a running deployment on force=true: deployment_failed, then the new one', async () => {
    const sim = await startSimulator({ flavour: '1.10' });
    try {
      const events = record(sim);
      sim.control.pause();
      const first = sim.control.deploy(bridgeApp('/web', { instances: 2 }));
      while (sim.control.pendingSteps() === 0) await new Promise((r) => setImmediate(r));
      const res = await fetch(`${sim.url}/v2/apps/web?force=true`, { method: 'PUT', body: JSON.stringify({ instances: 1 }) });
      expect(res.status).toBe(200);
      sim.control.resume();
      await first;
      await Promise.all([...sim.cluster.deployments.values()].map((d) => d.done));
      const types = events.map((e) => e.eventType);
      expect(types).toContain('deployment_failed');
      expect(types.at(-1)).toBe('deployment_success');
      expect(sim.control.tasks('/web').length).toBe(1);
    } finally {
      await sim.close();
    }
  });
});
