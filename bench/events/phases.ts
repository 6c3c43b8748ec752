/** The measured phases of the events benchmark, each against a running simulator and berth child. */
import fs from 'node:fs';
import path from 'node:path';
import type { Simulator, SimTask } from '../../src/sim';
import { taskLabels } from '../../src/dns/records';
import type { DnsAnswer, DnsProbe } from '../lib/dns-probe';
import { cpuMs } from '../lib/stats';

export const domainOf = (appId: string): string => `${appId.split('/').pop()}.bench.berth.internal`;
export const srvName = (appId: string): string => `_http._tcp.${domainOf(appId)}`;

/** Serving tasks of an app as berth should publish them (seeded apps have no health checks). */
export const runningCount = (sim: Simulator, appId: string): number => sim.control.tasks(appId).filter((t) => t.state === 'TASK_RUNNING').length;

export async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  return (await r.json()) as T;
}

/** Polls until `probe` is truthy; throws after the deadline. */
export async function until<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  what: string,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** An event not in DNS after this long counts as missed (and keeps the p99 honest: it is not a sample). */
export const MAX_WAIT_MS = 30_000;

export interface LatencyResult {
  latencies: number[];
  missed: number;
  events: number;
  seconds: number;
  cpuMs: number;
  simCpuMs: number;
  fullFetches: number;
  appFetches: number;
  requests: number;
}

export interface LatencyOptions {
  rate: number;
  count: number;
  /**
   * 'state-flap' (default): a running task goes TASK_KILLING or back; confirmed when DNS shows at
   * most the serving tasks Marathon had right after it (flips in one pass only remove tasks, so "at
   * most" also accepts an answer that includes a later flip). 'replace': a task is killed and a new
   * one starts at a new address; confirmed when the SRV answer has the new task (its per-task name
   * and port) and no longer the killed one.
   */
  kind?: 'state-flap' | 'replace';
  /** Each confirmed event: its app, when it was emitted and when DNS showed it (performance.now() ms). */
  onSeen?: (appId: string, emittedAt: number, seenAt: number) => void;
}

/** The per-task SRV target label berth gives a task (src/dns/records.ts), as the start of its name. */
const taskTarget = (task: SimTask): string => `${taskLabels([task.id])[0]}.`;

/** Whether an SRV answer shows `task` (name and port) and not `gone`. */
function showsReplacement(a: DnsAnswer, task: SimTask, gone: SimTask): boolean {
  const want = taskTarget(task);
  const old = taskTarget(gone);
  return a.srv.some((r) => r.target.startsWith(want) && r.port === task.ports[0]) && !a.srv.some((r) => r.target.startsWith(old));
}

/**
 * Pumps `count` task events at `rate`/s and watches DNS: every 20 ms, one SRV query per app with
 * unconfirmed events (one query per app, not per event, so that watching does not load berth).
 */
export async function measureEventLatency(sim: Simulator, dns: DnsProbe, berthPid: number, opts: LatencyOptions): Promise<LatencyResult> {
  const { rate, count, onSeen } = opts;
  const latencies: number[] = [];
  let missed = 0;
  const pending = new Map<string, Array<{ shown: (a: DnsAnswer) => boolean; at: number }>>();
  sim.control.resetCounts();
  const cpu0 = cpuMs(berthPid);
  const sim0 = process.cpuUsage();
  const t0 = performance.now();
  const onEmit = (task: SimTask, at: number, replaced?: SimTask) => {
    const list = pending.get(task.appId) ?? [];
    if (replaced) list.push({ shown: (a) => showsReplacement(a, task, replaced), at });
    else {
      const expected = runningCount(sim, task.appId);
      list.push({ shown: (a) => (a.rcode === 3 ? 0 : a.answers) <= expected, at });
    }
    pending.set(task.appId, list);
  };
  const p = sim.control.pump({ ratePerSec: rate, count, kind: opts.kind ?? 'state-flap', onEmit });
  let pumping = true;
  void p.done.then(() => {
    pumping = false;
  });
  while (pumping || pending.size > 0) {
    const tick = performance.now();
    await Promise.all(
      [...pending.keys()].map(async (appId) => {
        const a = await dns.query(srvName(appId), 33, 1000);
        const now = performance.now();
        const left = (pending.get(appId) ?? []).filter((e) => {
          if (a && e.shown(a)) {
            latencies.push(now - e.at);
            onSeen?.(appId, e.at, now);
            return false;
          }
          if (now - e.at > MAX_WAIT_MS) {
            missed++;
            return false;
          }
          return true;
        });
        if (left.length) pending.set(appId, left);
        else pending.delete(appId);
      }),
    );
    await new Promise((r) => setTimeout(r, Math.max(0, 20 - (performance.now() - tick))));
  }
  const events = await p.done;
  const seconds = (performance.now() - t0) / 1000;
  const counts = sim.control.counts();
  const appFetches = Object.entries(counts)
    .filter(([k]) => k.startsWith('GET /v2/apps/'))
    .reduce((s, [, v]) => s + v, 0);
  const requests = Object.values(counts).reduce((s, v) => s + v, 0);
  const simCpu = process.cpuUsage(sim0);
  return {
    latencies,
    missed,
    events,
    seconds,
    cpuMs: cpuMs(berthPid) - cpu0,
    simCpuMs: (simCpu.user + simCpu.system) / 1000,
    fullFetches: counts['GET /v2/apps'] ?? 0,
    appFetches,
    requests,
  };
}

export interface BurstResult {
  changes: number;
  reloads: number;
  intervalsSpanned: number;
  settleMs: number;
}

/** 1,000 changes at once; counts reload command runs until Nginx has caught up and stays quiet. */
export async function measureReloadBurst(sim: Simulator, berthUrl: string, reloadLog: string, intervalMs: number, changes: number): Promise<BurstResult> {
  const reloadsNow = () => (fs.existsSync(reloadLog) ? fs.readFileSync(reloadLog, 'utf8').split('\n').filter(Boolean).map(Number) : []);
  const before = reloadsNow().length;
  const t0 = Date.now();
  await sim.control.pump({ ratePerSec: changes * 10, count: changes, kind: 'state-flap' }).done;
  // Caught up: Nginx applied the registry's latest position; then quiet for two intervals.
  await until(
    async () => {
      const reg = await getJson<{ position: number }>(`${berthUrl}/v1/registry/status`);
      const st = await getJson<{ appliedPosition: number | null }>(`${berthUrl}/v1/sync/status`);
      return st.appliedPosition !== null && st.appliedPosition >= reg.position;
    },
    120_000,
    'nginx to apply the burst',
    200,
  );
  let seen = reloadsNow().length;
  await until(
    async () => {
      await new Promise((r) => setTimeout(r, intervalMs * 2));
      const n = reloadsNow().length;
      const quiet = n === seen;
      seen = n;
      return quiet;
    },
    60_000,
    'reloads to stop',
    0,
  );
  const stamps = reloadsNow().slice(before);
  const last = stamps.length ? Math.max(...stamps) : t0;
  return { changes, reloads: stamps.length, intervalsSpanned: Math.max(1, Math.ceil((last - t0) / intervalMs)), settleMs: last - t0 };
}

/** Writes the counting reload command: one line (epoch ms) per invocation. */
export function reloadCounter(dir: string): { cmd: string; log: string } {
  const log = path.join(dir, 'reloads.log');
  const script = path.join(dir, 'reload.sh');
  fs.writeFileSync(script, `#!/bin/sh\necho $(($(date +%s%N)/1000000)) >> '${log}'\n`, { mode: 0o755 });
  return { cmd: `sh '${script}'`, log };
}
