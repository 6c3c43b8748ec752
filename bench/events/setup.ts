/**
 * One events-bench cluster: the Marathon simulator seeded with `apps` apps, berth in its own process
 * against it (its own scratch database, Nginx folder and counting reload command), and a DNS probe;
 * and the start-up measurement shared by the 10,000- and 20,000-app runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startSimulator, type Simulator } from '../../src/sim';
import { startBerthProcess, type BerthProcess } from '../lib/berth-process';
import { DEPLOY_NODE_OPTIONS } from '../lib/deploy';
import { DnsProbe } from '../lib/dns-probe';
import { scratchPg } from '../lib/pg';
import { cpuSplitMs } from '../lib/stats';
import { getJson, reloadCounter, srvName, until } from './phases';

export const SYNC_INTERVAL_MS = 2000;
export const RESYNC_INTERVAL_MS = 300_000;
export const TASKS_PER_APP = 3;
/** The targets' event load: 200 events/s for 30 s. */
export const RATE = 200;
export const EVENT_SECONDS = 30;

/**
 * Agents the simulator spreads tasks over. Host ports come from one counter of 30,000 ports shared
 * by all agents; with a prime number of agents, a host:port pair comes round again only after
 * 31 × 30,000 tasks, so every task of the 20,000-app run and every replacement has an address no
 * other task had (and each app's tasks sit on different hosts, as on a real cluster).
 */
export const AGENTS = Array.from({ length: 31 }, (_, i) => `10.20.0.${i + 1}`);

export interface BenchCluster {
  sim: Simulator;
  berth: BerthProcess;
  dns: DnsProbe;
  nginxDir: string;
  reloadLog: string;
  database: 'postgresql' | 'pglite';
  /** performance.now() of the simulator's first `GET /v2/apps` (0 until it came). */
  firstFetchAt(): number;
  /** performance.now() just before berth's process was spawned. */
  spawnedAt: number;
  /** berth's CPU time (user, system) when the simulator saw its first `GET /v2/apps`. */
  cpuAtFirstFetch(): { user: number; sys: number };
  /**
   * Stops berth and starts it again with the same settings, over the same database and Nginx
   * folder (a restart, as after an upgrade); the returned cluster times the new process's start.
   */
  restart(): Promise<BenchCluster>;
}

export interface ClusterOptions {
  /** Where berth's Nginx folder goes (default: under `dir`). */
  nginxRoot?: string;
}

/** Seeds a simulator and starts berth against it; everything started is pushed onto `cleanups`. */
export async function startCluster(
  apps: number,
  dir: string,
  tag: string,
  cleanups: Array<() => Promise<void>>,
  opts: ClusterOptions = {},
): Promise<BenchCluster> {
  const sim = await startSimulator({ flavour: '1.10', agents: AGENTS });
  cleanups.push(() => sim.close());
  sim.control.seed({ apps, tasksPerApp: TASKS_PER_APP });
  // The first `GET /v2/apps` of the berth process started last (each launch resets it).
  let firstFetchAt = 0;
  let berthPid = 0;
  let cpuAtFirstFetch = { user: 0, sys: 0 };
  const counts = (sim.control.node as unknown as { counts: Map<string, number> }).counts;
  const set = counts.set.bind(counts);
  counts.set = (k: string, v: number) => {
    if (k === 'GET /v2/apps' && !firstFetchAt) {
      firstFetchAt = performance.now();
      if (berthPid) cpuAtFirstFetch = cpuSplitMs(berthPid);
    }
    return set(k, v);
  };

  const pg = await scratchPg(tag);
  if (pg) cleanups.push(pg.drop);
  fs.mkdirSync(path.join(dir, tag), { recursive: true });
  const reload = reloadCounter(path.join(dir, tag));
  const nginxDir = opts.nginxRoot ? fs.mkdtempSync(path.join(opts.nginxRoot, `berth-bench-${tag}-`)) : path.join(dir, tag, 'nginx');
  if (opts.nginxRoot) cleanups.push(async () => fs.rmSync(nginxDir, { recursive: true, force: true }));
  // The deployment's NODE_OPTIONS (V8's old space sized for its memory grant), as bench/marathon:
  // the RSS figures are what berth would use under deploy/marathon/berth.json.
  const nodeOptions = [DEPLOY_NODE_OPTIONS, process.env.BERTH_BENCH_NODE_OPTIONS ?? ''].filter(Boolean).join(' ');
  const env: Record<string, string> = {
    BERTH_MARATHON_URLS: sim.url,
    BERTH_HTTP_ADDR: '127.0.0.1:0',
    BERTH_DNS_ADDR: '127.0.0.1:0',
    BERTH_DATA_DIR: path.join(dir, tag, 'var'),
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
    ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
  };
  const launch = async (): Promise<BenchCluster> => {
    [firstFetchAt, berthPid, cpuAtFirstFetch] = [0, 0, { user: 0, sys: 0 }];
    const spawnedAt = performance.now();
    // The pid before berth listens: its first `GET /v2/apps` may come before the listening line is read.
    const berth = await startBerthProcess(env, undefined, (pid) => (berthPid = pid));
    cleanups.push(() => berth.stop());
    const dnsPort = Number(
      await until(() => /"port":(\d+),"zones":\[[^\]]*\],"msg":"dns: listening/.exec(berth.output())?.[1], 30_000, "the DNS port in berth's log"),
    );
    const dns = new DnsProbe('127.0.0.1', dnsPort);
    cleanups.push(async () => dns.close());
    return {
      sim,
      berth,
      dns,
      nginxDir,
      reloadLog: reload.log,
      database: pg ? 'postgresql' : 'pglite',
      firstFetchAt: () => firstFetchAt,
      spawnedAt,
      cpuAtFirstFetch: () => cpuAtFirstFetch,
      restart: async () => {
        dns.close();
        await berth.stop();
        return launch();
      },
    };
  };
  return launch();
}

/** When each part of start-up was complete (performance.now() ms). */
export interface StartTimes {
  firstFetch: number;
  registry: number;
  dns: number;
  nginx: number;
  /** GET /readyz answered 200. */
  ready: number;
  /** berth's CPU from the first `GET /v2/apps` until all of the above (ms): its own, and the kernel's on its behalf. */
  cpu: { user: number; sys: number };
}

/**
 * Polls every 50 ms until the registry holds every app and task, DNS answers the last app with all
 * its tasks, every Nginx file is written and /readyz answers 200.
 */
export async function awaitStart(c: BenchCluster, apps: number): Promise<StartTimes> {
  const lastApp = `/bench/app-${apps - 1}`;
  const httpDir = path.join(c.nginxDir, 'default', 'http');
  const done = { registry: 0, dns: 0, nginx: 0, ready: 0 };
  await until(
    async () => {
      if (!done.registry) {
        const st = await getJson<{ services: number; endpoints: number }>(`${c.berth.url}/v1/registry/status`).catch(() => null);
        if (st && st.services >= apps && st.endpoints >= apps * TASKS_PER_APP) done.registry = performance.now();
      }
      if (!done.dns) {
        const a = await c.dns.query(srvName(lastApp), 33, 500);
        if (a && a.answers === TASKS_PER_APP) done.dns = performance.now();
      }
      if (!done.nginx && fs.existsSync(httpDir) && fs.readdirSync(httpDir).length >= apps) done.nginx = performance.now();
      if (!done.ready) {
        const r = await fetch(`${c.berth.url}/readyz`).catch(() => null);
        await r?.arrayBuffer();
        if (r?.status === 200) done.ready = performance.now();
      }
      return done.registry && done.dns && done.nginx && done.ready;
    },
    300_000,
    'the first snapshot to reach registry, DNS, Nginx and readiness',
    50,
  );
  const [at, from] = [cpuSplitMs(c.berth.pid), c.cpuAtFirstFetch()];
  return { firstFetch: c.firstFetchAt(), ...done, cpu: { user: at.user - from.user, sys: at.sys - from.sys } };
}
