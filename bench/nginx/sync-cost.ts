/**
 * What one Nginx sync run costs at scale, and how long it holds the event loop (docs/performance.md):
 * a first full run, a run with nothing changed, and a run with 1 % of the services changed, on a
 * catalog of 10,000 apps / 30,000 tasks (`--quick`: 2,000), no test or reload command (the cost of
 * berth's own part). Unchanged services keep their object identity between runs, as the registry
 * view hands them out.
 *
 *   node --import tsx bench/nginx/sync-cost.ts [--quick] [--apps N]
 *   node --import tsx bench/nginx/sync-cost.ts --repeat 10 --profile /tmp/steady.cpuprofile
 */
import fs from 'node:fs';
import inspector from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log';
import type { Service } from '../../src/model/types';
import { InMemoryProblemSink, InMemorySyncRunStore, type SyncRun } from '../../src/nginx/store';
import { NginxSync } from '../../src/nginx/sync';
import { InMemoryRegistryView } from '../../src/registry/view';

const repo = path.resolve(__dirname, '../..');

/** App `k` with its endpoints on port `31000 + gen`. */
export function benchService(k: number, gen = 0, tasks = 3): Service {
  return {
    env: ['default', 'qa-1', 'qa-2'][k % 3],
    appId: `/team-${k % 50}/app-${k}`,
    domains: [`app-${k}.team-${k % 50}.berth.internal`],
    proxy: 'http' as const,
    listen: null,
    dns: 'direct' as const,
    portName: 'http',
    servicePort: 8080,
    fixedIp: null,
    endpoints: Array.from({ length: tasks }, (_, t) => ({
      taskId: `team-${k % 50}_app-${k}.${t}`,
      address: `10.${(k >> 8) & 255}.${k & 255}.${t + 1}`,
      port: 31000 + gen,
      host: 'agent',
    })),
    version: 'v1',
  };
}

export interface SyncCost {
  what: string;
  ms: number;
  /** CPU time of the process during the run (the machine may be shared: less skewed than `ms`). */
  cpuMs: number;
  /** The kernel's share of `cpuMs` (file system calls: creating 10,000 files costs the kernel hundreds of ms on its own). */
  sysMs: number;
  /** Longest the event loop was held during the run. */
  maxDelayMs: number;
  /**
   * The most CPU time the process used between two ticks of the timer: the longest hold in work
   * done, which a loaded machine does not stretch (a process waiting for a core holds the loop
   * as long in wall time without using CPU). Threads other than the loop's (the collector's
   * helpers) count too.
   */
  maxHeldCpuMs: number;
  status: string;
  filesWritten: number;
}

/** Runs the three syncs in a scratch folder; returns their costs. */
export async function measureSyncCost(apps: number, repeat = 0, profile?: string): Promise<SyncCost[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-sync-cost-'));
  const view = new InMemoryRegistryView();
  const sync = new NginxSync({
    dir,
    templatesDir: path.join(repo, 'nginx-templates'),
    httpListen: '127.0.0.1:8080',
    testCmd: '',
    reloadCmd: '',
    intervalMs: 1000,
    commandTimeoutMs: 60000,
    maxRemovalRatio: 0.5,
    logger: silentLogger,
    metricsRegistry: new Registry(),
    view,
    store: new InMemorySyncRunStore(),
    problems: new InMemoryProblemSink(),
  });
  const out: SyncCost[] = [];
  const measure = async (what: string, run: () => Promise<SyncRun>) => {
    // The longest gap between the ticks of a 1 ms timer is the longest the loop was held.
    let last = performance.now();
    let lastCpu = process.cpuUsage();
    let held = 0;
    let heldCpu = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      const cpu = process.cpuUsage(lastCpu);
      held = Math.max(held, now - last);
      heldCpu = Math.max(heldCpu, (cpu.user + cpu.system) / 1000);
      last = now;
      lastCpu = process.cpuUsage();
    }, 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    held = 0;
    heldCpu = 0;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const r = await run();
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    await new Promise((resolve) => setTimeout(resolve, 5)); // the tick that ends the last slice
    clearInterval(timer);
    out.push({
      what,
      ms,
      cpuMs: (cpu.user + cpu.system) / 1000,
      sysMs: cpu.system / 1000,
      maxDelayMs: held,
      maxHeldCpuMs: heldCpu,
      status: r.status,
      filesWritten: r.filesWritten,
    });
  };
  try {
    view.set(Array.from({ length: apps }, (_, k) => benchService(k)));
    await measure(`first full run, ${apps} services`, () => sync.syncNow());
    await measure('nothing changed', () => sync.syncNow());
    await measure('nothing changed (again)', () => sync.syncNow());
    const step = 100;
    view.update(Array.from({ length: apps / step }, (_, i) => benchService(i * step, 1)));
    await measure('1 % changed (endpoint port)', () => sync.syncNow());
    view.update([benchService(1, 2)]);
    await measure('1 service changed', () => sync.syncNow());
    // --repeat N: more steady-state runs; --profile FILE: a CPU profile of those runs only.
    const session = profile ? new inspector.Session() : null;
    const post = (method: string) => new Promise<unknown>((resolve, reject) => session!.post(method, (err, res) => (err ? reject(err) : resolve(res))));
    if (session) {
      session.connect();
      await post('Profiler.enable');
      await post('Profiler.start');
    }
    for (let r = 0; r < repeat; r++) {
      view.update(Array.from({ length: apps / step }, (_, i) => benchService(i * step + 1, 3 + r)));
      await measure(`1 % changed (repeat ${r + 1})`, () => sync.syncNow());
      await measure(`nothing changed (repeat ${r + 1})`, () => sync.syncNow());
    }
    if (session) {
      const { profile: p } = (await post('Profiler.stop')) as { profile: unknown };
      fs.writeFileSync(profile!, JSON.stringify(p));
      session.disconnect();
    }
    return out;
  } finally {
    await sync.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const i = process.argv.indexOf('--apps');
  const apps = i > 0 ? Number(process.argv[i + 1]) : process.argv.includes('--quick') ? 2000 : 10000;
  const r = process.argv.indexOf('--repeat');
  const p = process.argv.indexOf('--profile');
  measureSyncCost(apps, r > 0 ? Number(process.argv[r + 1]) : 0, p > 0 ? process.argv[p + 1] : undefined)
    .then((rows) => {
      console.log(
        `sync cost (${os.cpus().length} cores, load ${os
          .loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')})`,
      );
      for (const r of rows)
        console.log(
          `${r.what.padEnd(36)} ${r.ms.toFixed(1).padStart(9)} ms (cpu ${r.cpuMs.toFixed(1).padStart(8)} ms, sys ${r.sysMs.toFixed(1).padStart(7)})  loop held max ${r.maxDelayMs.toFixed(1).padStart(7)} ms (cpu ${r.maxHeldCpuMs.toFixed(1).padStart(6)})  ${r.status} (${r.filesWritten} written)`,
        );
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
