/**
 * One result format for every benchmark: machine facts (commit, date, cores, Node, load average)
 * and a list of figures, each with its target and pass/fail, written as JSON and a Markdown table
 * under `bench/results/` so that two runs (two commits, two machines) can be compared.
 *
 * That folder is local: git ignores everything in it but `summary.json`, which
 * `npm run docs:operations` (scripts/operations-doc.ts) updates from the newest runs. Each write
 * keeps the last HISTORY_KEEP runs per benchmark, so the history stays small.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const RESULTS_DIR = path.resolve(__dirname, '..', 'results');
const repo = path.resolve(__dirname, '../..');

/** One measured number. `pass` is null when the figure has no target (context, baselines). */
export interface Figure {
  bench: string;
  what: string;
  value: number | null;
  unit: string;
  target: string | null;
  pass: boolean | null;
  note?: string;
  /** Set on the figure that measures one of the performance targets (bench/lib/targets.ts). */
  key?: string;
}

/** Machine and build facts recorded with every run. */
export interface Machine {
  commit: string;
  dirty: boolean | null;
  date: string;
  cores: number;
  cpu: string;
  node: string;
  memoryGb: number;
  /** 1/5/15-minute load averages at the start and end of the run (the machine may be shared). */
  loadStart: number[];
  loadEnd?: number[];
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** Facts about this machine and checkout, taken at the start of a run. */
export function machine(): Machine {
  const status = git(['status', '--porcelain', '--untracked-files=no']);
  return {
    commit: git(['rev-parse', 'HEAD']) ?? 'unknown',
    dirty: status === null ? null : status.length > 0,
    date: new Date().toISOString(),
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    loadStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** A figure with a numeric target: `cmp` says which side passes. */
export function fig(
  bench: string,
  what: string,
  value: number | null,
  unit: string,
  target?: { op: '<=' | '>=' | '<'; limit: number; text?: string },
  note?: string,
): Figure {
  if (!target) return { bench, what, value, unit, target: null, pass: null, note };
  const ok =
    value !== null &&
    Number.isFinite(value) &&
    (target.op === '<=' ? value <= target.limit : target.op === '>=' ? value >= target.limit : value < target.limit);
  const sym = target.op === '<=' ? '≤' : target.op === '>=' ? '≥' : '<';
  return { bench, what, value, unit, target: target.text ?? `${sym} ${target.limit} ${unit}`.trim(), pass: ok, note };
}

// Three significant digits: a ratio of 0.597 against a target of 0.6 must not print as 0.60.
export const fmt = (v: number | null): string =>
  v === null || !Number.isFinite(v)
    ? '—'
    : Math.abs(v) >= 100
      ? v.toFixed(0)
      : Math.abs(v) >= 10
        ? v.toFixed(1)
        : Math.abs(v) >= 1 || v === 0
          ? v.toFixed(2)
          : v.toFixed(3);

/** Markdown table of figures (bench, what, value, target, pass). */
export function markdownTable(figures: Figure[]): string {
  const lines = ['| bench | what | value | target | result |', '|---|---|---|---|---|'];
  for (const f of figures) {
    const result = f.pass === null ? '' : f.pass ? 'pass' : '**MISS**';
    const value = `${fmt(f.value)} ${f.unit}`.trim() + (f.note ? ` (${f.note})` : '');
    lines.push(`| ${f.bench} | ${f.what} | ${value} | ${f.target ?? ''} | ${result} |`);
  }
  return lines.join('\n');
}

/** Plain-text table for progress output on a terminal. */
export function printTable(figures: Figure[], out: (s: string) => void = (s) => process.stdout.write(`${s}\n`)): void {
  const rows = figures.map((f) => [f.bench, f.what, `${fmt(f.value)} ${f.unit}`.trim(), f.target ?? '', f.pass === null ? '' : f.pass ? 'pass' : 'MISS']);
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r[i].length), 4));
  for (const r of rows) out(r.map((c, i) => c.padEnd(widths[i])).join('  '));
}

/** Runs kept per benchmark in bench/results/ (older `<name>-<stamp>.json|md` files are removed). */
export const HISTORY_KEEP = 10;

/** Removes all but the newest `keep` timestamped runs of each benchmark in `dir`; returns the files removed. */
export function pruneHistory(dir = RESULTS_DIR, keep = HISTORY_KEEP): string[] {
  if (!fs.existsSync(dir)) return [];
  const stamped = /^(.+)-(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z)\.(json|md)$/;
  const runs = new Map<string, Set<string>>();
  for (const f of fs.readdirSync(dir)) {
    const m = stamped.exec(f);
    if (m) runs.set(m[1], (runs.get(m[1]) ?? new Set()).add(m[2]));
  }
  const removed: string[] = [];
  for (const [name, stamps] of runs) {
    for (const stamp of [...stamps].sort().reverse().slice(keep)) {
      for (const ext of ['json', 'md']) {
        const file = path.join(dir, `${name}-${stamp}.${ext}`);
        if (fs.existsSync(file)) {
          fs.rmSync(file);
          removed.push(file);
        }
      }
    }
  }
  return removed;
}

/**
 * Writes `<name>-<stamp>.json` and `.md` plus `<name>-latest.json` (and prunes the history); returns the JSON path.
 * `appendix(m)` adds a Markdown section after the table, given the machine with its end load.
 */
export function writeRun(name: string, m: Machine, figures: Figure[], extra: Record<string, unknown> = {}, appendix?: (m: Machine) => string): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  m.loadEnd ??= os.loadavg().map((l) => Math.round(l * 100) / 100);
  const stamp = m.date.replace(/[:.]/g, '-');
  const json = { name, machine: m, figures, ...extra };
  const file = path.join(RESULTS_DIR, `${name}-${stamp}.json`);
  fs.writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  fs.writeFileSync(path.join(RESULTS_DIR, `${name}-latest.json`), `${JSON.stringify(json, null, 2)}\n`);
  const md = [
    `# ${name} — ${m.date}`,
    '',
    `commit \`${m.commit}\`${m.dirty ? ' (uncommitted changes)' : ''} · ${m.cores} cores (${m.cpu}) · ${m.memoryGb} GB · Node ${m.node} · load average ${m.loadStart.join(' / ')} at start, ${m.loadEnd.join(' / ')} at end`,
    '',
    markdownTable(figures),
    '',
    ...(appendix ? [appendix(m)] : []),
  ].join('\n');
  fs.writeFileSync(file.replace(/\.json$/, '.md'), md);
  pruneHistory();
  return file;
}
