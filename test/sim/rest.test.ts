import { type Simulator, startSimulator } from '../../src/sim';
import { HTTP_HEALTH, bridgeApp } from './helpers';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function get(
  sim: Simulator | string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Json; text: string; headers: Headers }> {
  const base = typeof sim === 'string' ? sim : sim.url;
  const res = await fetch(`${base}${path}`, { headers, redirect: 'manual' });
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    await res.body?.cancel(); // a stream never ends: headers are what the test wants
    return { status: res.status, body: {}, text: '', headers: res.headers };
  }
  const text = await res.text();
  let body: Json = {};
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, text, headers: res.headers };
}

async function send(sim: Simulator, method: string, path: string, payload: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

describe.each(['1.4', '1.10'] as const)('simulator REST (Marathon %s)', (flavour) => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = await startSimulator({ flavour });
  });
  afterEach(async () => {
    await sim.close();
  });

  it('lists apps with counts and deployments always, tasks and health results with embed', async () => {
    await sim.control.deploy(bridgeApp('/team/web', { instances: 2, ...HTTP_HEALTH }));
    const plain = await get(sim, '/v2/apps');
    expect(plain.body.apps[0]).toMatchObject({ id: '/team/web', tasksRunning: 2, tasksHealthy: 2, deployments: [] });
    expect(plain.body.apps[0].tasks).toBeUndefined();
    const { body } = await get(sim, '/v2/apps?embed=apps.tasks&embed=apps.bogus');
    const [task] = body.apps[0].tasks;
    expect(task.state).toBe('TASK_RUNNING');
    expect(task.host).toBe('127.0.0.1');
    expect(task.ports).toHaveLength(1);
    const [result] = task.healthCheckResults;
    expect(result.alive).toBe(true);
    if (flavour === '1.4') {
      expect(body.apps[0].container.docker).toMatchObject({ network: 'BRIDGE', portMappings: [{ containerPort: 80, name: 'http' }] });
      expect(body.apps[0].ipAddress).toBeNull();
      expect(body.apps[0].networks).toBeUndefined();
      expect(result.instanceId).toMatch(/^team_web\.marathon-/);
      expect(result.lastFailure).toBeNull();
    } else {
      expect(body.apps[0].networks).toEqual([{ mode: 'container/bridge' }]);
      expect(body.apps[0].container.portMappings[0]).toMatchObject({ containerPort: 80, name: 'http' });
      expect(result.instanceId).toMatch(/^instance \[team_web\.instance-[0-9a-f-]+\]$/);
      expect('lastFailure' in result).toBe(false);
      expect(task.localVolumes).toEqual([]);
    }
  });

  it('serves one app by an id with slashes, its tasks, and 404 in Marathon’s words', async () => {
    await sim.control.deploy(bridgeApp('/a/b/c'));
    const one = await get(sim, '/v2/apps/a/b/c');
    expect(one.body.app.id).toBe('/a/b/c');
    expect(one.body.app.tasks).toHaveLength(1);
    expect((await get(sim, '/v2/apps/a/b/c/tasks')).body.tasks).toHaveLength(1);
    expect((await get(sim, '/v2/apps/a/*')).body['*']).toHaveLength(1);
    const missing = await get(sim, '/v2/apps/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ message: "App '/nope' does not exist" });
  });

  it('creates, updates and deletes through the API, with Marathon validation', async () => {
    const created = await send(sim, 'POST', '/v2/apps', bridgeApp('/api/web'));
    expect(created.status).toBe(201);
    expect(created.body.deployments).toHaveLength(1);
    expect((await send(sim, 'POST', '/v2/apps', bridgeApp('/api/web'))).status).toBe(409);
    await waitIdle(sim);
    const scaled = await send(sim, 'PUT', '/v2/apps/api/web', { instances: 3 });
    expect(scaled.status).toBe(200);
    expect(scaled.body).toEqual({ version: expect.any(String), deploymentId: expect.any(String) });
    const locked = await send(sim, 'PUT', '/v2/apps/api/web', { instances: 2 });
    expect(locked.status).toBe(409);
    expect(locked.body.message).toBe('App is locked by one or more deployments.');
    await waitIdle(sim);
    expect(sim.control.tasks('/api/web')).toHaveLength(3);
    const bad = await send(sim, 'POST', '/v2/apps', {
      id: '/Bad_Id',
      instances: -1,
      container: { type: 'DOCKER', docker: { image: '' }, portMappings: [{ containerPort: 99999 }] },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.message).toBe('Object is not valid');
    const paths = bad.body.details.map((d: Json) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['/id', '/instances', '/container/docker/image', '/container/portMappings(0)/containerPort']));
    const noCmd = await send(sim, 'POST', '/v2/apps', { id: '/x' });
    expect(noCmd.body.details).toEqual([{ path: '/', errors: ["AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."] }]);
    expect((await send(sim, 'POST', '/v2/apps', '{not json')).status).toBe(400);
    const del = await send(sim, 'DELETE', '/v2/apps/api/web', undefined);
    expect(del.status).toBe(200);
    expect((await get(sim, '/v2/apps/api/web')).status).toBe(404);
  });

  it('serves /v2/tasks, /v2/leader, /v2/info and /ping', async () => {
    await sim.control.deploy(bridgeApp('/web', { instances: 2 }));
    expect((await get(sim, '/v2/tasks')).body.tasks).toHaveLength(2);
    expect((await get(sim, '/v2/leader')).body).toEqual({ leader: sim.hostPort });
    const info = (await get(sim, '/v2/info')).body;
    expect(info).toMatchObject({ name: 'marathon', elected: true, leader: sim.hostPort });
    expect(info.version.startsWith(flavour === '1.4' ? '1.4.' : '1.10.')).toBe(true);
    const ping = await get(sim, '/ping');
    expect([ping.status, ping.text]).toEqual([200, 'pong']);
  });

  it('acts as a standby: 1.10 redirects the stream with 302, 1.4 proxies; no leader → Jetty error page', async () => {
    const standby = await startSimulator({ cluster: sim.cluster });
    try {
      const ev = await get(standby, '/v2/events?event_type=status_update_event', { Accept: 'text/event-stream' });
      if (flavour === '1.10') {
        expect(ev.status).toBe(302);
        expect(ev.headers.get('location')).toBe(`${sim.url}/v2/events?event_type=status_update_event`);
      } else {
        expect(ev.status).toBe(200);
        expect(ev.headers.get('x-marathon-via')).toBe(`1.1 ${standby.hostPort}`);
      }
      const apps = await get(standby, '/v2/apps');
      expect(apps.status).toBe(200);
      expect(apps.headers.get('x-marathon-leader')).toBe(sim.url);
      sim.control.loseLeader();
      const none = await get(standby, '/v2/apps');
      expect(none.status).toBe(flavour === '1.4' ? 503 : 502);
      expect(none.text).toContain('Could not determine the current leader');
    } finally {
      await standby.close();
    }
  });

  it('requires Basic or token auth when told to', async () => {
    sim.control.requireAuth({ username: 'u', password: 'p' });
    const denied = await get(sim, '/v2/apps');
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toBe('basic realm="Mesosphere"');
    expect((await get(sim, '/v2/apps', { Authorization: `Basic ${Buffer.from('u:p').toString('base64')}` })).status).toBe(200);
    sim.control.requireAuth({ token: 'jwt' });
    expect((await get(sim, '/v2/apps', { Authorization: 'token=jwt' })).status).toBe(200);
    expect((await get(sim, '/ping', { Authorization: 'token=other' })).status).toBe(401);
  });

  it('injects faults and counts requests per path', async () => {
    await sim.control.deploy(bridgeApp('/web'));
    sim.control.fault({ kind: 'status', status: 503, times: 1 });
    expect((await get(sim, '/v2/apps')).status).toBe(503);
    expect((await get(sim, '/v2/apps')).status).toBe(200);
    sim.control.fault({ kind: 'html', path: '/v2/apps', times: 1 });
    expect((await get(sim, '/v2/apps')).text).toContain('<html>');
    sim.control.fault({ kind: 'garbage', times: 1 });
    expect((await get(sim, '/v2/apps')).body).toEqual({});
    sim.control.fault({ kind: 'emptyApps', times: 1 });
    expect((await get(sim, '/v2/apps?embed=apps.tasks')).body).toEqual({ apps: [] });
    expect((await get(sim, '/v2/apps')).body.apps).toHaveLength(1);
    expect(sim.control.requestCount('GET /v2/apps')).toBe(6);
    sim.control.resetCounts();
    expect(sim.control.counts()).toEqual({});
  });

  it('is driven over HTTP under /_sim', async () => {
    const res = await fetch(`${sim.url}/_sim/apps`, { method: 'POST', body: JSON.stringify(bridgeApp('/ctl', { instances: 2 })) });
    const { tasks } = (await res.json()) as { tasks: string[] };
    expect(tasks).toHaveLength(2);
    await fetch(`${sim.url}/_sim/task-state`, { method: 'POST', body: JSON.stringify({ taskId: tasks[0], state: 'TASK_KILLED' }) });
    expect(sim.control.tasks('/ctl')).toHaveLength(1);
    const counts = (await (await fetch(`${sim.url}/_sim/counts`)).json()) as Record<string, number>;
    expect(counts).toEqual({});
    const placed = { app: bridgeApp('/placed', { instances: 2 }), placements: [{ host: '127.0.0.1', ports: [4001] }, { ipAddresses: ['10.9.9.9'] }] };
    await fetch(`${sim.url}/_sim/apps`, { method: 'POST', body: JSON.stringify(placed) });
    const placedTasks = sim.control.tasks('/placed');
    expect(placedTasks.map((t) => t.ports[0])).toEqual([4001, expect.any(Number)]);
    expect(placedTasks[1].ipAddresses).toEqual([{ ipAddress: '10.9.9.9', protocol: 'IPv4' }]);
  });
});

describe('simulator bulk state', () => {
  it('seeds 10,000 apps / 30,000 tasks without events and serves them', async () => {
    const sim = await startSimulator();
    try {
      let events = 0;
      sim.control.onEvent(() => events++);
      // Speed is measured by the benchmarks, not asserted here (a loaded CI box would flake).
      expect(sim.control.seed({ apps: 10_000, tasksPerApp: 3 })).toEqual({ apps: 10_000, tasks: 30_000 });
      expect(events).toBe(0);
      const { body } = await get(sim, '/v2/apps?embed=apps.tasks');
      expect(body.apps).toHaveLength(10_000);
      expect(body.apps[9999].tasks).toHaveLength(3);
    } finally {
      await sim.close();
    }
  });

  it('pumps task events at a given rate', async () => {
    const sim = await startSimulator();
    try {
      sim.control.seed({ apps: 10, tasksPerApp: 1 });
      const seen: string[] = [];
      sim.control.onEvent((e) => {
        if (e.eventType === 'status_update_event') seen.push(String(e.taskStatus));
      });
      const started = Date.now();
      const sent = await sim.control.pump({ ratePerSec: 500, count: 50 }).done;
      expect(sent).toBe(50);
      expect(Date.now() - started).toBeGreaterThanOrEqual(80); // 50 events at 500/s take ~100 ms
      expect(seen.slice(0, 11)).toEqual([...Array(10).fill('TASK_KILLING'), 'TASK_RUNNING']);
    } finally {
      await sim.close();
    }
  });
});

async function waitIdle(sim: Simulator): Promise<void> {
  await Promise.all([...sim.cluster.deployments.values()].map((d) => d.done));
}
