/**
 * Standby benchmark (docs/reliability.md rule 7): a leader and a standby berth, each in its own
 * process, on one scratch PostgreSQL database, the Marathon simulator seeded with 10,000 apps /
 * 30,000 tasks (`--quick`: 2,000 / 6,000):
 *  1. once both replicas are ready (/readyz 200: start-up work done), status events at a steady rate; for each, the leader's journal write → the standby's DNS
 *     answer showing it (p50/p99, on the host's wall clock, which the database shares), event →
 *     standby DNS, and the standby's full reloads in that window (target 0);
 *  2. failover: the leader stops (SIGTERM) → the standby leads, → it is ready as the leader
 *     (snapshot applied), and a change made as the leader stopped → in its DNS.
 *
 *   node --import tsx bench/run.ts follow [--quick]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { startSimulator, type SimTask } from '../../src/sim';
import { startBerthProcess, type BerthProcess } from '../lib/berth-process';
import { DnsProbe } from '../lib/dns-probe';
import { scratchPg } from '../lib/pg';
import { histogramQuantile, metricsText, metricSeries, metricSum } from '../lib/prom';
import { fig, type Figure } from '../lib/results';
import { targetFig } from '../lib/targets';
import { percentile, rssMb } from '../lib/stats';
import { getJson, measureEventLatency, runningCount, srvName, until } from '../events/phases';

const B = 'follow';
const RATE = 100;

export interface FollowOptions {
  quick?: boolean;
  log?: (s: string) => void;
}

/** Runs the standby benchmark; returns its figures (and writes nothing). */
export async function runFollowBench(opts: FollowOptions = {}): Promise<{ figures: Figure[]; extra: Record<string, unknown> }> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`[follow] ${s}\n`));
  const apps = opts.quick ? 2000 : 10000;
  const tasksPerApp = 3;
  const events = opts.quick ? 500 : 1500;
  const scale = `${apps.toLocaleString('en')} apps`;
  const figures: Figure[] = [];
  const extra: Record<string, unknown> = { apps, tasks: apps * tasksPerApp, rate: RATE, events };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-follow-'));
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const pg = await scratchPg('follow');
    if (!pg) throw new Error('replicas need PostgreSQL, and none is reachable (BERTH_BENCH_DATABASE_URL)');
    cleanups.push(pg.drop);
    const sim = await startSimulator({ flavour: '1.10' });
    cleanups.push(() => sim.close());
    sim.control.seed({ apps, tasksPerApp });
    log(`simulator seeded: ${scale} / ${(apps * tasksPerApp).toLocaleString('en')} tasks`);
    const env = (name: string): Record<string, string> => ({
      BERTH_MARATHON_URLS: sim.url,
      BERTH_DATABASE_URL: pg.url,
      BERTH_HTTP_ADDR: '127.0.0.1:0',
      BERTH_DNS_ADDR: '127.0.0.1:0',
      BERTH_NGINX_DIR: path.join(dir, `nginx-${name}`),
      BERTH_NGINX_TEST_CMD: '',
      BERTH_NGINX_RELOAD_CMD: '',
      BERTH_NGINX_ADMIN_LISTEN: '',
      BERTH_SYNC_INTERVAL_MS: '2000',
      BERTH_RESYNC_INTERVAL_MS: '300000',
      BERTH_DNS_ZONES: 'berth.internal',
      BERTH_DNS_RRL_RESPONSES_PER_SECOND: '0',
      BERTH_LOG_LEVEL: 'info',
    });
    const dnsOf = async (b: BerthProcess) =>
      new DnsProbe(
        '127.0.0.1',
        Number(await until(() => /"port":(\d+),"zones":\[[^\]]*\],"msg":"dns: listening/.exec(b.output())?.[1], 30_000, "the DNS port in berth's log")),
      );
    const lastApp = `/bench/app-${apps - 1}`;
    const loaded = (dns: DnsProbe) =>
      until(async () => (await dns.query(srvName(lastApp), 33, 500))?.answers === tasksPerApp, 300_000, 'DNS to answer the last app', 100);

    log('starting the leader');
    const leader = await startBerthProcess(env('a'));
    cleanups.push(() => leader.stop());
    const leaderDns = await dnsOf(leader);
    cleanups.push(async () => leaderDns.close());
    await loaded(leaderDns);
    log('starting the standby');
    const standby = await startBerthProcess(env('b'));
    cleanups.push(() => standby.stop());
    const standbyDns = await dnsOf(standby);
    cleanups.push(async () => standbyDns.close());
    await loaded(standbyDns);
    // Steady state: both replicas' start-up work (each one's first Nginx sync writes 10,000 files)
    // is over before the stream, as for replicas that have been up a while; otherwise the stream
    // measures the start-up, not following.
    for (const b of [leader, standby]) await until(async () => (await fetch(`${b.url}/readyz`)).status === 200, 300_000, 'the replicas to be ready', 100);
    const role = async (b: BerthProcess) => (await getJson<{ self: { role: string } }>(`${b.url}/v1/cluster`)).self.role;
    if ((await role(standby)) !== 'standby') throw new Error('the second replica leads: the benchmark needs it to follow');

    // 1. Steady stream: journal write → standby DNS.
    log(`pumping ${events} status events at ${RATE}/s, watching the standby's DNS (load ${os.loadavg()[0].toFixed(1)})`);
    const m0 = await metricsText(standby.url);
    const seen: Array<{ appId: string; emitted: number; seen: number }> = [];
    const wall = (t: number) => performance.timeOrigin + t;
    const lat = await measureEventLatency(sim, standbyDns, standby.pid, {
      rate: RATE,
      count: events,
      onSeen: (appId, emitted, at) => seen.push({ appId, emitted: wall(emitted), seen: wall(at) }),
    });
    const m1 = await metricsText(standby.url);
    const fromJournal = await journalToDns(pg.url, seen);
    const reloads = metricSeries(m1, 'berth_registry_follower_full_reloads_total');
    const streamReloads = metricSum(m1, 'berth_registry_follower_full_reloads_total') - metricSum(m0, 'berth_registry_follower_full_reloads_total');
    const applied = metricSum(m1, 'berth_registry_follower_applied_entries_total') - metricSum(m0, 'berth_registry_follower_applied_entries_total');
    const patches = metricSum(m1, 'berth_dns_index_patch_duration_seconds_count') - metricSum(m0, 'berth_dns_index_patch_duration_seconds_count');
    const builds = metricSum(m1, 'berth_dns_index_build_duration_seconds_count') - metricSum(m0, 'berth_dns_index_build_duration_seconds_count');
    figures.push(fig(B, `journal write → standby DNS answer, p50 (${scale}, ${lat.events} events at ${RATE}/s)`, percentile(fromJournal, 50), 'ms'));
    figures.push(
      targetFig('follow.p99', B, 'journal write → standby DNS answer, p99', percentile(fromJournal, 99), `${fromJournal.length} matched to journal rows`),
    );
    figures.push(fig(B, 'status event → standby DNS answer, p50', percentile(lat.latencies, 50), 'ms'));
    figures.push(
      fig(B, 'status event → standby DNS answer, p99', percentile(lat.latencies, 99), 'ms', undefined, lat.missed ? `${lat.missed} missed` : undefined),
    );
    const lag = (q: number) => (histogramQuantile(m0, m1, 'berth_registry_follower_lag_seconds', q) ?? NaN) * 1000;
    figures.push(fig(B, 'journal write → applied in the standby registry, p50 (histogram bucket bound)', lag(0.5), 'ms'));
    figures.push(fig(B, 'journal write → applied in the standby registry, p99 (histogram bucket bound)', lag(0.99), 'ms'));
    figures.push(targetFig('follow.reloads', B, 'standby full reloads during the stream', streamReloads, JSON.stringify(reloads)));
    figures.push(fig(B, 'journal entries the standby applied as deltas', applied, 'entries'));
    figures.push(fig(B, 'standby DNS: patches / full builds in that window', patches, 'patches', undefined, `${builds} full builds`));
    figures.push(fig(B, 'standby RSS in steady state', rssMb(standby.pid).rss, 'MB'));
    extra.stream = {
      p50: percentile(fromJournal, 50),
      p99: percentile(fromJournal, 99),
      matched: fromJournal.length,
      eventP99: percentile(lat.latencies, 99),
      reloads,
    };
    log(
      `journal → standby DNS p50 ${percentile(fromJournal, 50).toFixed(1)} ms, p99 ${percentile(fromJournal, 99).toFixed(1)} ms; reloads ${JSON.stringify(reloads)}`,
    );

    // 2. Failover: SIGTERM the leader; one change is made as it stops.
    log('stopping the leader');
    const t0 = performance.now();
    const stopped = leader.stop();
    let change: { appId: string; expected: number } | null = null;
    await sim.control.pump({
      ratePerSec: 1000,
      count: 1,
      kind: 'state-flap',
      onEmit: (task: SimTask) => (change = { appId: task.appId, expected: runningCount(sim, task.appId) }),
    }).done;
    const done = { leads: 0, ready: 0, change: 0 };
    await until(
      async () => {
        if (!done.leads && (await role(standby).catch(() => '')) === 'leader') done.leads = performance.now();
        if (
          done.leads &&
          !done.ready &&
          (await fetch(`${standby.url}/readyz`)
            .then((r) => r.ok)
            .catch(() => false))
        )
          done.ready = performance.now();
        const c = change as { appId: string; expected: number } | null;
        if (c && !done.change) {
          const a = await standbyDns.query(srvName(c.appId), 33, 500);
          if (a && (a.rcode === 3 ? 0 : a.answers) <= c.expected) done.change = performance.now();
        }
        return done.leads && done.ready && done.change;
      },
      120_000,
      'the standby to lead, be ready and show the change',
      20,
    );
    await stopped;
    figures.push(fig(B, 'failover: leader stops (SIGTERM) → standby leads', done.leads - t0, 'ms'));
    figures.push(fig(B, 'failover: leader stops → standby ready as leader (Marathon snapshot applied)', done.ready - t0, 'ms'));
    figures.push(fig(B, 'failover: change made as the leader stopped → in the new leader’s DNS', done.change - t0, 'ms'));
    extra.failover = { leadsMs: done.leads - t0, readyMs: done.ready - t0, changeMs: done.change - t0 };
    log(`failover: leads after ${(done.leads - t0).toFixed(0)} ms, ready after ${(done.ready - t0).toFixed(0)} ms`);
    return { figures, extra };
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Per confirmed change, ms from the first journal write naming its app after it was emitted (the
 * write's transaction start, so slightly more than from its commit) to the standby's answer.
 */
async function journalToDns(url: string, seen: ReadonlyArray<{ appId: string; emitted: number; seen: number }>): Promise<number[]> {
  const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 2 } });
  try {
    const out: number[] = [];
    for (const s of seen) {
      const row = await knex('registry_journal')
        .whereRaw(`(app_id = ? or app_id like ?) and at >= to_timestamp(?)`, [s.appId, `${s.appId}#%`, (s.emitted - 5) / 1000])
        .min({ at: 'at' })
        .first();
      const at = row?.at ? new Date(row.at as string | Date).getTime() : null;
      if (at !== null && at <= s.seen) out.push(s.seen - at);
    }
    return out;
  } finally {
    await knex.destroy();
  }
}
