import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log';
import { InMemoryRegistryView } from '../../src/registry/view';
import { buildApp } from '../../src/http/app';
import { registerSyncRoutes } from '../../src/http/routes/sync';
import { commandControl, type NginxControl } from '../../src/nginx/command';
import { InMemoryProblemSink } from '../../src/nginx/store';
import { NginxSync } from '../../src/nginx/sync';
import type { Service } from '../../src/model/types';
import { aService, anEndpoint, RecordingStore, TEMPLATES_DIR, tmpDir, waitFor, withEndpoints } from './helpers';
import { describeWithTools } from '../support/tools';
import { freePort, httpGet, stagedSync, startBackend, startEcho, startNginx, type RealNginx } from './nginx-harness';

interface Harness {
  nginx: RealNginx;
  view: InMemoryRegistryView;
  store: RecordingStore;
  sync: NginxSync;
  counts: { reloads: number; tests: number };
  problems: InMemoryProblemSink;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function harness(opts: { intervalMs?: number; templatesDir?: string; services?: Service[] } = {}): Promise<Harness> {
  const nginx = await startNginx();
  cleanups.push(() => nginx.stop());
  // Staged, as an operator with BERTH_NGINX_MAIN_CONF runs it: each test checks the candidate conf.
  const real = commandControl({ testCmd: nginx.candidateTestCmd, reloadCmd: nginx.reloadCmd, timeoutMs: 10000 });
  const counts = { reloads: 0, tests: 0 };
  const control: NginxControl = {
    test: (target) => (counts.tests++, real.test(target)),
    reload: () => (counts.reloads++, real.reload()),
  };
  const { view, store, problems, sync } = stagedSync(nginx, opts.services ?? [], {
    control,
    templatesDir: opts.templatesDir ?? TEMPLATES_DIR,
    intervalMs: opts.intervalMs ?? 200,
    maxRemovalRatio: 0.5,
  });
  cleanups.push(() => sync.stop());
  return { nginx, view, store, sync, counts, problems };
}

/**
 * Waits until requests for `host` satisfy `pred` 5 times in a row: nginx reloads asynchronously, and
 * old workers still answer for a moment after the new generation started.
 */
async function until(port: number, host: string, pred: (r: { status: number; body: string }) => boolean, what: string) {
  let streak = 0;
  await waitFor(async () => {
    streak = pred(await httpGet(port, host).catch(() => ({ status: 0, body: '' }))) ? streak + 1 : 0;
    return streak >= 5;
  }, what);
}

async function backends(...names: string[]) {
  const list = await Promise.all(names.map(startBackend));
  cleanups.push(async () => void (await Promise.all(list.map((b) => b.close()))));
  return list;
}

const svc = (env: string, appId: string, domain: string, bs: Array<{ port: number; name: string }>, over: Partial<Service> = {}) =>
  aService({ env, appId, domains: [domain], ...over }, withEndpoints(...bs.map((b) => anEndpoint('127.0.0.1', b.port, `task.${b.name}`))));

describeWithTools(['nginx'], 'real nginx', () => {
  it('routes by Host to the right backend in two environments, and follows scaling up and down', async () => {
    const [prod, qa, extra] = await backends('prod-1', 'qa-1', 'prod-2');
    const h = await harness({ services: [svc('default', '/web', 'web.berth.test', [prod]), svc('qa-1', '/web', 'web.qa-1.berth.test', [qa])] });
    await h.sync.start();
    const port = h.nginx.httpPort;
    await until(port, 'web.berth.test', (r) => r.body === 'prod-1', 'default env routed');
    expect(await httpGet(port, 'web.qa-1.berth.test')).toEqual({ status: 200, body: 'qa-1' });
    expect((await httpGet(port, 'unknown.berth.test')).status).toBe(404);

    h.view.set([svc('default', '/web', 'web.berth.test', [prod, extra]), svc('qa-1', '/web', 'web.qa-1.berth.test', [qa])]);
    const seen = new Set<string>();
    await waitFor(async () => {
      seen.add((await httpGet(port, 'web.berth.test')).body);
      return seen.has('prod-1') && seen.has('prod-2');
    }, 'both backends to serve after scaling up');

    h.view.set([svc('default', '/web', 'web.berth.test', [extra]), svc('qa-1', '/web', 'web.qa-1.berth.test', [qa])]);
    await until(port, 'web.berth.test', (r) => r.body === 'prod-2', 'scaled down');
    for (let i = 0; i < 10; i++) expect((await httpGet(port, 'web.berth.test')).body).toBe('prod-2');

    // Zero endpoints: the name still exists and answers 503, it does not fall through to another site.
    h.view.set([svc('default', '/web', 'web.berth.test', [extra]), svc('qa-1', '/web', 'web.qa-1.berth.test', [])]);
    await until(port, 'web.qa-1.berth.test', (r) => r.status === 503, 'empty service answers 503');
  });

  it('requests keep succeeding through a rolling restart', async () => {
    const [a, b] = await backends('v1-a', 'v1-b');
    const h = await harness({ services: [svc('default', '/app', 'app.berth.test', [a, b])] });
    await h.sync.start();
    const port = h.nginx.httpPort;
    await until(port, 'app.berth.test', (r) => r.status === 200, 'app routed');
    let stop = false;
    const results = { ok: 0, failed: [] as string[] };
    const load = (async () => {
      while (!stop) {
        const r = await httpGet(port, 'app.berth.test').catch((e: Error) => ({ status: 0, body: e.message }));
        if (r.status === 200) results.ok++;
        else results.failed.push(`${r.status} ${r.body.slice(0, 80)}`);
      }
    })();
    // Marathon's order: start the new task, it becomes healthy (added), the old one is killed
    // (TASK_KILLING removes it), then it exits.
    let current = [a, b];
    for (const name of ['v2-a', 'v2-b']) {
      const [fresh] = await backends(name);
      current = [...current, fresh];
      h.view.set([svc('default', '/app', 'app.berth.test', current)]);
      await waitFor(async () => (await httpGet(port, 'app.berth.test').catch(() => null))?.body === name, `${name} serving`);
      const old = current[0];
      current = current.slice(1);
      h.view.set([svc('default', '/app', 'app.berth.test', current)]);
      await h.store.next();
      await old.close();
    }
    await until(port, 'app.berth.test', (r) => r.body.startsWith('v2-'), 'only v2 serving');
    // A task that dies before Marathon reports it: nginx retries the other one.
    await current[0].close();
    const during = results.ok;
    await waitFor(() => results.ok >= during + 20, '20 more requests after the crash');
    stop = true;
    await load;
    expect(results.failed).toEqual([]);
    expect(results.ok).toBeGreaterThan(40);
  });

  it('proxies TCP bytes through the stream block', async () => {
    const echo = await startEcho('echo:');
    cleanups.push(() => echo.close());
    const listen = await freePort();
    const h = await harness({
      services: [aService({ appId: '/db', proxy: 'tcp', listen, domains: ['db.berth.test'] }, withEndpoints(anEndpoint('127.0.0.1', echo.port)))],
    });
    await h.sync.start();
    const answer = async () =>
      new Promise<string>((resolve, reject) => {
        const s = net.connect(listen, '127.0.0.1', () => s.write('ping'));
        s.setTimeout(3000, () => s.destroy(new Error('timeout')));
        s.once('data', (data) => {
          resolve(data.toString());
          s.destroy();
        });
        s.on('error', reject);
      });
    await waitFor(async () => (await answer().catch(() => '')) === 'echo:ping', 'bytes through the stream proxy');
  });

  it('a burst of 1,000 registry changes within one interval causes exactly one reload and one worker generation', async () => {
    const [a] = await backends('burst');
    const h = await harness({ intervalMs: 1500, services: [svc('default', '/b', 'b.berth.test', [a])] });
    await h.sync.start();
    await h.store.next();
    await until(h.nginx.httpPort, 'b.berth.test', (r) => r.body === 'burst', 'initial');
    const reloads = h.counts.reloads;
    await waitFor(() => h.nginx.reconfigurations() === reloads, 'nginx to log the initial reload');
    const generations = h.nginx.reconfigurations();
    const services = (i: number) => Array.from({ length: 20 }, (_, k) => svc('default', `/s${k}`, `s${k}.berth.test`, [a], { version: `v${i}` }));
    for (let i = 0; i < 1000; i++) h.view.set([svc('default', '/b', 'b.berth.test', [a]), ...services(i)]);
    const run = await h.store.next();
    expect(run).toMatchObject({ status: 'applied', reloaded: true, position: 1001 });
    expect(h.counts.reloads - reloads).toBe(1);
    await waitFor(() => h.nginx.reconfigurations() > generations, 'nginx to reconfigure');
    await until(h.nginx.httpPort, 's19.berth.test', (r) => r.body === 'burst', 'burst services routed');
    // The next poll finds nothing new: still one reload, one new worker generation.
    const after = h.store.next(3 * 1500).catch(() => null);
    expect(await after).toBeNull();
    expect(h.counts.reloads - reloads).toBe(1);
    expect(h.nginx.reconfigurations() - generations).toBe(1);
  });

  it('a service whose config fails nginx -t never reaches the live folder; the other changes ship in the same run, with one reload', async () => {
    const templatesDir = tmpDir('berth-tpl-');
    const good = fs.readFileSync(path.join(TEMPLATES_DIR, 'http.conf.hbs'), 'utf8');
    // The operator's template emits a directive nginx does not know for apps with a named port.
    fs.writeFileSync(
      path.join(templatesDir, 'http.conf.hbs'),
      good.replace('    server_name {{serverNames}};', '    server_name {{serverNames}};\n{{#if portName}}    not_a_directive {{portName}};\n{{/if}}'),
    );
    fs.copyFileSync(path.join(TEMPLATES_DIR, 'stream.conf.hbs'), path.join(templatesDir, 'stream.conf.hbs'));
    const [a, b, c] = await backends('a', 'b', 'c');
    const h = await harness({ templatesDir, services: [svc('default', '/ok', 'ok.berth.test', [a])] });
    await h.sync.start();
    await until(h.nginx.httpPort, 'ok.berth.test', (r) => r.body === 'a', 'ok routed');
    await waitFor(() => h.store.all.length > 0, 'the first run to be recorded (after its confirmation)');
    /** The live folder as Nginx sees it (dot entries are berth's staging, which no include glob reads). */
    const snapshot = () => {
      const out: Record<string, string> = {};
      const walk = (rel: string) => {
        for (const e of fs.readdirSync(path.join(h.nginx.dir, rel), { withFileTypes: true })) {
          const p = path.join(rel, e.name);
          if (e.name.startsWith('.')) continue;
          if (e.isDirectory()) walk(p);
          else out[p] = fs.readFileSync(path.join(h.nginx.dir, p), 'utf8');
        }
      };
      walk('');
      return out;
    };
    const before = snapshot();
    const reloads = h.counts.reloads;
    h.view.set([svc('default', '/ok', 'ok.berth.test', [b]), svc('default', '/broken', 'broken.berth.test', [c], { portName: 'web' })]);
    const run = await h.store.next();
    expect(run).toMatchObject({ status: 'applied', reloaded: true, filesWritten: 1, offenders: [{ env: 'default', appId: '/broken' }] });
    expect(run.testOutput).toContain('not_a_directive');
    expect(h.counts.reloads).toBe(reloads + 1);
    const after = snapshot();
    expect(Object.keys(after)).toEqual(Object.keys(before));
    expect(after['default/http/ok.conf']).toContain(`127.0.0.1:${b.port}`);
    expect(fs.existsSync(path.join(h.nginx.dir, '.staging/default/http/broken.conf'))).toBe(false); // staging is live's mirror again
    expect(h.problems.problems.get('NGINX_CONFIG_REJECTED /broken')).toBeDefined();
    await until(h.nginx.httpPort, 'ok.berth.test', (r) => r.body === 'b', '/ok change shipped');
    // And later changes too.
    h.view.set([svc('default', '/ok', 'ok.berth.test', [c]), svc('default', '/broken', 'broken.berth.test', [c], { portName: 'web' })]);
    expect(await h.store.next()).toMatchObject({ status: 'applied' });
    await until(h.nginx.httpPort, 'ok.berth.test', (r) => r.body === 'c', 'later /ok change shipped');
  });

  it('an empty catalog is held (traffic keeps flowing), visible in the API, and applied only after POST /v1/sync/release', async () => {
    const [a, b, c] = await backends('a', 'b', 'c');
    const h = await harness({ services: [svc('default', '/one', 'one.berth.test', [a, b]), svc('default', '/two', 'two.berth.test', [c])] });
    const app = await buildApp({
      logger: silentLogger,
      metricsRegistry: new Registry(),
      apiTokens: [],
      readiness: [],
      register: (x) => registerSyncRoutes(x, { nginxSync: h.sync, syncRuns: h.store }),
    });
    cleanups.push(() => app.close());
    await h.sync.start();
    const port = h.nginx.httpPort;
    await until(port, 'two.berth.test', (r) => r.body === 'c', 'routed');
    await waitFor(() => h.store.all.length > 0, 'the first run to be recorded (after its confirmation)');
    // A transient empty Marathon answer.
    h.view.set([]);
    expect(await h.store.next()).toMatchObject({ status: 'held', heldReason: expect.stringContaining('would remove all') });
    expect((await httpGet(port, 'two.berth.test')).body).toBe('c');
    const status = (await app.inject({ method: 'GET', url: '/v1/sync/status' })).json();
    expect(status.held.reason).toContain('would remove all');
    const runs = (await app.inject({ method: 'GET', url: '/v1/sync/runs' })).json().runs;
    expect(runs[0]).toMatchObject({ status: 'held' });
    // 2 of 3 servers going is above the 0.5 ratio: still held.
    h.view.set([svc('default', '/two', 'two.berth.test', [c])]);
    expect(await h.store.next()).toMatchObject({ status: 'held', heldReason: expect.stringContaining('2 of 3') });
    expect((await httpGet(port, 'one.berth.test')).body).toMatch(/^[ab]$/);
    const released = await app.inject({ method: 'POST', url: '/v1/sync/release' });
    expect(released.json()).toMatchObject({ released: true, run: { status: 'applied', reloaded: true, filesRemoved: 1 } });
    await until(port, 'one.berth.test', (r) => r.status === 404, '/one gone after release');
    expect((await httpGet(port, 'two.berth.test')).body).toBe('c');
    expect((await app.inject({ method: 'GET', url: '/v1/sync/status' })).json().held).toBeNull();
  });

  it('nginx -t accepts the edge cases the validator lets through', async () => {
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`; // 253 characters
    expect(long).toHaveLength(253);
    const listen = await freePort();
    const h = await harness({
      services: [
        aService({ appId: '/long', domains: [long, 'x--y.berth.test', '0.berth.test'] }, withEndpoints(anEndpoint('::1', 8080), anEndpoint('127.0.0.1', 8081))),
        aService({ appId: '/a.b/c-d', domains: ['odd.berth.test'] }),
        aService({ appId: '/tcp-empty', proxy: 'tcp', listen, domains: ['tcp.berth.test'] }),
        aService({ appId: '/six', env: 'qa', proxy: 'tcp', listen: await freePort(), domains: ['six.berth.test'] }, withEndpoints(anEndpoint('::1', 5432))),
      ],
    });
    await h.sync.start();
    const run = await h.store.next();
    expect(run).toMatchObject({ status: 'applied', filesWritten: 4, reloaded: true, offenders: [] });
    await until(h.nginx.httpPort, 'odd.berth.test', (r) => r.status === 503, 'empty service answers 503');
  });

  it('two environments sharing this nginx and one TCP port: nginx -t fails, the later one is held back, the other ships in the same run', async () => {
    const echo = await startEcho('e:');
    cleanups.push(() => echo.close());
    const listen = await freePort();
    const h = await harness({ services: [] });
    await h.sync.start();
    await h.store.next();
    const tcp = (env: string, appId: string) =>
      aService({ env, appId, proxy: 'tcp', listen, domains: ['db.berth.test'] }, withEndpoints(anEndpoint('127.0.0.1', echo.port)));
    h.view.set([tcp('default', '/db'), tcp('qa', '/db')]);
    const run = await h.store.next();
    expect(run).toMatchObject({ status: 'applied', filesWritten: 1, offenders: [{ env: 'qa', appId: '/db' }] });
    expect(run.testOutput).toMatch(/duplicate/);
    expect(fs.existsSync(path.join(h.nginx.dir, 'default/stream/db.conf'))).toBe(true);
    expect(fs.existsSync(path.join(h.nginx.dir, 'qa/stream/db.conf'))).toBe(false);
  });
});
