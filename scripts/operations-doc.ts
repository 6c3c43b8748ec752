/**
 * docs/operations.md, generated (never typed by hand) from the one tracked results file,
 * bench/results/summary.json: per benchmark the figures of the run they come from, next to their
 * targets, and the failure matrix of the fault suite.
 *
 * Benchmark and fault-suite runs write their results under bench/results/, untracked (git ignores
 * all of it but summary.json). Publishing them is an explicit step:
 *
 *   npm run docs:operations   newer local results → summary.json → docs/operations.md
 *   npm run docs:check        fails when docs/operations.md is not what summary.json renders to,
 *                             or when a fault test in test/faults has no row (or a row has no test)
 *
 * "Current" cannot mean "matches a fresh run": recovery times and throughput vary from run to run.
 * It means the committed document is exactly the committed measurements, rendered, and those
 * measurements cover every fault test there is.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fmt, markdownTable, RESULTS_DIR, type Figure, type Machine } from '../bench/lib/results';

const root = path.resolve(__dirname, '..');
export const SUMMARY_FILE = path.join(RESULTS_DIR, 'summary.json');
export const DOC_FILE = path.join(root, 'docs', 'operations.md');
const FAULTS_DIR = path.join(root, 'test', 'faults');
const BENCHES = ['ipam', 'events', 'follow', 'marathon', 'dns', 'nginx'] as const;
/** Benchmarks that also write their own `<name>-latest.json` when run alone. */
const OWN_LATEST = ['events', 'marathon'];

interface Run {
  name: string;
  machine: Machine;
  figures: Figure[];
}
interface FaultRow {
  fault: string;
  during: string;
  after: string;
  recoveryMs: number | null;
  recoveryFrom: string;
  file: string;
}
interface Faults {
  date: string;
  cores: number;
  node: string;
  loadavg: number[];
  faults: FaultRow[];
}

/** The tracked measurements docs/operations.md is rendered from. */
export interface Summary {
  /** One entry per run that figures come from, with the benchmarks taken from it. */
  benchmarks: Array<{ benches: string[]; run: Run }>;
  faults: Faults | null;
}

const readJson = <T>(file: string): T | null => {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
};

export function readSummary(): Summary {
  return readJson<Summary>(SUMMARY_FILE) ?? { benchmarks: [], faults: null };
}

const isRun = (r: Run | null): r is Run => r !== null && Array.isArray(r.figures) && typeof r.machine?.date === 'string';
const measured = (r: Run, bench: string) => r.figures.some((f) => f.bench === bench && f.what !== 'benchmark did not complete');

/** Local (untracked) results: every combined run, the events and marathon benchmarks' own latest, the fault suite's latest. */
function localResults(): { runs: Run[]; own: Map<string, Run>; faults: Faults | null } {
  const files = fs.existsSync(RESULTS_DIR) ? fs.readdirSync(RESULTS_DIR) : [];
  const runs = files
    .filter((f) => /^run(-quick)?-\d.*\.json$/.test(f))
    .map((f) => readJson<Run>(path.join(RESULTS_DIR, f)))
    .filter(isRun);
  const own = new Map<string, Run>();
  for (const bench of OWN_LATEST) {
    const r = readJson<Run>(path.join(RESULTS_DIR, `${bench}-latest.json`));
    if (isRun(r)) own.set(bench, r);
  }
  return { runs, own, faults: readJson<Faults>(path.join(RESULTS_DIR, 'faults-latest.json')) };
}

/**
 * The summary with newer local results taken in: per benchmark the newest full run that measured
 * it (a run may cover only some benchmarks), else the newest quick run, else (events, marathon) that
 * benchmark's own file; the fault matrix of the newer fault-suite run. With no local results it is
 * `current` unchanged.
 */
export function mergeSummary(current: Summary, local = localResults()): Summary {
  const byKey = new Map<string, Run>();
  for (const r of [...current.benchmarks.map((b) => b.run), ...local.runs]) byKey.set(`${r.name}@${r.machine.date}`, r);
  const runs = [...byKey.values()].sort((a, b) => b.machine.date.localeCompare(a.machine.date));
  const benchmarks: Summary['benchmarks'] = [];
  for (const bench of BENCHES) {
    const run = runs.find((r) => r.name === 'run' && measured(r, bench)) ?? runs.find((r) => measured(r, bench)) ?? local.own.get(bench) ?? null;
    if (!run) continue;
    const slot = benchmarks.find((p) => p.run === run);
    if (slot) slot.benches.push(bench);
    else benchmarks.push({ benches: [bench], run });
  }
  // Only the figures the document shows are kept: the summary stays one small file.
  for (const b of benchmarks) b.run = { ...b.run, figures: b.run.figures.filter((f) => b.benches.includes(f.bench) || f.bench === 'run') };
  const faults =
    [current.faults, local.faults].filter((f): f is Faults => f !== null && Array.isArray(f.faults)).sort((a, b) => b.date.localeCompare(a.date))[0] ?? null;
  return { benchmarks, faults };
}

/** The document for a summary (pure: the check renders it again and compares). */
export function renderOperationsDoc(s: Summary): string {
  const lines: string[] = [
    '# Operations: measured behaviour',
    '',
    '_Generated by `npm run docs:operations` from `bench/results/summary.json`; do not edit by hand (`npm run docs:check` compares them)._',
    '',
  ];
  lines.push('## Figures', '', 'The targets are explained in [architecture.md](architecture.md#performance-targets).', '');
  for (const { run: r, benches } of s.benchmarks) {
    const m = r.machine;
    lines.push(
      `${benches.join(', ')}: from \`${r.name}\` at ${m.date}, commit \`${m.commit.slice(0, 12)}\`${m.dirty ? ' (with uncommitted changes)' : ''}, ${m.cores} cores, Node ${m.node}, load average ${m.loadStart.join(' / ')} at start${m.loadEnd ? `, ${m.loadEnd.join(' / ')} at end` : ''} (a shared machine: compare runs at similar load).`,
      '',
      markdownTable(r.figures.filter((f) => benches.includes(f.bench) || f.bench === 'run')),
      '',
    );
  }
  if (s.benchmarks.length === 0) lines.push('No benchmark results yet: run `npm run bench`, then `npm run docs:operations`.', '');
  const missed = s.benchmarks.flatMap(({ run: r, benches }) => r.figures.filter((f) => f.pass === false && benches.includes(f.bench)));
  if (missed.length) {
    lines.push('### Targets missed in these runs', '', 'What limits each and what would move it: README, "Benchmarks and faults".', '');
    for (const f of missed)
      lines.push(
        `- ${f.bench}: ${f.what}: ${f.value === null ? 'no value' : `${fmt(f.value)} ${f.unit}`.trim()} (target ${f.target})${f.note ? `; ${f.note}` : ''}`,
      );
    lines.push('');
  }
  const faults = s.faults;
  lines.push('## Failure matrix (`npm run test:faults`)', '');
  if (faults) {
    lines.push(
      `From the fault suite at ${faults.date} (${faults.cores} cores, Node ${faults.node}, load ${faults.loadavg.join(' / ')}). Recovery is measured, not estimated.`,
      '',
    );
    lines.push('| fault | what users see during | after | recovery | measured from |', '|---|---|---|---|---|');
    const esc = (t: string) => t.replace(/\|/g, '\\|').replace(/\n/g, ' ');
    for (const f of faults.faults)
      lines.push(
        `| ${esc(f.fault)} | ${esc(f.during)} | ${esc(f.after)} | ${f.recoveryMs === null ? '—' : f.recoveryMs < 1000 ? `${f.recoveryMs} ms` : `${(f.recoveryMs / 1000).toFixed(1)} s`} | ${esc(f.recoveryFrom)} |`,
      );
    lines.push('');
  } else lines.push('No fault-suite results yet: run `npm run test:faults`, then `npm run docs:operations`.', '');
  return `${lines.join('\n')}\n`;
}

/** The name each fault test file records its rows under (`new FaultLog('<name>')`), by file. */
export function faultTests(dir = FAULTS_DIR): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.test.ts'))
    .sort()) {
    const name = /new FaultLog\((['"])([^'"]+)\1\)/.exec(fs.readFileSync(path.join(dir, f), 'utf8'))?.[2];
    out.set(f, name ?? '');
  }
  return out;
}

/** What makes the committed document not current; empty when it is. */
export function checkOperationsDoc(
  s: Summary = readSummary(),
  doc = fs.existsSync(DOC_FILE) ? fs.readFileSync(DOC_FILE, 'utf8') : null,
  tests = faultTests(),
): string[] {
  const problems: string[] = [];
  if (doc === null) problems.push('docs/operations.md is missing: run `npm run docs:operations`');
  else if (doc !== renderOperationsDoc(s))
    problems.push(
      'docs/operations.md is not what bench/results/summary.json renders to (edited by hand, or the summary changed): run `npm run docs:operations` and commit both',
    );
  const rows = new Set((s.faults?.faults ?? []).map((f) => f.file));
  for (const [file, name] of tests) {
    if (!name) problems.push(`test/faults/${file} records no rows (no \`new FaultLog('<name>')\`): every fault test belongs in the failure matrix`);
    else if (!rows.has(name))
      problems.push(`test/faults/${file} has no row in the failure matrix: run \`npm run test:faults\`, then \`npm run docs:operations\``);
  }
  const names = new Set(tests.values());
  for (const file of rows)
    if (!names.has(file))
      problems.push(
        `the failure matrix has rows from "${file}", which no test in test/faults records any more: run \`npm run test:faults\`, then \`npm run docs:operations\``,
      );
  return problems;
}

/** Takes newer local results into bench/results/summary.json and renders docs/operations.md from it; returns the document's path. */
export function writeOperationsDoc(): string {
  const summary = mergeSummary(readSummary());
  fs.mkdirSync(path.dirname(SUMMARY_FILE), { recursive: true });
  fs.writeFileSync(SUMMARY_FILE, `${JSON.stringify(summary, null, 2)}\n`);
  fs.mkdirSync(path.dirname(DOC_FILE), { recursive: true });
  fs.writeFileSync(DOC_FILE, renderOperationsDoc(summary));
  return DOC_FILE;
}

if (require.main === module) {
  if (process.argv.includes('--check')) {
    const problems = checkOperationsDoc();
    for (const p of problems) process.stderr.write(`docs:check: ${p}\n`);
    if (problems.length) process.exit(1);
    process.stdout.write('docs:check: docs/operations.md is current (rendered from bench/results/summary.json, every fault test has its rows)\n');
  } else {
    const doc = writeOperationsDoc();
    process.stdout.write(`wrote ${path.relative(process.cwd(), SUMMARY_FILE)} and ${path.relative(process.cwd(), doc)}\n`);
  }
}
