/**
 * Event-processing benchmark (docs/architecture.md "Performance targets"), berth in its own process against the Marathon simulator
 * seeded with 10,000 apps / 30,000 tasks (`--quick`: 2,000 / 6,000):
 *  1. full snapshot → registry, DNS index and rendered Nginx files: time and RSS;
 *  2. 200 status events/s: event leaving the simulator → DNS answer, p50/p99; Marathon requests
 *     and CPU during that window;
 *  3. Nginx reloads during a burst of 1,000 changes (a counting script as the reload command);
 *  4. the same event load against the peers' strategy (full /v2/apps fetch per event, coalesced);
 * and the event loop delay (berth_event_loop_delay_seconds) through 1 and 2, and what one Nginx sync
 * run costs with nothing or 1 % changed (bench/nginx/sync-cost.ts).
 *
 *   node --import tsx bench/events/run.ts [--quick]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSimulator, type Simulator } from '../../src/sim';
import { startBerthProcess, type BerthProcess } from '../lib/berth-process';
import { DnsProbe } from '../lib/dns-probe';
import { scratchPg } from '../lib/pg';
import { metricsText, metricSum } from '../lib/prom';
import { fig, machine, printTable, writeRun, type Figure } from '../lib/results';
import { cpuMs, percentile, rssMb } from '../lib/stats';
import { measureSyncCost } from '../nginx/sync-cost';
import { getJson, MAX_WAIT_MS, measureEventLatency, measureReloadBurst, reloadCounter, srvName, until, type LatencyResult } from './phases';

const B = 'events';
const RATE = 200;
const SYNC_INTERVAL_MS = 2000;
const RESYNC_INTERVAL_MS = 300_000;

export interface EventsOptions {
  quick?: boolean;
  log?: (s: string) => void;
}

/** Runs the whole events benchmark; returns its figures (and writes nothing). */
export async function runEventsBench(opts: EventsOptions = {}): Promise<{ figures: Figure[]; extra: Record<string, unknown> }> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`[events] ${s}\n`));
  const apps = opts.quick ? 2000 : 10000;
  const tasksPerApp = 3;
  const events = opts.quick ? 1000 : 4000;
  const scale = `${apps.toLocaleString('en')} apps / ${(apps * tasksPerApp).toLocaleString('en')} tasks`;
  const figures: Figure[] = [];
  const extra: Record<string, unknown> = { apps, tasks: apps * tasksPerApp, rate: RATE, events };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-events-'));
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const sim = await startSimulator({ flavour: '1.10' });
    cleanups.push(() => sim.close());
    sim.control.seed({ apps, tasksPerApp });
    log(`simulator seeded: ${scale}`);
    let firstFetchAt = 0;
    const counts = (sim.control.node as unknown as { counts: Map<string, number> }).counts;
    const set = counts.set.bind(counts);
    counts.set = (k: string, v: number) => {
      if (k === 'GET /v2/apps' && !firstFetchAt) firstFetchAt = performance.now();
      return set(k, v);
    };

    const pg = await scratchPg('events');
    if (pg) cleanups.push(pg.drop);
    extra.database = pg ? 'postgresql' : 'pglite';
    const reload = reloadCounter(dir);
    const nginxDir = path.join(dir, 'nginx');
    const env: Record<string, string> = {
      BERTH_MARATHON_URLS: sim.url,
      BERTH_HTTP_ADDR: '127.0.0.1:0',
      BERTH_DNS_ADDR: '127.0.0.1:0',
      BERTH_DATA_DIR: path.join(dir, 'var'),
      BERTH_NGINX_DIR: nginxDir,
      BERTH_NGINX_TEST_CMD: '',
      BERTH_NGINX_RELOAD_CMD: reload.cmd,
      // The reload only counts; no real Nginx answers a generation.
      BERTH_NGINX_ADMIN_LISTEN: '',
      BERTH_NGINX_HTTP_LISTEN: '127.0.0.1:18080',
      BERTH_SYNC_INTERVAL_MS: String(SYNC_INTERVAL_MS),
      BERTH_RESYNC_INTERVAL_MS: String(RESYNC_INTERVAL_MS),
      BERTH_DNS_ZONES: 'berth.internal',
      // The DNS poller asks thousands of times a second from one address: no response rate limit.
      BERTH_DNS_RRL_RESPONSES_PER_SECOND: '0',
      BERTH_LOG_LEVEL: 'info',
      ...(pg ? { BERTH_DATABASE_URL: pg.url } : {}),
      // Profiling hook: BERTH_BENCH_NODE_OPTIONS='--require <preload that starts the inspector profiler>' (NODE_OPTIONS refuses --cpu-prof).
      ...(process.env.BERTH_BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BERTH_BENCH_NODE_OPTIONS } : {}),
    };
    log(`starting berth (${extra.database}) in a child process`);
    const spawnedAt = performance.now();
    const berth: BerthProcess = await startBerthProcess(env);
    cleanups.push(() => berth.stop());
    const dnsPort = Number(
      await until(() => /"port":(\d+),"zones":\[[^\]]*\],"msg":"dns: listening/.exec(berth.output())?.[1], 30_000, "the DNS port in berth's log"),
    );
    const dns = new DnsProbe('127.0.0.1', dnsPort);
    cleanups.push(async () => dns.close());

    // 1. Full snapshot: from Marathon's first /v2/apps request to registry, DNS and files all complete.
    const lastApp = `/bench/app-${apps - 1}`;
    const httpDir = path.join(nginxDir, 'default', 'http');
    const done = { registry: 0, dns: 0, nginx: 0 };
    await until(
      async () => {
        if (!done.registry) {
          const st = await getJson<{ services: number; endpoints: number }>(`${berth.url}/v1/registry/status`).catch(() => null);
          if (st && st.services >= apps && st.endpoints >= apps * tasksPerApp) done.registry = performance.now();
        }
        if (!done.dns) {
          const a = await dns.query(srvName(lastApp), 33, 500);
          if (a && a.answers === tasksPerApp) done.dns = performance.now();
        }
        if (!done.nginx && fs.existsSync(httpDir) && fs.readdirSync(httpDir).length >= apps) done.nginx = performance.now();
        return done.registry && done.dns && done.nginx;
      },
      300_000,
      'the first snapshot to reach registry, DNS and Nginx',
      50,
    );
    const snapMs = Math.max(done.registry, done.dns, done.nginx) - firstFetchAt;
    const mem = rssMb(berth.pid);
    const atSnapshot = await metricsText(berth.url); // event loop delay from start through the snapshot
    figures.push(fig(B, `full snapshot ${scale} → registry, DNS, files`, snapMs, 'ms', { op: '<=', limit: 5000, text: '≤ 5000 ms' }));
    figures.push(fig(B, '… of which: registry complete', done.registry - firstFetchAt, 'ms'));
    figures.push(fig(B, '… DNS answering the last app', done.dns - firstFetchAt, 'ms'));
    figures.push(fig(B, '… all Nginx files rendered', done.nginx - firstFetchAt, 'ms'));
    figures.push(
      fig(B, 'berth process start → snapshot complete (incl. tsx load, migrations)', Math.max(done.registry, done.dns, done.nginx) - spawnedAt, 'ms'),
    );
    figures.push(fig(B, 'berth peak RSS through the snapshot', mem.peak, 'MB', { op: '<=', limit: 400 }));
    figures.push(fig(B, 'event loop delay, max from start through the snapshot', loopDelayMs(atSnapshot, 'max'), 'ms'));
    log(`snapshot in ${snapMs.toFixed(0)} ms, peak RSS ${mem.peak.toFixed(0)} MB`);

    // Let the first Nginx reload and any settle work finish before measuring steady state.
    await until(async () => (await getJson<{ lastReloadAt: string | null }>(`${berth.url}/v1/sync/status`)).lastReloadAt !== null, 120_000, 'the first reload');

    // 2. Steady state at 200 events/s.
    // Monotonic µs (the clock of a --cpu-prof profile), to cut the steady-state window out of it.
    log(`pumping ${events} status events at ${RATE}/s (monotonic ${process.hrtime.bigint() / 1000n} µs)`);
    const m0 = await metricsText(berth.url);
    const lat = await measureEventLatency(sim, dns, berth.pid, RATE, events);
    const m1 = await metricsText(berth.url);
    const delta = (name: string) => metricSum(m1, name) - metricSum(m0, name);
    const reconnects = metricSum(m1, 'berth_marathon_stream_reconnects_total');
    const builds = delta('berth_dns_index_build_duration_seconds_count');
    const writes = delta('berth_registry_writes_total');
    figures.push(fig(B, `status event → DNS answer, p50 (${lat.events} events at ${RATE}/s)`, percentile(lat.latencies, 50), 'ms'));
    // The gauge covers the time since the previous scrape: m0 was taken as the pump started.
    figures.push(fig(B, 'event loop delay during the events, p99', loopDelayMs(m1, 'p99'), 'ms', { op: '<=', limit: 20 }));
    figures.push(fig(B, 'event loop delay during the events, max', loopDelayMs(m1, 'max'), 'ms', { op: '<=', limit: 100 }));
    figures.push(
      fig(
        B,
        `status event → DNS answer, p99`,
        percentile(lat.latencies, 99),
        'ms',
        { op: '<=', limit: 250 },
        lat.missed ? `${lat.missed} not seen within ${MAX_WAIT_MS / 1000} s` : undefined,
      ),
    );
    figures.push(fig(B, `events not reflected in DNS within ${MAX_WAIT_MS / 1000} s`, lat.missed, 'events', { op: '<=', limit: 0, text: '0' }));
    const allowed = Math.ceil((lat.seconds * 1000) / RESYNC_INTERVAL_MS) + reconnects;
    figures.push(
      fig(B, `Marathon full /v2/apps fetches in ${lat.seconds.toFixed(0)} s of steady state`, lat.fullFetches, 'fetches', {
        op: '<=',
        limit: allowed,
        text: `≤ ${allowed} (1 per ${RESYNC_INTERVAL_MS / 1000} s resync + ${reconnects} reconnects)`,
      }),
    );
    figures.push(fig(B, 'berth: all Marathon requests in that window', lat.requests, 'requests', undefined, `${lat.appFetches} single-app fetches`));
    figures.push(fig(B, 'berth CPU per 1,000 events', (lat.cpuMs / lat.events) * 1000, 'ms'));
    figures.push(
      fig(
        B,
        'DNS index full rebuilds in that window',
        builds,
        'builds',
        undefined,
        `mean ${((delta('berth_dns_index_build_duration_seconds_sum') / Math.max(1, builds)) * 1000).toFixed(0)} ms each`,
      ),
    );
    const patches = delta('berth_dns_index_patch_duration_seconds_count');
    figures.push(
      fig(
        B,
        'DNS index patches in that window (changed apps only)',
        patches,
        'patches',
        undefined,
        `mean ${((delta('berth_dns_index_patch_duration_seconds_sum') / Math.max(1, patches)) * 1000).toFixed(2)} ms each`,
      ),
    );
    const syncs = delta('berth_nginx_sync_duration_seconds_count');
    figures.push(
      fig(
        B,
        'Nginx sync runs in that window (changed services rendered)',
        syncs,
        'runs',
        undefined,
        `mean ${((delta('berth_nginx_sync_duration_seconds_sum') / Math.max(1, syncs)) * 1000).toFixed(0)} ms each`,
      ),
    );
    figures.push(
      fig(B, 'registry write transactions in that window', writes, 'writes', undefined, `${(lat.events / Math.max(1, writes)).toFixed(1)} events per write`),
    );
    figures.push(fig(B, 'berth RSS in steady state', rssMb(berth.pid).rss, 'MB', { op: '<=', limit: 400 }));
    log(`steady window ends (monotonic ${process.hrtime.bigint() / 1000n} µs)`);
    log(`p50 ${percentile(lat.latencies, 50).toFixed(1)} ms, p99 ${percentile(lat.latencies, 99).toFixed(1)} ms, ${lat.fullFetches} full fetches`);

    // What one Nginx run costs when nothing changed, in the process under test (the events have settled into the last run).
    await postJson(`${berth.url}/v1/sync/nginx`);
    await metricsText(berth.url);
    const { run: same } = await postJson<{ run: { status: string; startedAt: string; finishedAt: string } }>(`${berth.url}/v1/sync/nginx`);
    const idle = await metricsText(berth.url);
    figures.push(
      fig(B, `Nginx sync run with nothing changed (${scale})`, Date.parse(same.finishedAt) - Date.parse(same.startedAt), 'ms', undefined, same.status),
    );
    figures.push(fig(B, '… event loop delay around it, max', loopDelayMs(idle, 'max'), 'ms'));

    // 3. Nginx reloads during a burst of 1,000 changes.
    log('burst of 1,000 changes');
    const burst = await measureReloadBurst(sim, berth.url, reload.log, SYNC_INTERVAL_MS, 1000);
    figures.push(
      fig(B, `Nginx reloads for a burst of 1,000 changes (interval ${SYNC_INTERVAL_MS / 1000} s)`, burst.reloads, 'reloads', {
        op: '<=',
        limit: burst.intervalsSpanned,
        text: `≤ 1 per interval (${burst.intervalsSpanned} spanned)`,
      }),
    );
    figures.push(fig(B, 'burst start → last reload', burst.settleMs, 'ms'));
    extra.burst = burst;
    figures.push(fig(B, 'berth peak RSS over the whole run', rssMb(berth.pid).peak, 'MB', { op: '<=', limit: 400 }));
    await berth.stop();

    // One sync run's own cost (in this process, no test or reload command): first, unchanged, 1 % changed.
    log('nginx sync run cost (in process)');
    const costs = await measureSyncCost(apps);
    for (const c of costs.filter((x) => !x.what.includes('again')))
      figures.push(
        fig(
          B,
          `Nginx sync run (in process): ${c.what}`,
          c.cpuMs,
          'ms CPU',
          undefined,
          `${c.ms.toFixed(0)} ms wall, event loop held ≤ ${c.maxDelayMs.toFixed(1)} ms`,
        ),
      );
    extra.syncCost = costs;

    // 4. Baseline: the peers' full fetch per event, same load, berth stopped.
    log(`baseline (full /v2/apps fetch per event): ${events} events at ${RATE}/s`);
    const base = await runBaseline(sim, RATE, events);
    figures.push(fig(B, 'baseline (peers): full /v2/apps fetches in the same load', base.fetches, 'fetches', undefined, `${base.events} events seen`));
    figures.push(fig(B, 'baseline: event → state, p50', percentile(base.latencies, 50), 'ms'));
    figures.push(fig(B, 'baseline: event → state, p99', percentile(base.latencies, 99), 'ms'));
    figures.push(fig(B, 'baseline: consumer CPU per 1,000 events', (base.cpuMs / base.events) * 1000, 'ms'));
    figures.push(fig(B, 'ratio of Marathon requests, baseline / berth', base.requests / Math.max(1, lat.requests), '×'));
    figures.push(fig(B, 'ratio of consumer CPU, baseline / berth', base.cpuMs / Math.max(1, lat.cpuMs), '×'));
    figures.push(
      fig(
        B,
        'ratio of Marathon (simulator) CPU, baseline / berth',
        base.simCpuMs / Math.max(1, lat.simCpuMs),
        '×',
        undefined,
        'berth window includes the DNS pollers',
      ),
    );
    extra.latency = summarise(lat);
    extra.baseline = { fetches: base.fetches, events: base.events, cpuMs: base.cpuMs, simCpuMs: base.simCpuMs };
    return { figures, extra };
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function postJson<T>(url: string): Promise<T> {
  const r = await fetch(url, { method: 'POST' });
  if (!r.ok) throw new Error(`POST ${url}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

/** `berth_event_loop_delay_seconds{stat}` of a scrape, in ms (it covers the time since the previous scrape). */
function loopDelayMs(text: string, stat: 'p50' | 'p99' | 'max'): number {
  const m = new RegExp(`^berth_event_loop_delay_seconds\\{stat="${stat}"\\} ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) * 1000 : NaN;
}

function summarise(l: LatencyResult): Record<string, number> {
  return {
    events: l.events,
    seconds: l.seconds,
    p50: percentile(l.latencies, 50),
    p90: percentile(l.latencies, 90),
    p99: percentile(l.latencies, 99),
    max: percentile(l.latencies, 100),
    missed: l.missed,
    berthCpuMs: l.cpuMs,
    simCpuMs: l.simCpuMs,
    fullFetches: l.fullFetches,
    requests: l.requests,
  };
}

/** Runs baseline.ts as a child under the same pump; latency = emission → end of the first fetch started after it. */
async function runBaseline(sim: Simulator, rate: number, count: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'baseline.ts'), sim.url], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  await until(() => out.includes('attached'), 60_000, 'the baseline to attach', 50);
  sim.control.resetCounts();
  const emitted: number[] = [];
  const cpu0 = cpuMs(child.pid!);
  const sim0 = process.cpuUsage();
  await sim.control.pump({ ratePerSec: rate, count, kind: 'state-flap', onEmit: () => emitted.push(Date.now()) }).done;
  // Let the fetch chain drain (bounded): the last events need the fetch that starts after them.
  const drainStart = Date.now();
  let lastCount = -1;
  await until(
    () => {
      const n = sim.control.requestCount('GET /v2/apps');
      const quiet = n === lastCount;
      lastCount = n;
      return quiet || Date.now() - drainStart > 60_000;
    },
    70_000,
    'the baseline to drain',
    3000,
  );
  const cpu = cpuMs(child.pid!) - cpu0;
  const simCpu = process.cpuUsage(sim0);
  const requests = Object.values(sim.control.counts()).reduce((s, v) => s + v, 0);
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  await exited;
  const line =
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop() ?? '{"events":0,"fetches":[]}';
  const res = JSON.parse(line) as { events: number; fetches: Array<[number, number]> };
  const latencies: number[] = [];
  for (const e of emitted) {
    const f = res.fetches.find(([start]) => start >= e);
    if (f) latencies.push(f[1] - e);
  }
  return { fetches: res.fetches.length, events: res.events, latencies, cpuMs: cpu, simCpuMs: (simCpu.user + simCpu.system) / 1000, requests };
}

if (require.main === module) {
  const quick = process.argv.includes('--quick');
  const m = machine();
  runEventsBench({ quick })
    .then(({ figures, extra }) => {
      printTable(figures);
      console.log(`results: ${writeRun('events', m, figures, { quick, ...extra })}`);
      process.exit(0);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
