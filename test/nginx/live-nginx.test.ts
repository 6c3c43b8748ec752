/**
 * berth's http.conf with a real Nginx: confirmed reloads (the generation read back), the port-free
 * check for TCP services, WebSocket upgrades and server name hash sizes computed for the names.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { Registry } from 'prom-client';
import { buildApp } from '../../src/http/app';
import { registerSyncRoutes } from '../../src/http/routes/sync';
import { silentLogger } from '../../src/log';
import type { Service } from '../../src/model/types';
import { commandControl, runCommand, type NginxControl } from '../../src/nginx/command';
import { InMemoryProblemSink } from '../../src/nginx/store';
import { NginxSync } from '../../src/nginx/sync';
import { InMemoryRegistryView } from '../../src/registry/view';
import { nginxReadiness } from '../../src/runtime/nginx';
import { describeWithTools } from '../support/tools';
import { aService, anEndpoint, RecordingStore, waitFor, withEndpoints } from './helpers';
import { freePort, httpGet, stagedSync, startBackend, startEcho, startNginx, type RealNginx } from './nginx-harness';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

interface Live {
  nginx: RealNginx;
  view: InMemoryRegistryView;
  store: RecordingStore;
  sync: NginxSync;
  problems: InMemoryProblemSink;
  /** The reload command berth runs; tests may swap it. */
  reload: { cmd: string };
}

async function live(services: Service[], opts: { intervalMs?: number; confirmTimeoutMs?: number } = {}): Promise<Live> {
  const nginx = await startNginx();
  cleanups.push(() => nginx.stop());
  const reload = { cmd: nginx.reloadCmd };
  // Staged, as recommended: http.conf and the service files are tested through the candidate conf.
  const real = commandControl({ testCmd: nginx.candidateTestCmd, reloadCmd: nginx.reloadCmd, timeoutMs: 10000 });
  const control: NginxControl = { test: (target) => real.test(target), reload: () => runCommand(reload.cmd, 10000) };
  const { view, store, problems, sync } = stagedSync(nginx, services, { control, ...opts });
  cleanups.push(() => sync.stop());
  return { nginx, view, store, sync, problems, reload };
}

async function backend(name: string) {
  const b = await startBackend(name);
  cleanups.push(() => b.close());
  return b;
}

const web = (appId: string, domain: string, port: number) =>
  aService({ appId, domains: [domain] }, withEndpoints(anEndpoint('127.0.0.1', port, `task.${appId.slice(1).replace(/\//g, '-')}`)));

/** The next run that is not `unchanged` (polls and retries may record those in between). */
async function nextWork(store: RecordingStore) {
  for (;;) {
    const run = await store.next();
    if (run.status !== 'unchanged') return run;
  }
}

describeWithTools(['nginx'], 'live nginx: http.conf, confirmed reloads, port check, WebSocket', () => {
  it('a sync reported applied is live: requests sent that very moment reach the new configuration (20 reloads in a row)', async () => {
    const b = await backend('fresh');
    const services = [web('/s0', 's0.berth.test', b.port)];
    const h = await live(services);
    const first = h.store.next();
    await h.sync.start();
    expect(await first).toMatchObject({ status: 'applied', reloaded: true });
    const port = h.nginx.httpPort;
    for (let i = 1; i <= 20; i++) {
      services.push(web(`/s${i}`, `s${i}.berth.test`, b.port));
      const applied = nextWork(h.store);
      h.view.set([...services]);
      expect(await applied).toMatchObject({ status: 'applied', reloaded: true });
      // At once, several fresh connections: none may land on a worker of the old generation (404).
      const answers = await Promise.all(Array.from({ length: 5 }, () => httpGet(port, `s${i}.berth.test`)));
      expect(answers.map((a) => `${a.status} ${a.body}`)).toEqual(Array(5).fill('200 fresh'));
    }
    expect(h.sync.status()).toMatchObject({ unconfirmed: null, generation: expect.stringMatching(/^[0-9a-f]{16}$/) });
    // The generation Nginx answers is the one berth reports.
    const [host, adminPort] = h.nginx.adminListen.split(':');
    const res = await fetch(`http://${host}:${adminPort}/berth/generation`);
    expect((await res.text()).trim()).toBe(h.sync.status().generation);
  }, 120_000);

  it('a reload command that does nothing: the run fails at confirmation, /readyz is 503 naming the problem, and recovers after a real reload', async () => {
    const b = await backend('x');
    const services = [web('/a', 'a.berth.test', b.port)];
    const h = await live(services, { confirmTimeoutMs: 3000 });
    const app = await buildApp({
      logger: silentLogger,
      metricsRegistry: new Registry(),
      apiTokens: [],
      readiness: [nginxReadiness(h.sync)],
      register: (x) => registerSyncRoutes(x, { nginxSync: h.sync, syncRuns: h.store }),
    });
    cleanups.push(() => app.close());
    const first = h.store.next();
    await h.sync.start();
    expect(await first).toMatchObject({ status: 'applied' });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);

    h.reload.cmd = 'true';
    const failed = nextWork(h.store);
    h.view.set([...services, web('/b', 'b.berth.test', b.port)]);
    const run = await failed;
    expect(run).toMatchObject({ status: 'failed', reloaded: true });
    expect(run.error).toMatch(
      /did not confirm generation [0-9a-f]{16} within 3000 ms: Nginx still serves generation [0-9a-f]{16}; the reload did not take effect/,
    );
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(JSON.stringify(ready.json())).toContain('NGINX_RELOAD_UNCONFIRMED');
    expect((await app.inject({ method: 'GET', url: '/v1/sync/status' })).json().unconfirmed).toMatchObject({ reason: run.error });
    // berth keeps retrying the reload; once Nginx really reloads, the retry confirms.
    expect(spawnSync('sh', ['-c', h.nginx.reloadCmd]).status).toBe(0);
    await waitFor(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, '/readyz to recover', 20_000);
    expect(h.sync.status().unconfirmed).toBeNull();
    expect((await httpGet(h.nginx.httpPort, 'b.berth.test')).body).toBe('x');
  }, 60_000);

  it('a TCP port held by another process: that service gets NGINX_PORT_IN_USE, the others ship; it ships once the port is free', async () => {
    const echo = await startEcho('echo:');
    cleanups.push(() => echo.close());
    const b = await backend('web');
    const listen = await freePort();
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(listen, '127.0.0.1', r));
    const tcp = aService({ appId: '/db', proxy: 'tcp', listen, domains: ['db.berth.test'] }, withEndpoints(anEndpoint('127.0.0.1', echo.port)));
    const h = await live([tcp, web('/web', 'web.berth.test', b.port)]);
    const first = h.store.next();
    await h.sync.start();
    expect(await first).toMatchObject({ status: 'applied', reloaded: true, filesWritten: 1 });
    expect((await httpGet(h.nginx.httpPort, 'web.berth.test')).body).toBe('web');
    expect(h.problems.problems.get('NGINX_PORT_IN_USE /db')?.message).toContain(String(listen));
    expect(fs.existsSync(path.join(h.nginx.dir, 'default/stream/db.conf'))).toBe(false);

    await new Promise((r) => squatter.close(r));
    await waitFor(() => !h.problems.problems.has('NGINX_PORT_IN_USE /db'), 'the port to be retested and the problem cleared', 20_000);
    const answer = () =>
      new Promise<string>((resolve, reject) => {
        const s = net.connect(listen, '127.0.0.1', () => s.write('ping'));
        s.setTimeout(3000, () => s.destroy(new Error('timeout')));
        s.once('data', (d) => (resolve(d.toString()), s.destroy()));
        s.on('error', reject);
      });
    await waitFor(async () => (await answer().catch(() => '')) === 'echo:ping', 'bytes through the stream proxy');
    // Now Nginx holds the port: later runs neither probe it nor report it.
    const later = nextWork(h.store);
    h.view.set([tcp, web('/web', 'web.berth.test', b.port), web('/web2', 'web2.berth.test', b.port)]);
    expect(await later).toMatchObject({ status: 'applied' });
    expect(h.problems.problems.size).toBe(0);
  }, 60_000);

  it('an nginx.conf without the http.conf include: the run fails naming the missing include, and no service is blamed', async () => {
    const b = await backend('x');
    const h = await live([web('/a', 'a.berth.test', b.port), web('/b', 'b.berth.test', b.port)]);
    const conf = fs.readFileSync(h.nginx.conf, 'utf8');
    fs.writeFileSync(h.nginx.conf, conf.replace(/^\s*include \S+http\[\.\]conf;$/m, ''));
    expect(fs.readFileSync(h.nginx.conf, 'utf8')).not.toContain('http[.]conf');
    const first = h.store.next();
    await h.sync.start();
    const run = await first;
    expect(run).toMatchObject({ status: 'failed', offenders: [] });
    expect(run.error).toContain('include BERTH_NGINX_DIR/http.conf in http {}');
    expect(h.sync.status().excluded).toEqual([]);
    expect([...h.problems.problems.keys()]).toEqual([]);
  }, 60_000);

  it('passes a WebSocket handshake (101) through, and plain requests keep reusing upstream connections', async () => {
    const sockets = new Set<net.Socket>();
    let plain = 0;
    const server = http.createServer((_req, res) => {
      plain++;
      res.end('plain');
    });
    server.on('connection', (s) => sockets.add(s));
    server.on('upgrade', (req, socket: net.Socket) => {
      socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Seen-Upgrade: ${req.headers.upgrade}\r\n\r\n`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections())));
    const h = await live([web('/ws', 'ws.berth.test', (server.address() as net.AddressInfo).port)]);
    const first = h.store.next();
    await h.sync.start();
    expect(await first).toMatchObject({ status: 'applied' });

    const head = await new Promise<string>((resolve, reject) => {
      const s = net.connect(h.nginx.httpPort, '127.0.0.1', () =>
        s.write(
          'GET /chat HTTP/1.1\r\nHost: ws.berth.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        ),
      );
      let got = '';
      s.setTimeout(5000, () => s.destroy(new Error('no handshake answer')));
      s.on('data', (d) => {
        got += d.toString();
        if (!got.includes('\r\n\r\n')) return;
        resolve(got);
        s.destroy();
      });
      s.on('error', reject);
    });
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(head).toMatch(/x-seen-upgrade: websocket/i);

    const before = sockets.size;
    for (let i = 0; i < 10; i++) expect(await httpGet(h.nginx.httpPort, 'ws.berth.test')).toEqual({ status: 200, body: 'plain' });
    expect(plain).toBe(10);
    // With "Connection: close" towards the upstream each request would need a new connection.
    expect(sockets.size - before).toBeLessThanOrEqual(2);
  }, 60_000);

  it('2,000 services with 62-character names pass nginx -t with the computed hash sizes, without a hash warning', async () => {
    const b = await backend('many');
    const services = Array.from({ length: 2000 }, (_, i) => {
      const domain = `s${String(i).padStart(4, '0')}-`.padEnd(62 - '.berth.test'.length, 'x') + '.berth.test';
      return web(`/many/s${i}`, domain, b.port);
    });
    expect(services[0].domains[0]).toHaveLength(62);
    // Reloading 2,000 server blocks on a busy test machine can take longer than the other tests allow.
    const h = await live(services, { confirmTimeoutMs: 30_000 });
    const first = h.store.next(60_000);
    await h.sync.start();
    expect(await first).toMatchObject({ status: 'applied', filesWritten: 2000, reloaded: true });
    const test = spawnSync('sh', ['-c', h.nginx.testCmd.replace(/ -q$/, '')], { encoding: 'utf8' });
    expect(test.status).toBe(0);
    expect(test.stderr).not.toMatch(/server_names_hash|could not build/);
    expect((await httpGet(h.nginx.httpPort, services[1999].domains[0])).body).toBe('many');
  }, 120_000);
});
