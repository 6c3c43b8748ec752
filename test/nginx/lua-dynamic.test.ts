import http from 'node:http';
import type net from 'node:net';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log';
import { commandControl, type NginxControl } from '../../src/nginx/command';
import { httpLuaAdmin } from '../../src/nginx/lua/client';
import { LuaPusher } from '../../src/nginx/lua/pusher';
import { InMemoryProblemSink } from '../../src/nginx/store';
import { NginxSync } from '../../src/nginx/sync';
import type { Service } from '../../src/model/types';
import { InMemoryRegistryView } from '../../src/registry/view';
import { prng } from '../support/prng';
import { describeWithTools } from '../support/tools';
import { aService, anEndpoint, RecordingStore, TEMPLATES_DIR, waitFor, withEndpoints } from './helpers';
import { freePort, httpGet, startBackend } from './nginx-harness';
import { startLuaNginx, type LuaNginx } from './lua-harness';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

interface Harness {
  nginx: LuaNginx;
  view: InMemoryRegistryView;
  store: RecordingStore;
  sync: NginxSync;
  pusher: LuaPusher;
  metrics: Registry;
  counts: { reloads: number };
}

/**
 * berth in lua mode against a real Nginx: the file sync (slow interval, as in production, staged) and
 * the pusher. Nginx includes berth's http.conf, which brings the dicts and admin locations with the first run.
 */
async function harness(services: Service[], opts: { staleAfterMs?: number; pushDelayMs?: number; pushPollMs?: number } = {}): Promise<Harness> {
  const nginx = await startLuaNginx({ berthHttpConf: true });
  cleanups.push(() => nginx.stop());
  const real = commandControl({ testCmd: nginx.testCmd, reloadCmd: nginx.reloadCmd, timeoutMs: 10000 });
  const counts = { reloads: 0 };
  const control: NginxControl = { test: (target) => real.test(target), reload: () => (counts.reloads++, real.reload()) };
  const view = new InMemoryRegistryView();
  view.set(services);
  const metrics = new Registry();
  const pusher = new LuaPusher({
    admin: httpLuaAdmin(`http://127.0.0.1:${nginx.adminPort}`, 2000),
    view,
    logger: silentLogger,
    metricsRegistry: metrics,
    staleAfterMs: opts.staleAfterMs,
    delayMs: opts.pushDelayMs,
    pollMs: opts.pushPollMs,
  });
  const store = new RecordingStore();
  const sync = new NginxSync({
    dir: nginx.dir,
    templatesDir: TEMPLATES_DIR,
    httpListen: `127.0.0.1:${nginx.httpPort}`,
    testCmd: nginx.testCmd,
    reloadCmd: nginx.reloadCmd,
    mainConf: nginx.conf,
    adminListen: `127.0.0.1:${nginx.adminPort}`,
    confirmTimeoutMs: 15_000, // the test machine is shared and may be busy
    errorLog: `${nginx.prefix}/error.log`,
    intervalMs: 2000,
    commandTimeoutMs: 10000,
    maxRemovalRatio: 0.5,
    logger: silentLogger,
    metricsRegistry: metrics,
    view,
    store,
    problems: new InMemoryProblemSink(),
    control,
    dynamic: 'lua',
    beforeApply: () => pusher.flush(),
  });
  cleanups.push(() => pusher.stop());
  cleanups.push(() => sync.stop());
  pusher.start();
  await sync.start();
  return { nginx, view, store, sync, pusher, metrics, counts };
}

async function backends(count: number, prefix = 'b') {
  const list = await Promise.all(Array.from({ length: count }, (_, i) => startBackend(`${prefix}${i}`)));
  cleanups.push(async () => void (await Promise.all(list.map((b) => b.close()))));
  return list;
}

const svc = (appId: string, domain: string, bs: Array<{ port: number; name: string }>) =>
  aService({ appId, domains: [domain] }, withEndpoints(...bs.map((b) => anEndpoint('127.0.0.1', b.port, `task.${b.name}`))));

const ready = async (p: LuaPusher) => (await p.readiness().check()).ok;

describeWithTools(['nginx-lua'], 'BERTH_NGINX_DYNAMIC=lua with a real Nginx', () => {
  it('200 scale changes across 10 services: no reload, each change serving within 1 s', async () => {
    const pool = await backends(20);
    const random = prng(20261207);
    // Each change gives a service a random set of backends disjoint from its previous one, so any
    // answer from the new set proves the change arrived.
    let sets = Array.from({ length: 10 }, (_, i) => [pool[i * 2]]);
    const catalog = () => sets.map((bs, i) => svc(`/s${i}`, `s${i}.lua.test`, bs));
    const h = await harness(catalog());
    const port = h.nginx.httpPort;
    for (let i = 0; i < 10; i++) await waitFor(async () => (await httpGet(port, `s${i}.lua.test`)).body === `b${i * 2}`, `s${i} serving`);
    await waitFor(() => h.nginx.reconfigurations() === h.counts.reloads, 'nginx to log the initial reload');
    // Traffic routes before the first run is recorded (it ends with the reload's confirmation).
    await waitFor(() => h.store.all.some((r) => r.status === 'applied'), 'the first run to be recorded (after its confirmation)');
    const reloads = h.counts.reloads;
    const generations = h.nginx.reconfigurations();
    const runsBefore = h.store.all.length;

    const latencies: number[] = [];
    for (let change = 0; change < 200; change++) {
      const i = change % 10;
      const old = new Set(sets[i].map((b) => b.name));
      const candidates = pool.filter((b) => !old.has(b.name));
      const size = 1 + Math.floor(random() * 3);
      const fresh = candidates.sort(() => random() - 0.5).slice(0, size);
      sets = sets.map((s, k) => (k === i ? fresh : s));
      const names = new Set(fresh.map((b) => b.name));
      const started = Date.now();
      h.view.set(catalog());
      await waitFor(async () => names.has((await httpGet(port, `s${i}.lua.test`)).body), `change ${change} to serve`, 5000);
      latencies.push(Date.now() - started);
      // Every worker reads the same dict: from now on no answer comes from the old set.
      for (let k = 0; k < 4; k++) expect(names.has((await httpGet(port, `s${i}.lua.test`)).body)).toBe(true);
    }
    latencies.sort((a, b) => a - b);
    console.log(`lua scale changes: p50 ${latencies[99]} ms, p95 ${latencies[189]} ms, max ${latencies[199]} ms`);
    expect(latencies[199]).toBeLessThanOrEqual(1000);
    expect(h.counts.reloads).toBe(reloads);
    expect(h.nginx.reconfigurations()).toBe(generations);
    // The file sync still ran (its interval passed) and found every file unchanged.
    expect(h.store.all.slice(runsBefore).every((r) => r.status === 'unchanged')).toBe(true);
  }, 180_000);

  it('a new domain reloads once and serves as soon as Nginx has loaded it (never a 503 on the way)', async () => {
    const [a, b] = await backends(2, 'n');
    // The pusher's own window and poll (8 s) end long after the sync's interval (2 s): only the push
    // the sync asks for before it writes and reloads can bring the new upstream's endpoints in time.
    const h = await harness([svc('/old', 'old.lua.test', [a])], { pushDelayMs: 8000, pushPollMs: 8000 });
    const port = h.nginx.httpPort;
    await waitFor(async () => (await httpGet(port, 'old.lua.test')).body === 'n0', 'old serving');
    await waitFor(() => h.nginx.reconfigurations() === h.counts.reloads, 'nginx to log the initial reload');
    const reloads = h.counts.reloads;
    const applied = h.store.next();
    h.view.update([svc('/new', 'new.lua.test', [b])]);
    const statuses: number[] = [];
    await waitFor(async () => {
      const r = await httpGet(port, 'new.lua.test');
      statuses.push(r.status);
      return r.status === 200 && r.body === 'n1';
    }, 'new domain serving');
    expect(await applied).toMatchObject({ status: 'applied', reloaded: true });
    expect(h.counts.reloads - reloads).toBe(1);
    // Before the reload: the default server's 404; after it: the backend. The endpoints were in the
    // dict before the file was loaded, so no 503 (an upstream without endpoints) in between.
    expect(statuses.filter((s) => s !== 404 && s !== 200)).toEqual([]);
  }, 60_000);

  it('after an Nginx restart (empty dict) berth refills it; ready only when it serves again', async () => {
    const [a] = await backends(1, 'r');
    const h = await harness([svc('/r', 'r.lua.test', [a])], { staleAfterMs: 300 });
    const port = h.nginx.httpPort;
    await waitFor(async () => (await httpGet(port, 'r.lua.test')).body === 'r0', 'serving');
    await waitFor(() => ready(h.pusher), 'pusher ready');
    const bootBefore = h.pusher.status().boot;

    await h.nginx.stop();
    await waitFor(async () => !(await ready(h.pusher)), 'readiness false while Nginx is down');
    await h.nginx.start();
    // Whenever berth says ready, the service answers from its backend.
    let sawServing = false;
    await waitFor(async () => {
      if (!(await ready(h.pusher))) return false;
      const r = await httpGet(port, 'r.lua.test');
      expect(r).toEqual({ status: 200, body: 'r0' });
      sawServing = true;
      return true;
    }, 'ready again after the restart');
    expect(sawServing).toBe(true);
    expect(h.pusher.status().boot).not.toBe(bootBefore);
    const full = (await h.metrics.getSingleMetric('berth_nginx_lua_pushes_total')!.get()).values.find((v) => v.labels.mode === 'full');
    expect(full?.value).toBe(2); // the first fill and the refill
  }, 60_000);

  it('keeps connections to the backend alive and retries a dead endpoint on the next one, skipping it afterwards', async () => {
    const connections = new Set<net.Socket>();
    let accepted = 0;
    const live = http.createServer((_req, res) => res.end('live'));
    live.on('connection', (s: net.Socket) => (accepted++, connections.add(s)));
    await new Promise<void>((r) => live.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => (live.closeAllConnections(), live.close(() => r()))));
    const livePort = (live.address() as net.AddressInfo).port;
    const deadPort = await freePort(); // nothing listens there
    const h = await harness([
      aService(
        { appId: '/k', domains: ['k.lua.test'] },
        withEndpoints(anEndpoint('127.0.0.1', deadPort, 'task.dead'), anEndpoint('127.0.0.1', livePort, 'task.live')),
      ),
    ]);
    const port = h.nginx.httpPort;
    await waitFor(async () => (await httpGet(port, 'k.lua.test')).status === 200, 'serving');
    const refusedBefore = (h.nginx.log().match(/connect\(\) failed/g) ?? []).length;
    const acceptedBefore = accepted;
    for (let i = 0; i < 40; i++) expect(await httpGet(port, 'k.lua.test')).toEqual({ status: 200, body: 'live' });
    // Two workers, each with its own keepalive pool: a handful of connections for 40 requests.
    expect(accepted - acceptedBefore).toBeLessThanOrEqual(4);
    // Round robin would send every second request to the dead endpoint; once it failed, every
    // worker skips it for 5 s (one failure, or one per worker racing).
    const refused = (h.nginx.log().match(/connect\(\) failed/g) ?? []).length - refusedBefore;
    expect(refused).toBeLessThanOrEqual(2);
  }, 60_000);

  it('spreads requests round robin over every endpoint', async () => {
    const bs = await backends(3, 'rr');
    const h = await harness([svc('/rr', 'rr.lua.test', bs)]);
    await waitFor(async () => (await httpGet(h.nginx.httpPort, 'rr.lua.test')).status === 200, 'serving');
    const hits = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const { body } = await httpGet(h.nginx.httpPort, 'rr.lua.test');
      hits.set(body, (hits.get(body) ?? 0) + 1);
    }
    // Each of the two workers cycles through the three endpoints.
    expect([...hits.keys()].sort()).toEqual(['rr0', 'rr1', 'rr2']);
    for (const n of hits.values()) expect(n).toBeGreaterThanOrEqual(5);
  }, 60_000);

  it('malformed dict data or an admin body does not break requests or Nginx; no endpoints answers 503', async () => {
    const [a] = await backends(1, 'm');
    const h = await harness([svc('/good', 'good.lua.test', [a]), svc('/bad', 'bad.lua.test', [a]), svc('/empty', 'empty.lua.test', [])]);
    const port = h.nginx.httpPort;
    await waitFor(async () => (await httpGet(port, 'bad.lua.test')).body === 'm0', 'serving');
    expect((await httpGet(port, 'empty.lua.test')).status).toBe(503);
    const admin = httpLuaAdmin(`http://127.0.0.1:${h.nginx.adminPort}`, 2000);
    // Entries berth would never write (the admin only checks the characters): every endpoint unusable.
    await admin.push(`berth__default__bad garbage 999.1.1.1:99999 [zz]:1 1.2.3.4:0\n`, false);
    for (let i = 0; i < 5; i++) expect((await httpGet(port, 'bad.lua.test')).status).toBe(503);
    expect((await httpGet(port, 'good.lua.test')).body).toBe('m0');
    // A body with a bad line is refused whole: nothing in it is applied.
    await expect(admin.push(`berth__default__good 127.0.0.1:1\nbad;line {}\n`, false)).rejects.toThrow(/HTTP 400/);
    expect((await httpGet(port, 'good.lua.test')).body).toBe('m0');
    expect(h.nginx.log()).toMatch(/ignoring malformed endpoint 'garbage'/);
    expect(h.nginx.log()).not.toMatch(/exited on signal|lua entry thread aborted/);
  }, 60_000);
});
