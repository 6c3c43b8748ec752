/**
 * The performance targets (docs/architecture.md), each defined once here: the benchmark that measures one makes its figure with
 * `targetFig` (the figure carries the target and the key), and every run ends with the table of all
 * of them side by side, met or missed, or "not measured" when the run did not include that benchmark.
 */
import { fig, fmt, type Figure, type Machine } from './results';

export interface IssueTarget {
  key: string;
  /** What is measured, as the target states it. */
  figure: string;
  unit: string;
  target: { op: '<=' | '>=' | '<'; limit: number; text?: string };
}

export const ISSUE_TARGETS = [
  {
    key: 'events.ready-10k',
    figure: '10k apps / 30k tasks: first GET /v2/apps → /readyz 200 and DNS answering',
    unit: 'ms',
    target: { op: '<=', limit: 2000, text: '≤ 2 s' },
  },
  { key: 'events.rss-10k', figure: 'peak RSS at 10k apps, through the snapshot and 30 s of events', unit: 'MB', target: { op: '<=', limit: 300 } },
  { key: 'events.rss-20k', figure: 'peak RSS at 20k apps / 60k tasks, through the snapshot and 30 s of events', unit: 'MB', target: { op: '<=', limit: 512 } },
  {
    key: 'events.replace-p99',
    figure: 'event → DNS p99 at 10k apps, 200 events/s, each a task killed and a new one at a new address',
    unit: 'ms',
    target: { op: '<=', limit: 100 },
  },
  { key: 'dns.nsd-ratio', figure: 'DNS QPS / NSD QPS, same run, one core each', unit: '×', target: { op: '>=', limit: 0.6 } },
  { key: 'dns.p99', figure: 'DNS p99 at 2,000 QPS', unit: 'ms', target: { op: '<', limit: 1 } },
  { key: 'dns.rss', figure: 'DNS server RSS with ~10k names', unit: 'MB', target: { op: '<=', limit: 100 } },
  { key: 'follow.p99', figure: 'follower: journal change → visible on the standby, p99', unit: 'ms', target: { op: '<=', limit: 200 } },
  { key: 'follow.reloads', figure: 'follower: full reloads while following', unit: 'reloads', target: { op: '<=', limit: 0, text: '0' } },
] as const satisfies readonly IssueTarget[];

export type TargetKey = (typeof ISSUE_TARGETS)[number]['key'];

const byKey = (key: TargetKey): IssueTarget => ISSUE_TARGETS.find((t) => t.key === key)!;

/**
 * The figure for one performance target: its unit and target from the table above, marked with its key.
 * `judged` false (a quick run, smaller than the target's scale): shown with its target, neither met nor missed.
 */
export function targetFig(key: TargetKey, bench: string, what: string, value: number | null, note?: string, judged = true): Figure {
  const t = byKey(key);
  const f = { ...fig(bench, what, value, t.unit, t.target, note), key };
  return judged ? f : { ...f, pass: null };
}

export interface TargetRow {
  figure: string;
  measured: string;
  target: string;
  result: 'met' | 'missed' | 'not judged' | 'not measured';
}

/** One row per target, in the table's order, from a run's figures (the last figure with a key wins). */
export function targetRows(figures: Figure[]): TargetRow[] {
  return ISSUE_TARGETS.map((t) => {
    const f = figures.filter((x) => x.key === t.key).pop();
    const target = fig('', '', 0, t.unit, t.target).target ?? '';
    if (!f) return { figure: t.figure, measured: '—', target, result: 'not measured' };
    const measured = `${fmt(f.value)} ${f.unit}`.trim() + (f.note ? ` (${f.note})` : '');
    return { figure: t.figure, measured, target, result: f.pass === null ? 'not judged' : f.pass ? 'met' : 'missed' };
  });
}

/** The "Performance targets" section of a run's Markdown. */
export function targetsMarkdown(figures: Figure[], m: Machine): string {
  return [
    '## Performance targets',
    '',
    `commit \`${m.commit.slice(0, 12)}\`${m.dirty ? ' (uncommitted changes)' : ''} · load average ${m.loadStart.join(' / ')} at start${m.loadEnd ? `, ${m.loadEnd.join(' / ')} at end` : ''}`,
    '',
    '| figure | measured | target | result |',
    '|---|---|---|---|',
    ...targetRows(figures).map((r) => `| ${r.figure} | ${r.measured} | ${r.target} | ${r.result === 'missed' ? '**missed**' : r.result} |`),
    '',
  ].join('\n');
}

/** The same table for a terminal, with a count per result. */
export function printTargets(figures: Figure[], m: Machine, out: (s: string) => void = (s) => process.stdout.write(`${s}\n`)): void {
  const rows = targetRows(figures);
  const cells = rows.map((r) => [r.figure, r.measured, r.target, r.result]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...cells.map((r) => r[i].length)));
  out(`Performance targets (commit ${m.commit.slice(0, 12)}, load ${m.loadStart.join(' ')} → ${(m.loadEnd ?? []).join(' ')}):`);
  for (const r of cells) out(`  ${r.map((c, i) => c.padEnd(widths[i])).join('  ')}`);
  const count = (k: TargetRow['result']) => rows.filter((r) => r.result === k).length;
  out(`  ${count('met')} met, ${count('missed')} missed, ${count('not judged')} not judged (quick scale), ${count('not measured')} not measured in this run`);
}
