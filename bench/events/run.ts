/**
 * Event-processing benchmark (the performance targets, bench/lib/targets.ts), berth in its own process
 * (with deploy/marathon/berth.json's NODE_OPTIONS) against the Marathon simulator seeded with
 * 10,000 apps / 30,000 tasks on 31 agents (`--quick`: 2,000 / 6,000):
 *  1. start → ready: from the simulator's first `GET /v2/apps` to `/readyz` answering 200 AND DNS
 *     answering the last app with all its tasks, and berth's CPU in that time (user and system).
 *     That is the start beyond an idle start: process spawn, module load, database migrations, and
 *     connecting to Marathon come before the first `GET /v2/apps` and are not in it (reported on
 *     their own, as context);
 *  2. 30 s of 200 events/s (`--quick`: 5 s), each replacing a task: the old one TASK_KILLED, a new
 *     one of the same app (TASK_STAGING, TASK_RUNNING) on another agent with a fresh host port;
 *     event → DNS SRV answer showing the new task and not the old one, p50/p99; Marathon requests,
 *     CPU and event loop delay in that window; peak RSS from start through these events;
 *  3. 200 status flips/s (TASK_RUNNING ↔ TASK_KILLING), event → DNS, as context;
 *  4. Nginx reloads during a burst of 1,000 changes (a counting script as the reload command);
 *  5. the same flip load against the peers' strategy (full /v2/apps fetch per event, coalesced);
 *  6. the start of step 1 again with berth's Nginx folder on tmpfs (/dev/shm): start-up without
 *     the cost of creating 10,000 files on this disk, which varies by seconds between runs;
 *  7. that berth restarted over the same database and Nginx folder (an upgrade): first `GET /v2/apps`
 *     → ready and DNS answering, and the files its first sync wrote (none are due);
 * and what one Nginx sync run costs with nothing or 1 % changed (bench/nginx/sync-cost.ts).
 *
 *   node --import tsx bench/events/run.ts [--quick]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Simulator } from '../../src/sim';
import { DEPLOY_NODE_OPTIONS } from '../lib/deploy';
import { histogramQuantile, metricsText, metricSum } from '../lib/prom';
import { fig, machine, printTable, writeRun, type Figure } from '../lib/results';
import { cpuMs, percentile, rssMb } from '../lib/stats';
import { printTargets, targetFig, targetsMarkdown } from '../lib/targets';
import { measureSyncCost } from '../nginx/sync-cost';
import { getJson, MAX_WAIT_MS, measureEventLatency, measureReloadBurst, until, type LatencyResult } from './phases';
import { awaitStart, EVENT_SECONDS, RATE, RESYNC_INTERVAL_MS, startCluster, SYNC_INTERVAL_MS, TASKS_PER_APP } from './setup';

const B = 'events';

export interface EventsOptions {
  quick?: boolean;
  log?: (s: string) => void;
}

/** Runs the whole events benchmark; returns its figures (and writes nothing). */
export async function runEventsBench(opts: EventsOptions = {}): Promise<{ figures: Figure[]; extra: Record<string, unknown> }> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`[events] ${s}\n`));
  const apps = opts.quick ? 2000 : 10000;
  const replacements = opts.quick ? RATE * 5 : RATE * EVENT_SECONDS;
  const flips = opts.quick ? 1000 : 2000;
  const scale = `${apps.toLocaleString('en')} apps / ${(apps * TASKS_PER_APP).toLocaleString('en')} tasks`;
  // The targets are at 10,000 apps: a quick run reports its figures without judging them.
  const atScale = apps === 10000 ? undefined : `${apps.toLocaleString('en')} apps (--quick), not judged`;
  const figures: Figure[] = [];
  const extra: Record<string, unknown> = { apps, tasks: apps * TASKS_PER_APP, rate: RATE, replacements, flips, nodeOptions: DEPLOY_NODE_OPTIONS };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-events-'));
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const c = await startCluster(apps, dir, 'events', cleanups);
    const { sim, berth, dns } = c;
    extra.database = c.database;
    log(`simulator seeded: ${scale}; berth (${c.database}) started in a child process`);

    // 1. Start → ready.
    const t = await awaitStart(c, apps);
    const readyMs = Math.max(t.ready, t.dns) - t.firstFetch;
    const snapMs = Math.max(t.registry, t.dns, t.nginx) - t.firstFetch;
    const atSnapshot = await metricsText(berth.url); // event loop delay from start through the snapshot
    figures.push(
      targetFig(
        'events.ready-10k',
        B,
        `${scale}: first GET /v2/apps → /readyz 200 and DNS answering the last app`,
        readyMs,
        atScale ?? `/readyz ${(t.ready - t.firstFetch).toFixed(0)} ms, DNS ${(t.dns - t.firstFetch).toFixed(0)} ms`,
        !atScale,
      ),
    );
    figures.push(fig(B, `full snapshot ${scale} → registry, DNS, files`, snapMs, 'ms'));
    figures.push(fig(B, '… of which: registry complete', t.registry - t.firstFetch, 'ms'));
    figures.push(fig(B, '… DNS answering the last app', t.dns - t.firstFetch, 'ms'));
    figures.push(fig(B, '… all Nginx files rendered', t.nginx - t.firstFetch, 'ms'));
    figures.push(fig(B, '… /readyz 200', t.ready - t.firstFetch, 'ms'));
    figures.push(
      fig(
        B,
        '… berth CPU in that time, its own (user)',
        t.cpu.user,
        'ms',
        undefined,
        `the kernel's on berth's behalf (system): ${t.cpu.sys.toFixed(0)} ms, most of it creating the Nginx files`,
      ),
    );
    figures.push(fig(B, 'idle start: berth process spawned → first GET /v2/apps (module load, migrations, connect)', t.firstFetch - c.spawnedAt, 'ms'));
    figures.push(fig(B, 'berth peak RSS through the snapshot', rssMb(berth.pid).peak, 'MB'));
    figures.push(fig(B, 'event loop delay, max from start through the snapshot', loopDelayMs(atSnapshot, 'max'), 'ms'));
    log(`ready ${readyMs.toFixed(0)} ms, snapshot in ${snapMs.toFixed(0)} ms, peak RSS ${rssMb(berth.pid).peak.toFixed(0)} MB`);

    // Let the first Nginx reload and any settle work finish before measuring steady state.
    await until(async () => (await getJson<{ lastReloadAt: string | null }>(`${berth.url}/v1/sync/status`)).lastReloadAt !== null, 120_000, 'the first reload');

    // 2. Replacements at 200/s.
    // Monotonic µs (the clock of a --cpu-prof profile), to cut the steady-state window out of it.
    log(`pumping ${replacements} replacements at ${RATE}/s (monotonic ${process.hrtime.bigint() / 1000n} µs)`);
    const m0 = await metricsText(berth.url);
    const lat = await measureEventLatency(sim, dns, berth.pid, { rate: RATE, count: replacements, kind: 'replace' });
    const m1 = await metricsText(berth.url);
    const peakAfterEvents = rssMb(berth.pid).peak;
    log(`steady window ends (monotonic ${process.hrtime.bigint() / 1000n} µs)`);
    const delta = (name: string) => metricSum(m1, name) - metricSum(m0, name);
    const reconnects = metricSum(m1, 'berth_marathon_stream_reconnects_total');
    const builds = delta('berth_dns_index_build_duration_seconds_count');
    const writes = delta('berth_registry_writes_total');
    const what = `${lat.events} at ${RATE}/s, each TASK_KILLED + a new task TASK_STAGING, TASK_RUNNING`;
    figures.push(fig(B, `replacement → DNS SRV shows the new task, not the old; p50 (${what})`, percentile(lat.latencies, 50), 'ms'));
    figures.push(
      targetFig(
        'events.replace-p99',
        B,
        'replacement → DNS SRV answer, p99 (events not seen within 30 s count as slower than any)',
        withMissed(lat),
        atScale ?? (lat.missed ? `${lat.missed} not seen within ${MAX_WAIT_MS / 1000} s` : undefined),
        !atScale,
      ),
    );
    figures.push(fig(B, `replacements not reflected in DNS within ${MAX_WAIT_MS / 1000} s`, lat.missed, 'events', { op: '<=', limit: 0, text: '0' }));
    figures.push(
      targetFig(
        'events.rss-10k',
        B,
        `berth peak RSS, start through ${lat.seconds.toFixed(0)} s of replacements (${scale})`,
        peakAfterEvents,
        atScale ?? `NODE_OPTIONS=${DEPLOY_NODE_OPTIONS || '(none)'} as in deploy/marathon/berth.json`,
        !atScale,
      ),
    );
    // Where the milliseconds go, as berth measures them from each event's arrival (its own metric).
    for (const stage of ['registry', 'dns'] as const) {
      const name = 'berth_registry_event_visible_seconds';
      const sel = `stage="${stage}"`;
      const n = metricSum(m1, `${name}_count`, sel) - metricSum(m0, `${name}_count`, sel);
      const mean = n > 0 ? ((metricSum(m1, `${name}_sum`, sel) - metricSum(m0, `${name}_sum`, sel)) / n) * 1000 : null;
      const p99 = histogramQuantile(m0, m1, name, 0.99, `,${sel}`);
      const what = stage === 'registry' ? 'committed in the registry' : 'served by DNS';
      figures.push(fig(B, `… event arrived → ${what}, mean (berth's own clock)`, mean, 'ms'));
      figures.push(fig(B, `… event arrived → ${what}, p99 (bucket upper bound)`, p99 === null ? null : p99 * 1000, 'ms'));
    }
    // How much of the window the registry's writer was busy: an event arriving then waits.
    const writing = metricSum(m1, 'berth_registry_write_seconds_sum', 'kind="events"') - metricSum(m0, 'berth_registry_write_seconds_sum', 'kind="events"');
    const written = metricSum(m1, 'berth_registry_write_seconds_count', 'kind="events"') - metricSum(m0, 'berth_registry_write_seconds_count', 'kind="events"');
    figures.push(
      fig(
        B,
        'registry writer busy with event writes during the replacements',
        (writing / lat.seconds) * 100,
        '%',
        undefined,
        `${written} writes, mean ${written > 0 ? ((writing / written) * 1000).toFixed(1) : '–'} ms`,
      ),
    );
    // The gauge covers the time since the previous scrape: m0 was taken as the pump started.
    figures.push(fig(B, 'event loop delay during the replacements, p99', loopDelayMs(m1, 'p99'), 'ms', { op: '<=', limit: 20 }));
    figures.push(fig(B, 'event loop delay during the replacements, max', loopDelayMs(m1, 'max'), 'ms', { op: '<=', limit: 100 }));
    const allowed = Math.ceil((lat.seconds * 1000) / RESYNC_INTERVAL_MS) + reconnects;
    figures.push(
      fig(B, `Marathon full /v2/apps fetches in ${lat.seconds.toFixed(0)} s of replacements`, lat.fullFetches, 'fetches', {
        op: '<=',
        limit: allowed,
        text: `≤ ${allowed} (1 per ${RESYNC_INTERVAL_MS / 1000} s resync + ${reconnects} reconnects)`,
      }),
    );
    figures.push(fig(B, 'berth: all Marathon requests in that window', lat.requests, 'requests', undefined, `${lat.appFetches} single-app fetches`));
    figures.push(fig(B, 'berth CPU per 1,000 replacements', (lat.cpuMs / lat.events) * 1000, 'ms'));
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
    log(
      `replacements: p50 ${percentile(lat.latencies, 50).toFixed(1)} ms, p99 ${percentile(lat.latencies, 99).toFixed(1)} ms, ${lat.missed} missed, peak RSS ${peakAfterEvents.toFixed(0)} MB`,
    );

    // 3. Status flips at 200/s (a known task leaves or rejoins), as context.
    log(`pumping ${flips} status flips at ${RATE}/s`);
    const flap = await measureEventLatency(sim, dns, berth.pid, { rate: RATE, count: flips, kind: 'state-flap' });
    figures.push(fig(B, `status flip → DNS answer, p50 (${flap.events} at ${RATE}/s)`, percentile(flap.latencies, 50), 'ms'));
    figures.push(
      fig(
        B,
        'status flip → DNS answer, p99',
        percentile(flap.latencies, 99),
        'ms',
        undefined,
        flap.missed ? `${flap.missed} not seen within ${MAX_WAIT_MS / 1000} s` : undefined,
      ),
    );
    figures.push(fig(B, 'berth CPU per 1,000 status flips', (flap.cpuMs / flap.events) * 1000, 'ms'));
    figures.push(fig(B, 'berth RSS in steady state', rssMb(berth.pid).rss, 'MB'));

    // What one Nginx run costs when nothing changed, in the process under test (the events have settled into the last run).
    await postJson(`${berth.url}/v1/sync/nginx`);
    await metricsText(berth.url);
    const { run: same } = await postJson<{ run: { status: string; startedAt: string; finishedAt: string } }>(`${berth.url}/v1/sync/nginx`);
    const idle = await metricsText(berth.url);
    figures.push(
      fig(B, `Nginx sync run with nothing changed (${scale})`, Date.parse(same.finishedAt) - Date.parse(same.startedAt), 'ms', undefined, same.status),
    );
    figures.push(fig(B, '… event loop delay around it, max', loopDelayMs(idle, 'max'), 'ms'));

    // 4. Nginx reloads during a burst of 1,000 changes.
    log('burst of 1,000 changes');
    const burst = await measureReloadBurst(sim, berth.url, c.reloadLog, SYNC_INTERVAL_MS, 1000);
    figures.push(
      fig(B, `Nginx reloads for a burst of 1,000 changes (interval ${SYNC_INTERVAL_MS / 1000} s)`, burst.reloads, 'reloads', {
        op: '<=',
        limit: burst.intervalsSpanned,
        text: `≤ 1 per interval (${burst.intervalsSpanned} spanned)`,
      }),
    );
    figures.push(fig(B, 'burst start → last reload', burst.settleMs, 'ms'));
    extra.burst = burst;
    figures.push(fig(B, 'berth peak RSS over the whole run', rssMb(berth.pid).peak, 'MB'));
    await berth.stop();

    // One sync run's own cost (in this process, no test or reload command): first, unchanged, 1 % changed.
    log('nginx sync run cost (in process)');
    const costs = await measureSyncCost(apps);
    for (const x of costs.filter((y) => !y.what.includes('again')))
      figures.push(
        fig(
          B,
          `Nginx sync run (in process): ${x.what}`,
          x.cpuMs,
          'ms CPU',
          undefined,
          `${x.ms.toFixed(0)} ms wall, event loop held ≤ ${x.maxDelayMs.toFixed(1)} ms`,
        ),
      );
    extra.syncCost = costs;

    // 5. Baseline: the peers' full fetch per event, same flip load, berth stopped.
    log(`baseline (full /v2/apps fetch per event): ${flips} flips at ${RATE}/s`);
    const base = await runBaseline(sim, RATE, flips);
    figures.push(fig(B, 'baseline (peers): full /v2/apps fetches in the same load', base.fetches, 'fetches', undefined, `${base.events} events seen`));
    figures.push(fig(B, 'baseline: event → state, p50', percentile(base.latencies, 50), 'ms'));
    figures.push(fig(B, 'baseline: event → state, p99', percentile(base.latencies, 99), 'ms'));
    figures.push(fig(B, 'baseline: consumer CPU per 1,000 events', (base.cpuMs / base.events) * 1000, 'ms'));
    figures.push(fig(B, 'ratio of Marathon requests, baseline / berth', base.requests / Math.max(1, flap.requests), '×'));
    figures.push(fig(B, 'ratio of consumer CPU, baseline / berth', base.cpuMs / Math.max(1, flap.cpuMs), '×'));
    figures.push(
      fig(
        B,
        'ratio of Marathon (simulator) CPU, baseline / berth',
        base.simCpuMs / Math.max(1, flap.simCpuMs),
        '×',
        undefined,
        'berth window includes the DNS pollers',
      ),
    );
    // 6. The same start with the Nginx folder on tmpfs: berth's start without the cost of creating
    // its files on this disk (which varies by seconds between runs, see docs/performance.md).
    const shm = '/dev/shm';
    if (fs.existsSync(shm)) {
      log(`start again with the Nginx folder on tmpfs (${shm})`);
      const own: Array<() => Promise<void>> = [];
      try {
        const c2 = await startCluster(apps, dir, 'tmpfs', own, { nginxRoot: shm });
        const t2 = await awaitStart(c2, apps);
        const at = (x: number) => `${(x - t2.firstFetch).toFixed(0)} ms`;
        figures.push(
          fig(
            B,
            `… the same start with the Nginx folder on tmpfs (${shm})`,
            Math.max(t2.ready, t2.dns) - t2.firstFetch,
            'ms',
            undefined,
            `registry ${at(t2.registry)}, DNS ${at(t2.dns)}, Nginx files ${at(t2.nginx)}; berth CPU ${t2.cpu.user.toFixed(0)} ms user, ${t2.cpu.sys.toFixed(0)} ms system`,
          ),
        );
        // 7. A restart of that berth (an upgrade): the database and the Nginx folder hold the state,
        // DNS serves the stored registry while Marathon's answer is read, and no file changes.
        log('restart over the same database and Nginx folder');
        const c3 = await c2.restart();
        const t3 = await awaitStart(c3, apps);
        const since = (x: number) => `${(x - c3.spawnedAt).toFixed(0)} ms`;
        const written = /"written":(\d+)[^\n]*"msg":"nginx sync applied"/.exec(c3.berth.output())?.[1] ?? '?';
        figures.push(
          fig(
            B,
            '… a restart over the same database and Nginx folder (tmpfs): first GET /v2/apps → /readyz 200 and DNS answering',
            Math.max(t3.ready, t3.dns) - t3.firstFetch,
            'ms',
            undefined,
            `from the spawn: first GET ${since(t3.firstFetch)}, DNS answering ${since(t3.dns)}, /readyz ${since(t3.ready)}; Nginx files written by its first sync: ${written}`,
          ),
        );
      } finally {
        for (const c of own.reverse()) await c().catch(() => undefined);
      }
    }

    extra.replace = summarise(lat);
    extra.latency = summarise(flap);
    extra.baseline = { fetches: base.fetches, events: base.events, cpuMs: base.cpuMs, simCpuMs: base.simCpuMs };
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }

  return { figures, extra };
}

/** The p99 of the latencies with every missed event counted as slower than any seen (a miss can only raise it). */
function withMissed(l: LatencyResult): number {
  return percentile([...l.latencies, ...Array<number>(l.missed).fill(Infinity)], 99);
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
      const file = writeRun('events', m, figures, { quick, ...extra }, (mm) => targetsMarkdown(figures, mm));
      printTable(figures);
      printTargets(figures, m);
      console.log(`results: ${file}`);
      process.exit(0);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
