/**
 * Path prefixes (`berth.path`) with a real Nginx, in both modes (BERTH_NGINX_DYNAMIC=off and lua): a
 * whole berth against the Marathon simulator, staged (every file passed `nginx -t` on the candidate
 * conf before it served). Several apps share one domain by prefix, with and without strip; the
 * longest prefix wins at segment boundaries; a path no app serves is 404 without a `/` app; a newer
 * app claiming a taken prefix gets PATH_CONFLICT while the older keeps serving; an app whose file
 * Nginx rejects is quarantined while the other apps of its domain keep serving.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { loadConfig } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import { start, type Berth } from '../../src/main';
import { startSimulator, type Simulator } from '../../src/sim';
import { describeWithTools } from '../support/tools';
import { TEMPLATES_DIR, tmpDir, waitFor } from './helpers';
import { firstRunConfirmed, startModeNginx } from './mode-nginx';

jest.setTimeout(180_000);

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

/** A backend that answers `<name> <path it received>`. */
async function echoBackend(name: string): Promise<number> {
  const server = http.createServer((req, res) => res.end(`${name} ${req.url}`));
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

function get(port: number, host: string, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, headers: { host }, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Templates that emit a directive Nginx does not know in the file of an app with `berth.allow`: that
 * app's own file fails `nginx -t`, the locations it adds to a shared domain do not.
 */
function breakingTemplates(): string {
  const dir = tmpDir('berth-paths-tpl-');
  for (const name of ['http.conf.hbs', 'http-lua.conf.hbs', 'stream.conf.hbs']) {
    const good = fs.readFileSync(path.join(TEMPLATES_DIR, name), 'utf8');
    fs.writeFileSync(path.join(dir, name), good.replace('upstream {{upstream}} {', '{{#if allow}}\nnot_a_directive;\n{{/if}}\nupstream {{upstream}} {'));
  }
  return dir;
}

const SHOP = 'shop.berth.test';
const LONE = 'lone.berth.test';

const APPS: Record<string, Record<string, string>> = {
  '/web': { 'berth.domain': SHOP, 'berth.dns': 'proxy' },
  '/api': { 'berth.domain': SHOP, 'berth.path': '/api/', 'berth.path.strip': 'true' },
  '/v2': { 'berth.domain': SHOP, 'berth.path': '/api/v2' },
  '/lone': { 'berth.domain': LONE, 'berth.path': '/only' },
};

for (const mode of ['off', 'lua'] as const) {
  describeWithTools(mode === 'lua' ? ['nginx-lua'] : ['nginx'], `path prefixes with a real Nginx (BERTH_NGINX_DYNAMIC=${mode})`, () => {
    let berth: Berth;
    let sim: Simulator;
    let port: number;
    const deploy = async (id: string, labels: Record<string, string>) => {
      const backend = await echoBackend(id);
      await sim.control.deploy(
        { id, instances: 1, cmd: 'x', portDefinitions: [{ port: 0, name: 'http' }], labels },
        { placeTask: () => ({ host: '127.0.0.1', ports: [backend] }) },
      );
    };
    const problems = async () => {
      const r = (await fetch(`${berth.url}/v1/problems`).then((x) => x.json())) as { problems: Array<{ appId: string; code: string }> };
      return r.problems.map((p) => `${p.appId} ${p.code}`).sort();
    };
    /** `pred` holds 5 times in a row: old workers may still answer for a moment after a reload. */
    const until = async (host: string, urlPath: string, body: string, what: string) => {
      let streak = 0;
      await waitFor(
        async () => {
          const r = await get(port, host, urlPath).catch(() => null);
          streak = r?.status === 200 && r.body === body ? streak + 1 : 0;
          return streak >= 5;
        },
        what,
        60_000,
      );
    };

    afterAll(async () => {
      while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
    });

    beforeAll(async () => {
      const nginx = await startModeNginx(mode);
      cleanups.push(() => nginx.stop());
      sim = await startSimulator({ flavour: '1.10', keepaliveMs: 500 });
      cleanups.push(() => sim.close());
      for (const [id, labels] of Object.entries(APPS)) await deploy(id, labels);
      const config = loadConfig({
        BERTH_MARATHON_URLS: sim.url,
        BERTH_DATA_DIR: 'memory://',
        BERTH_HTTP_ADDR: '127.0.0.1:0',
        BERTH_DNS_ADDR: '127.0.0.1:0',
        BERTH_DNS_ZONES: 'berth.test',
        ...nginx.env,
        BERTH_NGINX_TEMPLATES: breakingTemplates(),
        BERTH_SYNC_INTERVAL_MS: '500',
        BERTH_LOG_LEVEL: 'silent',
      });
      berth = await start(config, { logger: silentLogger });
      cleanups.push(() => berth.stop());
      port = nginx.httpPort;
      await until(SHOP, '/api/v2/x', '/v2 /api/v2/x', 'the shared domain to be served');
      await firstRunConfirmed(berth.url);
    });

    it('routes each prefix to its app; strip removes the prefix and keeps the query; without strip the path is unchanged', async () => {
      expect(await get(port, SHOP, '/api/users?x=1')).toEqual({ status: 200, body: '/api /users?x=1' });
      expect(await get(port, SHOP, '/api')).toEqual({ status: 200, body: '/api /' });
      expect(await get(port, SHOP, '/api/')).toEqual({ status: 200, body: '/api /' });
      expect(await get(port, SHOP, '/api/v2')).toEqual({ status: 200, body: '/v2 /api/v2' });
      expect(await get(port, SHOP, '/api/v2/items?page=2')).toEqual({ status: 200, body: '/v2 /api/v2/items?page=2' });
    });

    it('the longest prefix wins at segment boundaries; everything else goes to the / app', async () => {
      expect(await get(port, SHOP, '/api/v2x')).toEqual({ status: 200, body: '/api /v2x' });
      expect(await get(port, SHOP, '/apiary')).toEqual({ status: 200, body: '/web /apiary' });
      expect(await get(port, SHOP, '/')).toEqual({ status: 200, body: '/web /' });
      expect(await get(port, SHOP, '/other/page')).toEqual({ status: 200, body: '/web /other/page' });
    });

    it('without a / app a path no app serves is 404, never another site', async () => {
      await until(LONE, '/only/x', '/lone /only/x', 'the lone path app to be served');
      expect((await get(port, LONE, '/')).status).toBe(404);
      expect((await get(port, LONE, '/onlyx')).status).toBe(404);
      expect((await get(port, LONE, '/api/users')).status).toBe(404);
    });

    it('a newer app claiming a taken prefix gets PATH_CONFLICT; the older keeps serving', async () => {
      await deploy('/api-late', { 'berth.domain': SHOP, 'berth.path': '/api' });
      await waitFor(async () => (await problems()).includes('/api-late PATH_CONFLICT'), 'the conflict to be reported', 30_000);
      for (let i = 0; i < 5; i++) expect(await get(port, SHOP, '/api/users')).toEqual({ status: 200, body: '/api /users' });
    });

    it('an app whose file Nginx rejects is quarantined; the other apps of its domain keep serving and later changes ship', async () => {
      await deploy('/broken', { 'berth.domain': SHOP, 'berth.path': '/broken', 'berth.allow': '127.0.0.0/8' });
      await waitFor(async () => (await problems()).includes('/broken NGINX_CONFIG_REJECTED'), 'the broken app to be quarantined', 60_000);
      for (let i = 0; i < 5; i++) {
        expect(await get(port, SHOP, '/api/users')).toEqual({ status: 200, body: '/api /users' });
        expect(await get(port, SHOP, '/api/v2/a')).toEqual({ status: 200, body: '/v2 /api/v2/a' });
        expect(await get(port, SHOP, '/')).toEqual({ status: 200, body: '/web /' });
      }
      // The shared domain's file is rendered without the quarantined app: a new prefix on it ships.
      await deploy('/docs', { 'berth.domain': SHOP, 'berth.path': '/docs', 'berth.path.strip': 'true' });
      await until(SHOP, '/docs/guide', '/docs /guide', 'a new path app on the shared domain to be served');
      await waitFor(
        async () => (await problems()).filter((p) => p.includes('NGINX_CONFIG_REJECTED')).join() === '/broken NGINX_CONFIG_REJECTED',
        'only the broken app to stay quarantined',
        30_000,
      );
      expect(await get(port, SHOP, '/broken/x')).toEqual({ status: 200, body: '/web /broken/x' });
    });
  });
}
