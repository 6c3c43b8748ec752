/**
 * Proxy option labels with a real Nginx, in both modes (BERTH_NGINX_DYNAMIC=off and lua): a whole
 * berth against the Marathon simulator, staged (every file passed `nginx -t` on the candidate conf
 * before it served). Read timeout → 504 within the bound, body limit → 413, allow-list → 403,
 * and an app using a label forbidden by BERTH_LABELS_DENY is not published (LABEL_DENIED).
 */
import http from 'node:http';
import net from 'node:net';
import { loadConfig } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import { start, type Berth } from '../../src/main';
import { startSimulator } from '../../src/sim';
import { describeWithTools } from '../support/tools';
import { waitFor } from './helpers';
import { firstRunConfirmed, startModeNginx } from './mode-nginx';
import { freePort, httpGet } from './nginx-harness';

jest.setTimeout(120_000);

// One berth, Nginx and simulator per mode, shared by its tests: stopped after the mode's tests.
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

/** A backend that answers `/slow` after 5 s and everything else with the size of the body it read. */
async function optionsBackend(): Promise<number> {
  const server = http.createServer((req, res) => {
    let size = 0;
    req.on('data', (d: Buffer) => (size += d.length));
    req.on('end', () => {
      if (req.url === '/slow') setTimeout(() => res.end('late'), 5000).unref();
      else res.end(`read ${size}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

function request(port: number, host: string, opts: { path?: string; body?: number } = {}): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: opts.body === undefined ? 'GET' : 'POST', path: opts.path ?? '/', headers: { host }, agent: false, timeout: 15_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - started }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(opts.body === undefined ? undefined : Buffer.alloc(opts.body, 'x'));
  });
}

const APPS: Record<string, Record<string, string>> = {
  '/slow': { 'berth.domain': 'slow.berth.test', 'berth.timeout.read': '1', 'berth.timeout.connect': '2' },
  '/small': { 'berth.domain': 'small.berth.test', 'berth.body.max': '1k' },
  '/closed': { 'berth.domain': 'closed.berth.test', 'berth.allow': '192.0.2.0/24,2001:db8::/32' },
  '/open': { 'berth.domain': 'open.berth.test', 'berth.allow': '192.0.2.1,127.0.0.1/32', 'berth.body.max': '2m', 'berth.timeout.read': '30' },
  '/forbidden': { 'berth.domain': 'forbidden.berth.test', 'berth.sticky': 'cookie' },
  '/bad': { 'berth.domain': 'bad.berth.test', 'berth.body.max': '0' },
};

for (const mode of ['off', 'lua'] as const) {
  describeWithTools(mode === 'lua' ? ['nginx-lua'] : ['nginx'], `proxy option labels with a real Nginx (BERTH_NGINX_DYNAMIC=${mode})`, () => {
    let berth: Berth;
    let httpPort: number;
    // tcp services (off mode: the lua harness has no stream {}): one refusing loopback, one allowing it.
    const tcpPorts = { closed: 0, open: 0 };

    afterAll(async () => {
      while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
    });

    beforeAll(async () => {
      const nginx = await startModeNginx(mode);
      cleanups.push(() => nginx.stop());
      const backendPort = await optionsBackend();
      const sim = await startSimulator({ flavour: '1.10', keepaliveMs: 500 });
      cleanups.push(() => sim.close());
      const apps = { ...APPS };
      if (mode === 'off') {
        tcpPorts.closed = await freePort();
        tcpPorts.open = await freePort();
        const tcp = (name: string, port: number, allow: string) => ({
          'berth.domain': `${name}.berth.test`,
          'berth.proxy': 'tcp',
          'berth.listen': String(port),
          'berth.allow': allow,
          'berth.timeout.connect': '2',
        });
        apps['/tcp-closed'] = tcp('tcp-closed', tcpPorts.closed, '192.0.2.0/24');
        apps['/tcp-open'] = tcp('tcp-open', tcpPorts.open, '127.0.0.0/8');
      }
      for (const [id, labels] of Object.entries(apps)) {
        await sim.control.deploy(
          { id, instances: 1, cmd: 'x', portDefinitions: [{ port: 0, name: 'http' }], labels },
          { placeTask: () => ({ host: '127.0.0.1', ports: [backendPort] }) },
        );
      }
      const config = loadConfig({
        BERTH_MARATHON_URLS: sim.url,
        BERTH_DATA_DIR: 'memory://',
        BERTH_HTTP_ADDR: '127.0.0.1:0',
        BERTH_DNS_ADDR: '127.0.0.1:0',
        BERTH_DNS_ZONES: 'berth.test',
        ...nginx.env,
        BERTH_SYNC_INTERVAL_MS: '500',
        BERTH_LABELS_DENY: 'berth.sticky,berth.tls',
        BERTH_LOG_LEVEL: 'silent',
      });
      berth = await start(config, { logger: silentLogger });
      cleanups.push(() => berth.stop());
      httpPort = nginx.httpPort;
      await waitFor(async () => (await httpGet(httpPort, 'open.berth.test').catch(() => null))?.status === 200, 'the option apps to be served', 60_000);
      await waitFor(async () => (await httpGet(httpPort, 'small.berth.test').catch(() => null))?.status === 200, 'the small app to be served', 30_000);
      await firstRunConfirmed(berth.url);
    });

    it('berth.timeout.read: a backend slower than the bound gets 504 within it; a larger bound waits', async () => {
      const r = await request(httpPort, 'slow.berth.test', { path: '/slow' });
      expect(r.status).toBe(504);
      expect(r.ms).toBeGreaterThanOrEqual(900);
      expect(r.ms).toBeLessThan(4500); // the backend answers after 5 s
      expect((await request(httpPort, 'open.berth.test', { path: '/slow' })).status).toBe(200);
    });

    it('berth.body.max: 413 above the limit, 200 at or below it', async () => {
      expect((await request(httpPort, 'small.berth.test', { body: 1024 })).status).toBe(200);
      expect((await request(httpPort, 'small.berth.test', { body: 4096 })).status).toBe(413);
      expect((await request(httpPort, 'open.berth.test', { body: 1024 * 1024 })).status).toBe(200);
    });

    it("the API shows an app's options", async () => {
      const r = (await fetch(`${berth.url}/v1/services`).then((x) => x.json())) as { services: Array<{ appId: string; options?: unknown }> };
      expect(r.services.find((s) => s.appId === '/open')?.options).toEqual({ readTimeout: 30, bodyMax: 2 * 1024 * 1024, allow: ['192.0.2.1', '127.0.0.1/32'] });
    });

    it('berth.allow: 403 for a client outside the list, 200 for one inside it', async () => {
      expect((await httpGet(httpPort, 'closed.berth.test')).status).toBe(403);
      expect((await httpGet(httpPort, 'open.berth.test')).status).toBe(200);
    });

    if (mode === 'off') {
      it('berth.allow on a tcp service: a client outside the list is closed, one inside it is proxied', async () => {
        await waitFor(async () => (await httpGet(tcpPorts.open, 'x').catch(() => null))?.status === 200, 'the open tcp service to be served', 30_000);
        // Nginx listens (not ECONNREFUSED) but closes the connection of a refused client.
        await waitFor(
          async () => !/ECONNREFUSED/.test(String(await httpGet(tcpPorts.closed, 'x').catch((e: Error) => e.message))),
          'the closed tcp service to listen',
        );
        await expect(httpGet(tcpPorts.closed, 'x')).rejects.toThrow(/socket hang up|ECONNRESET/);
      });
    }

    it('a forbidden label (BERTH_LABELS_DENY) or an invalid value keeps the app out, with its problem', async () => {
      const codes = async () => {
        const r = (await fetch(`${berth.url}/v1/problems`).then((x) => x.json())) as { problems: Array<{ appId: string; code: string }> };
        return r.problems.map((p) => `${p.appId} ${p.code}`).sort();
      };
      await waitFor(async () => (await codes()).length >= 2, 'the problems to be stored');
      expect(await codes()).toEqual(['/bad LABEL_BODY_MAX_INVALID', '/forbidden LABEL_DENIED']);
      // Not published: Nginx's default server answers these names.
      expect((await httpGet(httpPort, 'forbidden.berth.test')).status).toBe(404);
      expect((await httpGet(httpPort, 'bad.berth.test')).status).toBe(404);
    });
  });
}
