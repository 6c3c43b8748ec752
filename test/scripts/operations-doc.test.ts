/**
 * docs/operations.md is generated from the tracked bench/results/summary.json, and only by
 * `npm run docs:operations`. This suite is the docs check inside `npm test` (and CI): the committed
 * document is exactly what the committed summary renders to, and the summary has rows for every
 * fault test. The rest checks the rules on copies in temp folders: tests never write tracked files.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pruneHistory } from '../../bench/lib/results';
import { checkOperationsDoc, faultTests, mergeSummary, readSummary, renderOperationsDoc, type Summary } from '../../scripts/operations-doc';

const summary = readSummary();
const tests = faultTests();
const run = (name: string, date: string, benches: string[]) => ({
  name,
  machine: { commit: 'c0ffee', dirty: false, date, cores: 2, cpu: 'x', node: 'v20', memoryGb: 4, loadStart: [1, 1, 1] },
  figures: benches.map((bench) => ({ bench, what: `${bench} speed`, value: 1, unit: '/s', target: null, pass: null })),
});
const noLocal = { runs: [], own: new Map(), faults: null };

describe('the committed docs/operations.md', () => {
  it('is current: rendered from bench/results/summary.json, with rows for every fault test in test/faults', () => {
    expect(checkOperationsDoc()).toEqual([]);
  });

  it('is checked against the fault tests this checkout has (so the check above is not vacuous)', () => {
    expect(tests.size).toBeGreaterThan(0);
    expect([...tests.values()].every(Boolean)).toBe(true);
  });
});

describe('docs check', () => {
  const doc = renderOperationsDoc(summary);

  it('reports a document edited by hand, or missing', () => {
    expect(checkOperationsDoc(summary, doc.replace('Failure matrix', 'Failure list'), tests)).toEqual([
      expect.stringMatching(/not what bench\/results\/summary\.json renders to/),
    ]);
    expect(checkOperationsDoc(summary, null, tests)).toEqual([expect.stringMatching(/missing/)]);
  });

  it('reports a fault test with no row, a test that records none, and rows whose test is gone', () => {
    const more = new Map([...tests, ['new-fault.test.ts', 'new-fault'], ['silent.test.ts', '']]);
    expect(checkOperationsDoc(summary, doc, more)).toEqual([
      expect.stringMatching(/^test\/faults\/new-fault\.test\.ts has no row/),
      expect.stringMatching(/^test\/faults\/silent\.test\.ts records no rows/),
    ]);
    const fewer = new Map([...tests].slice(1));
    expect(checkOperationsDoc(summary, doc, fewer)).toEqual([expect.stringMatching(new RegExp(`rows from "${[...tests.values()][0]}", which no test`))]);
  });
});

describe('docs:operations takes newer local results into the summary', () => {
  const base: Summary = { benchmarks: [{ benches: ['ipam', 'events'], run: run('run', '2026-01-01T00:00:00.000Z', ['ipam', 'events']) }], faults: null };

  it('without local results changes nothing (a fresh clone renders the same document)', () => {
    expect(renderOperationsDoc(mergeSummary(summary, noLocal))).toBe(renderOperationsDoc(summary));
  });

  it('a newer full run replaces the figures it measured; a newer quick run does not replace a full one', () => {
    const merged = mergeSummary(base, {
      ...noLocal,
      runs: [run('run', '2026-02-01T00:00:00.000Z', ['ipam']), run('run-quick', '2026-03-01T00:00:00.000Z', ['ipam', 'events', 'dns'])],
    });
    expect(merged.benchmarks.map((b) => [b.run.name, b.run.machine.date.slice(0, 7), b.benches])).toEqual([
      ['run', '2026-02', ['ipam']],
      ['run', '2026-01', ['events']],
      ['run-quick', '2026-03', ['dns']],
    ]);
    // Only the figures shown are kept.
    expect(merged.benchmarks[1].run.figures.map((f) => f.bench)).toEqual(['events']);
  });

  it('the newer fault-suite run gives the failure matrix', () => {
    const faults = (date: string) => ({
      date,
      cores: 2,
      node: 'v20',
      loadavg: [1],
      faults: [{ fault: date, during: '', after: '', recoveryMs: 5, recoveryFrom: '', file: 'x' }],
    });
    expect(mergeSummary({ ...base, faults: faults('2026-02-01') }, { ...noLocal, faults: faults('2026-01-01') }).faults?.date).toBe('2026-02-01');
    expect(mergeSummary({ ...base, faults: faults('2026-01-01') }, { ...noLocal, faults: faults('2026-02-01') }).faults?.date).toBe('2026-02-01');
  });
});

describe('bench history', () => {
  it('keeps the newest runs of each benchmark and leaves every other file alone', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-results-'));
    try {
      const stamp = (i: number) => `2026-11-23T12-00-${String(i).padStart(2, '0')}-000Z`;
      for (let i = 0; i < 5; i++)
        for (const f of [`run-${stamp(i)}.json`, `run-${stamp(i)}.md`, `run-quick-${stamp(i)}.json`, `dns-${stamp(i)}.json`])
          fs.writeFileSync(path.join(dir, f), '{}');
      for (const f of ['summary.json', 'run-latest.json', 'faults-latest.json']) fs.writeFileSync(path.join(dir, f), '{}');
      expect(pruneHistory(dir, 2)).toHaveLength(3 * 4);
      expect(fs.readdirSync(dir).sort()).toEqual([
        `dns-${stamp(3)}.json`,
        `dns-${stamp(4)}.json`,
        'faults-latest.json',
        `run-${stamp(3)}.json`,
        `run-${stamp(3)}.md`,
        `run-${stamp(4)}.json`,
        `run-${stamp(4)}.md`,
        'run-latest.json',
        `run-quick-${stamp(3)}.json`,
        `run-quick-${stamp(4)}.json`,
        'summary.json',
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
