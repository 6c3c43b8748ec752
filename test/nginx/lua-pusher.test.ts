import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log';
import type { DictState, LuaAdmin } from '../../src/nginx/lua/client';
import { LuaPusher } from '../../src/nginx/lua/pusher';
import { upstreamName } from '../../src/nginx/names';
import { InMemoryRegistryView } from '../../src/registry/view';
import { aService, anEndpoint, waitFor, withEndpoints } from './helpers';

/** The admin locations' contract, in memory: what a push leaves in the dict, and every body received. */
class FakeAdmin implements LuaAdmin {
  dict = new Map<string, string>();
  boot = 'boot-1';
  version = 0;
  bodies: Array<{ body: string; full: boolean }> = [];
  down = false;
  /** While set, a push waits for it (to look at the pusher mid-push). */
  gate: Promise<void> | null = null;

  async state(): Promise<DictState> {
    if (this.down) throw new Error('connect ECONNREFUSED');
    return { boot: this.boot, version: this.version, upstreams: this.dict.size };
  }

  async push(body: string, full: boolean): Promise<DictState> {
    if (this.down) throw new Error('connect ECONNREFUSED');
    await this.gate;
    this.bodies.push({ body, full });
    const named = new Set<string>();
    for (const line of body.split('\n').filter(Boolean)) {
      if (line.startsWith('-')) this.dict.delete(line.slice(1));
      else {
        const [name, ...eps] = line.split(' ');
        named.add(name);
        this.dict.set(name, eps.join(' '));
      }
    }
    if (full) for (const k of [...this.dict.keys()]) if (!named.has(k)) this.dict.delete(k);
    this.version++;
    return this.state();
  }

  /** Nginx stopped and started: a new, empty dict. */
  restart(): void {
    this.dict.clear();
    this.boot = `boot-${Number(this.boot.split('-')[1]) + 1}`;
  }
}

const web = (port: number, ...more: number[]) => aService({ appId: '/web' }, withEndpoints(...[port, ...more].map((p) => anEndpoint('10.0.0.1', p))));
const api = (port: number) => aService({ appId: '/api' }, withEndpoints(anEndpoint('fd00::5', port)));
const db = aService({ appId: '/db', proxy: 'tcp', listen: 5432 }, withEndpoints(anEndpoint('10.0.0.9', 5432)));
const WEB = upstreamName('default', '/web');
const API = upstreamName('default', '/api');

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (stops.length) await stops.pop()!();
});

function setup(opts: { staleAfterMs?: number } = {}) {
  const admin = new FakeAdmin();
  const view = new InMemoryRegistryView();
  const metrics = new Registry();
  const pusher = new LuaPusher({ admin, view, logger: silentLogger, metricsRegistry: metrics, delayMs: 20, pollMs: 50, staleAfterMs: opts.staleAfterMs });
  stops.push(() => pusher.stop());
  const ready = async () => (await pusher.readiness().check()).ok;
  const failures = async () => (await metrics.getSingleMetric('berth_nginx_lua_push_failures_total')!.get()).values[0]?.value ?? 0;
  return { admin, view, pusher, ready, failures };
}

describe('LuaPusher', () => {
  it('fills the dict with every HTTP service once the registry is loaded, and only then is ready', async () => {
    const { admin, view, pusher, ready } = setup();
    pusher.start();
    await pusher.flush();
    expect(admin.bodies).toEqual([]); // an unloaded registry is not pushed
    expect(await ready()).toBe(false);
    view.set([web(80, 81), api(8080), db]);
    await waitFor(() => admin.bodies.length === 1, 'the first push');
    expect(admin.bodies[0].full).toBe(true);
    expect(admin.dict).toEqual(
      new Map([
        [WEB, '10.0.0.1:80 10.0.0.1:81'],
        [API, '[fd00::5]:8080'],
      ]),
    ); // no TCP service
    expect(await ready()).toBe(true);
  });

  it('pushes only what changed: one upstream line for a scale change, a drop line for a removed service', async () => {
    const { admin, view, pusher } = setup();
    view.set([web(80), api(8080)]);
    pusher.start();
    await waitFor(() => admin.bodies.length === 1, 'the first push');
    view.update([web(80, 82)]);
    await waitFor(() => admin.bodies.length === 2, 'the delta');
    expect(admin.bodies[1]).toEqual({ body: `${WEB} 10.0.0.1:80 10.0.0.1:82\n`, full: false });
    view.update([], ['/api']);
    view.update([web(82)]);
    await waitFor(() => admin.bodies.length === 3, 'the next delta');
    expect(admin.bodies[2]).toEqual({ body: `${WEB} 10.0.0.1:82\n-${API}\n`, full: false });
    view.update([aService({ appId: '/web' })]);
    await waitFor(() => admin.bodies.length === 4, 'no endpoints');
    expect(admin.dict.get(WEB)).toBe('');
  });

  it('refills a restarted Nginx completely, not ready until that push is confirmed', async () => {
    const { admin, view, pusher, ready } = setup();
    view.set([web(80), api(8080)]);
    pusher.start();
    await waitFor(ready, 'ready');
    let open!: () => void;
    admin.gate = new Promise((r) => (open = r));
    admin.restart();
    await waitFor(async () => !(await ready()), 'not ready once the new boot id is seen');
    open();
    await waitFor(ready, 'ready after the refill');
    expect(admin.bodies.at(-1)!.full).toBe(true);
    expect(admin.dict.size).toBe(2);
    expect(pusher.status().boot).toBe('boot-2');
  });

  it('retries failed pushes; ready while the failure is short, not once the dict is stale for longer', async () => {
    const { admin, view, pusher, ready, failures } = setup({ staleAfterMs: 300 });
    view.set([web(80)]);
    pusher.start();
    await waitFor(ready, 'ready');
    admin.down = true;
    view.update([web(81)]);
    await waitFor(async () => (await failures()) >= 2, 'retries');
    const failingSince = Date.parse(pusher.status().failingSince!);
    await waitFor(async () => !(await ready()), 'not ready once stale', 3000);
    expect(Date.now() - failingSince).toBeGreaterThanOrEqual(300);
    admin.down = false;
    await waitFor(ready, 'ready after recovery', 5000);
    expect(admin.dict.get(WEB)).toBe('10.0.0.1:81');
    expect(pusher.status().lastError).toBeNull();
  });
});
