/**
 * The events benchmark's start and replacements at a larger cluster (bench/marathon runs it at
 * 20,000 apps / 60,000 tasks): a fresh simulator and berth, the start, then replacements at `rate`;
 * berth's peak RSS through both is the figure (target: ≤ 512 MB at 20,000 apps). The burst,
 * baseline and sync-cost parts of bench/events are not repeated: they answer other questions and
 * would make the whole benchmark longer than its budget.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEPLOY_NODE_OPTIONS } from '../lib/deploy';
import { fig, type Figure } from '../lib/results';
import { percentile, rssMb } from '../lib/stats';
import { targetFig } from '../lib/targets';
import { getJson, MAX_WAIT_MS, measureEventLatency, until } from './phases';
import { awaitStart, startCluster, TASKS_PER_APP } from './setup';

export interface ScaleOptions {
  /** The benchmark the figures belong to. */
  bench: string;
  apps: number;
  replacements: number;
  rate: number;
  log: (s: string) => void;
}

export async function runAtScale(opts: ScaleOptions): Promise<{ figures: Figure[]; extra: Record<string, unknown> }> {
  const { bench: B, apps, rate, log } = opts;
  // The target is at 20,000 apps: a smaller (quick) run reports its figure without judging it.
  const judged = apps >= 20_000;
  const scale = `${apps.toLocaleString('en')} apps / ${(apps * TASKS_PER_APP).toLocaleString('en')} tasks`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-scale-'));
  const cleanups: Array<() => Promise<void>> = [];
  const figures: Figure[] = [];
  try {
    const c = await startCluster(apps, dir, 'scale', cleanups);
    log(`${scale}: simulator seeded, berth started`);
    const t = await awaitStart(c, apps);
    const readyMs = Math.max(t.ready, t.dns) - t.firstFetch;
    const peakAtStart = rssMb(c.berth.pid).peak;
    log(`${scale}: ready in ${readyMs.toFixed(0)} ms, peak RSS ${peakAtStart.toFixed(0)} MB`);
    await until(
      async () => (await getJson<{ lastReloadAt: string | null }>(`${c.berth.url}/v1/sync/status`)).lastReloadAt !== null,
      120_000,
      'the first reload',
    );
    const lat = await measureEventLatency(c.sim, c.dns, c.berth.pid, { rate, count: opts.replacements, kind: 'replace' });
    const peak = rssMb(c.berth.pid).peak;
    log(`${scale}: ${lat.events} replacements, p99 ${percentile(lat.latencies, 99).toFixed(1)} ms, peak RSS ${peak.toFixed(0)} MB`);
    figures.push(
      targetFig(
        'events.rss-20k',
        B,
        `berth peak RSS, start through ${lat.seconds.toFixed(0)} s of replacements (${scale})`,
        peak,
        `${judged ? '' : `${apps.toLocaleString('en')} apps (--quick), not judged; `}${peakAtStart.toFixed(0)} MB after the start; NODE_OPTIONS=${DEPLOY_NODE_OPTIONS || '(none)'} as in deploy/marathon/berth.json`,
        judged,
      ),
    );
    figures.push(fig(B, `${scale}: first GET /v2/apps → /readyz 200 and DNS answering the last app`, readyMs, 'ms'));
    figures.push(fig(B, `${scale}: full snapshot → registry, DNS, files`, Math.max(t.registry, t.dns, t.nginx) - t.firstFetch, 'ms'));
    figures.push(
      fig(
        B,
        `${scale}: replacement → DNS SRV answer, p99 (${lat.events} at ${rate}/s)`,
        percentile(lat.latencies, 99),
        'ms',
        undefined,
        `p50 ${percentile(lat.latencies, 50).toFixed(1)} ms${lat.missed ? `; ${lat.missed} not seen within ${MAX_WAIT_MS / 1000} s` : ''}`,
      ),
    );
    return {
      figures,
      extra: { apps, tasks: apps * TASKS_PER_APP, readyMs, peakAtStartMb: peakAtStart, peakMb: peak, p99: percentile(lat.latencies, 99), missed: lat.missed },
    };
  } finally {
    const stopping = performance.now();
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    log(`${scale}: stopped and cleaned up in ${((performance.now() - stopping) / 1000).toFixed(1)} s`);
  }
}
