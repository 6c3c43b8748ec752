/**
 * A whole berth (`start()` from src/main.ts, as `berth run` builds it) with BERTH_NGINX_DYNAMIC=lua
 * against the Marathon simulator and a real Nginx whose main conf only includes berth's files: the
 * Lua dicts, init and admin locations reach Nginx through berth's http.conf (staged, tested in the
 * candidate conf, confirmed by the generation), and a scale change serves without a reload.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import { start, type Berth } from '../../src/main';
import { startSimulator, type Simulator } from '../../src/sim';
import { describeWithTools } from '../support/tools';
import { waitFor } from './helpers';
import { httpGet, startBackend } from './nginx-harness';
import { startLuaNginx, type LuaNginx } from './lua-harness';

jest.setTimeout(90_000);

const DOMAIN = 'web.berth.test';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

interface Readyz {
  status: number;
  checks: Record<string, { ok: boolean }>;
}

async function readyz(berth: Berth): Promise<Readyz> {
  const r = await fetch(`${berth.url}/readyz`);
  const body = (await r.json()) as { checks?: Readyz['checks'] };
  return { status: r.status, checks: body.checks ?? {} };
}

async function dictUpstreams(nginx: LuaNginx): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${nginx.adminPort}/berth/state`).catch(() => null);
  if (!r?.ok) return 0;
  return ((await r.json()) as { upstreams: number }).upstreams;
}

describeWithTools(['nginx-lua'], 'berth in lua mode with a real Nginx (whole daemon, simulator)', () => {
  let nginx: LuaNginx;
  let sim: Simulator;
  let berth: Berth;

  it('serves through http.conf, serves a scaled-up task within 1 s without a reload, and is ready only once the dict is filled', async () => {
    nginx = await startLuaNginx({ berthHttpConf: true });
    cleanups.push(() => nginx.stop());
    const backends = await Promise.all(['b0', 'b1'].map((n) => startBackend(n)));
    cleanups.push(async () => void (await Promise.all(backends.map((b) => b.close()))));
    sim = await startSimulator({ flavour: '1.10', keepaliveMs: 500 });
    cleanups.push(() => sim.close());
    // Task i runs on backend i: the new task of a scale-up is the second backend.
    const placeTask = (_def: unknown, i: number) => ({ host: '127.0.0.1', ports: [backends[i % backends.length].port] });
    await sim.control.deploy(
      { id: '/web', instances: 1, cmd: 'x', portDefinitions: [{ port: 0, name: 'http' }], labels: { 'berth.domain': DOMAIN } },
      { placeTask },
    );

    const config = loadConfig({
      BERTH_MARATHON_URLS: sim.url,
      BERTH_DATA_DIR: 'memory://',
      BERTH_HTTP_ADDR: '127.0.0.1:0',
      BERTH_DNS_ADDR: '127.0.0.1:0',
      BERTH_DNS_ZONES: 'berth.test',
      BERTH_NGINX_DIR: nginx.dir,
      BERTH_NGINX_MAIN_CONF: nginx.conf,
      BERTH_NGINX_TEST_CMD: nginx.testCmd,
      BERTH_NGINX_RELOAD_CMD: nginx.reloadCmd,
      BERTH_NGINX_ADMIN_LISTEN: `127.0.0.1:${nginx.adminPort}`,
      BERTH_NGINX_CONFIRM_TIMEOUT_MS: '15000', // the test machine is shared and may be busy
      BERTH_NGINX_ERROR_LOG: path.join(nginx.prefix, 'error.log'),
      BERTH_NGINX_HTTP_LISTEN: `127.0.0.1:${nginx.httpPort}`,
      BERTH_NGINX_DYNAMIC: 'lua',
      BERTH_SYNC_INTERVAL_MS: '2000',
      BERTH_LOG_LEVEL: 'silent',
    });
    berth = await start(config, { logger: silentLogger });
    cleanups.push(() => berth.stop());

    // Ready only once the dict holds the endpoints: each 200 is checked against the dict right after.
    let sawNotReady = false;
    await waitFor(
      async () => {
        const r = await readyz(berth);
        if (r.status !== 200) {
          sawNotReady = true;
          return false;
        }
        expect(await dictUpstreams(nginx)).toBeGreaterThanOrEqual(1);
        return true;
      },
      'berth to become ready',
      60_000,
    );
    expect(sawNotReady).toBe(true); // Nginx had no dict (no http.conf yet) when berth started
    const ready = await readyz(berth);
    expect(ready.checks['nginx-lua']?.ok).toBe(true);
    expect(ready.checks.nginx?.ok).toBe(true);

    // The Lua lines came from berth's http.conf, next to the generation berth confirms.
    const httpConf = fs.readFileSync(path.join(nginx.dir, 'http.conf'), 'utf8');
    expect(httpConf).toMatch(/lua_shared_dict berth_endpoints /);
    expect(httpConf).toMatch(/location = \/berth\/generation[\s\S]*location = \/berth\/endpoints[\s\S]*location = \/berth\/state/);
    const generation = /# generation ([0-9a-z]+)/.exec(httpConf)![1];
    const answered = await fetch(`http://127.0.0.1:${nginx.adminPort}/berth/generation`).then((r) => r.text());
    expect(answered.trim()).toBe(generation);
    expect(berth.nginx.status()).toMatchObject({ generation, unconfirmed: null });
    expect((await httpGet(nginx.httpPort, DOMAIN)).body).toBe('b0');

    // Scale up: the new task is served within 1 s of Marathon reporting it, without a worker generation.
    await waitFor(() => nginx.reconfigurations() >= 1, 'nginx to log the reload that loaded http.conf');
    const generations = nginx.reconfigurations();
    const scaled = Date.now();
    await sim.control.scale('/web', 2, { placeTask });
    const seen = new Set<string>();
    await waitFor(
      async () => {
        seen.add((await httpGet(nginx.httpPort, DOMAIN)).body);
        return seen.has('b1');
      },
      'the scaled-up task to be served',
      5_000,
    );
    const servedAfterMs = Date.now() - scaled;
    console.log(`lua mode, whole berth: a scaled-up task served ${servedAfterMs} ms after the scale request`);
    expect(servedAfterMs).toBeLessThan(1000);
    // The file sync looks at the scale change too, and finds nothing to write or reload.
    await waitFor(() => {
      const run = berth.nginx.status().lastRun;
      return run !== null && Date.parse(run.startedAt) >= scaled;
    }, 'a sync run after the scale change');
    expect(berth.nginx.status().lastRun?.status).toBe('unchanged');
    expect(nginx.reconfigurations()).toBe(generations);
    expect((await readyz(berth)).status).toBe(200);
  });
});
