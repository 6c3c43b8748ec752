/**
 * BERTH_NGINX_DYNAMIC side by side (docs/nginx.md "Dynamic endpoints (Lua)"): the same catalog
 * synced into a real Nginx with endpoints in the files (`off`) and in the Lua dict (`lua`), then
 * rounds of 1 % of the apps moving to a new backend. Measured per mode: the time from the registry
 * change until every sampled changed domain answers from its new backend (through Nginx, fresh
 * connections), the reloads and worker generations the rounds caused, and the resident memory of
 * the Nginx workers (/proc).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log';
import type { Service } from '../../src/model/types';
import { commandControl, type NginxControl } from '../../src/nginx/command';
import { httpLuaAdmin } from '../../src/nginx/lua/client';
import { LuaPusher } from '../../src/nginx/lua/pusher';
import { InMemoryProblemSink, InMemorySyncRunStore } from '../../src/nginx/store';
import { NginxSync } from '../../src/nginx/sync';
import { InMemoryRegistryView } from '../../src/registry/view';
import { startLuaNginx } from '../../test/nginx/lua-harness';
import { httpGet, startBackend, startNginx } from '../../test/nginx/nginx-harness';

export interface DynamicRow {
  what: string;
  value: string;
  target: string;
}

type Backend = Awaited<ReturnType<typeof startBackend>>;

const SAMPLE = 10;
const INTERVAL_MS = 1000;

/** App `k`, on the old backends or (moved) on the new one. */
function app(k: number, moved: boolean, oldSet: Backend[], fresh: Backend): Service {
  return {
    env: 'default',
    appId: `/team-${k % 50}/app-${k}`,
    domains: [`app-${k}.team-${k % 50}.berth.internal`],
    proxy: 'http' as const,
    listen: null,
    dns: 'direct' as const,
    portName: 'http',
    servicePort: 8080,
    fixedIp: null,
    endpoints: (moved ? [fresh] : oldSet).map((b, t) => ({ taskId: `app-${k}.${t}`, address: '127.0.0.1', port: b.port, host: 'agent' })),
    version: 'v1',
  };
}

/** The master's children (the workers) with their resident memory, from /proc. */
function workers(prefix: string): Array<{ pid: number; rssKb: number }> {
  const master = Number(fs.readFileSync(path.join(prefix, 'nginx.pid'), 'utf8').trim());
  const out: Array<{ pid: number; rssKb: number }> = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== master) continue;
      out.push({ pid: Number(pid), rssKb: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) });
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

const workerRssMb = (prefix: string) => workers(prefix).reduce((kb, w) => kb + w.rssKb, 0) / 1024;

/** Stops Nginx; workers a master killed under load left behind are ended by their pids. */
async function stopNginx(nginx: { prefix: string; stop(): Promise<void> }): Promise<void> {
  let pids: number[] = [];
  try {
    pids = workers(nginx.prefix).map((w) => w.pid);
  } catch {
    // no pid file: nothing is running
  }
  await nginx.stop();
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function until(cond: () => Promise<boolean>, timeoutMs: number, what: string, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} ${detail()}`.trim());
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function runMode(mode: 'off' | 'lua', apps: number, rounds: number, log: (s: string) => void): Promise<DynamicRow[]> {
  // One worker in both, as startNginx runs, so the memory figures compare.
  const nginx = mode === 'lua' ? await startLuaNginx({ workers: 1 }) : await startNginx();
  const oldSet = await Promise.all(['old-0', 'old-1', 'old-2'].map(startBackend));
  const fresh = await startBackend('new');
  const counts = { reloads: 0 };
  const inner = commandControl({ testCmd: nginx.testCmd, reloadCmd: nginx.reloadCmd, timeoutMs: 120000 });
  const control: NginxControl = { test: () => inner.test(), reload: () => (counts.reloads++, inner.reload()) };
  const view = new InMemoryRegistryView();
  const metrics = new Registry();
  const adminPort = 'adminPort' in nginx ? nginx.adminPort : 0;
  const pusher =
    mode === 'lua'
      ? new LuaPusher({ admin: httpLuaAdmin(`http://127.0.0.1:${adminPort}`, 10000), view, logger: silentLogger, metricsRegistry: metrics })
      : null;
  const sync = new NginxSync({
    dir: nginx.dir,
    templatesDir: path.resolve(__dirname, '../../nginx-templates'),
    httpListen: `127.0.0.1:${nginx.httpPort}`,
    testCmd: nginx.testCmd,
    reloadCmd: nginx.reloadCmd,
    intervalMs: INTERVAL_MS,
    commandTimeoutMs: 120000,
    maxRemovalRatio: 0.5,
    logger: silentLogger,
    metricsRegistry: metrics,
    view,
    store: new InMemorySyncRunStore(),
    problems: new InMemoryProblemSink(),
    control,
    dynamic: mode,
    beforeApply: pusher ? () => pusher.flush() : undefined,
  });
  const moved = new Set<number>();
  // As in the registry, an unchanged app stays the same object from one change to the next.
  let services = Array.from({ length: apps }, (_, k) => app(k, false, oldSet, fresh));
  const domain = (k: number) => `app-${k}.team-${k % 50}.berth.internal`;
  try {
    view.set(services);
    pusher?.start();
    await sync.start();
    await until(
      async () => (await httpGet(nginx.httpPort, domain(apps - 1))).body.startsWith('old-'),
      600000, // a test and two parses of the whole catalog on a busy machine
      `${mode}: the catalog to serve`,
      () => {
        const run = sync.status().lastRun;
        const log = fs.readFileSync(path.join(nginx.prefix, 'error.log'), 'utf8').trim().split('\n').slice(-3).join(' | ');
        return `last sync run ${run?.status ?? 'none'} ${run?.error ?? ''} ${run?.testOutput?.slice(0, 200) ?? ''}; nginx log: ${log.slice(-400)}`;
      },
    );
    log(`${mode}: ${apps} apps serving`);
    await new Promise((r) => setTimeout(r, INTERVAL_MS * 1.5)); // let the first reload settle
    const reloadsBefore = counts.reloads;
    const gensBefore = nginx.reconfigurations();
    const times: number[] = [];
    const step = Math.max(1, Math.round(apps / 100));
    for (let r = 0; r < rounds; r++) {
      const changed = Array.from({ length: Math.ceil(apps / 100) }, (_, i) => (i * step + r + 1) % apps).filter((k) => !moved.has(k));
      for (const k of changed) moved.add(k);
      const sample = changed.filter((_, i) => i % Math.max(1, Math.floor(changed.length / SAMPLE)) === 0).slice(0, SAMPLE);
      const t0 = Date.now();
      services = services.slice();
      for (const k of changed) services[k] = app(k, true, oldSet, fresh);
      view.set(services);
      const pending = new Set(sample);
      await until(
        async () => {
          for (const k of [...pending]) if ((await httpGet(nginx.httpPort, domain(k))).body === 'new') pending.delete(k);
          return pending.size === 0;
        },
        300000, // off: a test and a reload of the whole catalog
        `${mode}: round ${r} to serve`,
      );
      times.push(Date.now() - t0);
      log(`${mode}: round ${r + 1}/${rounds}: ${changed.length} apps changed, sample serving after ${times.at(-1)} ms`);
    }
    await new Promise((r) => setTimeout(r, INTERVAL_MS * 2)); // a reload still due would show now
    const sorted = [...times].sort((a, b) => a - b);
    const p95 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)];
    const label = `${mode}: ${apps} apps, 1 % endpoint change`;
    return [
      { what: `${label}, time until served (p95 of ${rounds})`, value: `${p95} ms`, target: mode === 'lua' ? '≤ 1000 ms' : '' },
      { what: `${label}, reloads over ${rounds} rounds`, value: String(counts.reloads - reloadsBefore), target: mode === 'lua' ? '≤ 0' : '' },
      { what: `${label}, worker generations over ${rounds} rounds`, value: String(nginx.reconfigurations() - gensBefore), target: mode === 'lua' ? '≤ 0' : '' },
      { what: `${mode}: ${apps} apps, Nginx worker RSS`, value: `${workerRssMb(nginx.prefix).toFixed(0)} MB`, target: '' },
    ];
  } finally {
    await sync.stop();
    await pusher?.stop();
    await stopNginx(nginx);
    await Promise.all([...oldSet, fresh].map((b) => b.close()));
    fs.rmSync(nginx.prefix, { recursive: true, force: true });
  }
}

/** Both modes, `off` first; a mode that fails reports why instead of its figures. */
export async function compareDynamic(opts: {
  apps: number;
  rounds: { off: number; lua: number };
  log: (s: string) => void;
  modes?: ReadonlyArray<'off' | 'lua'>;
}): Promise<DynamicRow[]> {
  const rows: DynamicRow[] = [];
  for (const mode of opts.modes ?? (['off', 'lua'] as const)) {
    try {
      rows.push(...(await runMode(mode, opts.apps, opts.rounds[mode], opts.log)));
    } catch (err) {
      rows.push({ what: `${mode}: dynamic endpoint comparison`, value: `failed: ${(err as Error).message.slice(0, 600)}`, target: '' });
    }
  }
  return rows;
}
