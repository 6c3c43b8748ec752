/**
 * `npm run bench`: every benchmark behind the targets in docs/architecture.md in one run, one after the other (they would skew
 * each other in parallel), with progress on stderr; one Markdown table and one JSON per run under
 * bench/results/ (`run-<date>.json|md` and `run-latest.json`), with commit, date, cores, Node and
 * the load average (the machine may be shared: compare runs at similar load). The run ends with
 * the performance targets side by side, met or missed (bench/lib/targets.ts), also in the run's .md.
 *
 *   node --import tsx bench/run.ts [--quick] [ipam] [events] [follow] [marathon] [dns] [nginx]
 *
 * Full: under 10 minutes on 2 cores; --quick: smaller sizes and shorter runs.
 */
import os from 'node:os';
import { runEventsBench } from './events/run';
import { runFollowBench } from './follow/run';
import { runMarathonBench } from './marathon/run';
import { dnsFigures, ipamFigures, nginxFigures, runPeerBench } from './lib/peers';
import { ensureTools } from './lib/tools';
import { fig, machine, markdownTable, printTable, writeRun, type Figure } from './lib/results';
import { printTargets, targetsMarkdown } from './lib/targets';

const ALL = ['ipam', 'events', 'follow', 'marathon', 'dns', 'nginx'] as const;
type Name = (typeof ALL)[number];

/** Per-benchmark time limits (s): a stuck benchmark is reported, the others still run. */
const LIMITS: Record<Name, { full: number; quick: number }> = {
  ipam: { full: 150, quick: 40 },
  events: { full: 240, quick: 90 },
  follow: { full: 240, quick: 90 },
  marathon: { full: 360, quick: 120 }, // step 1 includes 30 s of events at 20,000 apps
  dns: { full: 150, quick: 80 }, // quick: berth twice, NSD and the Node floor, then the 10,000-app index build
  nginx: { full: 320, quick: 70 }, // includes the off/lua comparison (bench/nginx/dynamic.ts)
};

const adapters = { ipam: ipamFigures, dns: dnsFigures, nginx: nginxFigures };

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const asked = process.argv.slice(2).filter((a) => !a.startsWith('--')) as Name[];
  const bad = asked.filter((a) => !ALL.includes(a));
  if (bad.length) {
    console.error(`unknown benchmark(s): ${bad.join(', ')}; choose from ${ALL.join(', ')}`);
    process.exit(2);
  }
  const names = asked.length ? ALL.filter((n) => asked.includes(n)) : [...ALL];
  const m = machine();
  const t0 = Date.now();
  const log = (s: string) => process.stderr.write(`${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s ${s}\n`);
  log(
    `berth bench (${quick ? 'quick' : 'full'}): ${names.join(', ')} · ${m.cores} cores · Node ${m.node} · load ${m.loadStart.join(' ')} · commit ${m.commit.slice(0, 12)}`,
  );
  const missing = ensureTools(log);
  const figures: Figure[] = [];
  if (missing.length) figures.push(fig('run', 'tools missing (benchmarks needing them did not run)', null, '', undefined, missing.join(', ')));
  const runs: Record<string, unknown> = {};
  for (const name of names) {
    const limit = LIMITS[name][quick ? 'quick' : 'full'];
    const started = Date.now();
    log(`── ${name} (limit ${limit} s, load ${os.loadavg()[0].toFixed(1)})`);
    if (name === 'events' || name === 'follow' || name === 'marathon') {
      const run = { events: runEventsBench, follow: runFollowBench, marathon: runMarathonBench }[name];
      try {
        const res = await withTimeout(run({ quick, log: (s) => log(`[${name}] ${s}`) }), limit * 1000);
        figures.push(...res.figures);
        runs[name] = { seconds: (Date.now() - started) / 1000, ...res.extra };
      } catch (err) {
        figures.push(fig(name, 'benchmark did not complete', null, '', { op: '<=', limit: 0, text: 'completes' }, String(err).slice(0, 200)));
        runs[name] = { seconds: (Date.now() - started) / 1000, error: String(err) };
      }
    } else {
      const r = await runPeerBench(name, quick, limit * 1000, log);
      runs[name] = { seconds: r.seconds, exitCode: r.code, timedOut: r.timedOut, file: r.file };
      if (r.json) figures.push(...adapters[name](r.json));
      else
        figures.push(
          fig(
            name,
            'benchmark did not complete',
            null,
            '',
            { op: '<=', limit: 0, text: 'completes' },
            r.timedOut ? `stopped after ${limit} s` : `exit ${r.code}: ${r.tail.trim().split('\n').pop()?.slice(0, 160)}`,
          ),
        );
    }
    log(`── ${name} done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  const seconds = (Date.now() - t0) / 1000;
  figures.push(fig('run', `whole ${quick ? 'quick' : 'full'} run`, seconds, 's', { op: '<', limit: quick ? 120 : 600 }));
  const file = writeRun(quick ? 'run-quick' : 'run', m, figures, { quick, benches: names, runs }, (mm) => targetsMarkdown(figures, mm));
  process.stderr.write('\n');
  printTable(figures);
  console.log('');
  printTargets(figures, m);
  console.log(
    `\n${markdownTable(figures).split('\n').length - 2} figures; ${figures.filter((f) => f.pass === false).length} missed targets; load average ${m.loadStart.join(' ')} → ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(`results: ${file} (and .md)`);
  // Results stay local (untracked); publishing them in docs/operations.md is an explicit step.
  console.log('to publish these figures in docs/operations.md: npm run docs:operations');
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`stopped after ${ms / 1000} s`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
