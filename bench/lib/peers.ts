/**
 * Runs the other benchmarks (IPAM, DNS, Nginx; owned by their engineers) as child processes and
 * turns the JSON each writes under bench/results/ into figures with targets (docs/architecture.md "Performance targets"). Their
 * formats are theirs: a field that is missing becomes a figure with no value and a note.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fig, RESULTS_DIR, type Figure } from './results';
import { targetFig } from './targets';
import { DEPLOY_NODE_OPTIONS } from './deploy';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ChildRun {
  code: number | null;
  timedOut: boolean;
  seconds: number;
  json: Json | null;
  file: string | null;
  tail: string;
}

/** Runs `bench/<name>/run.ts`, prefixing its output lines; finds the JSON it wrote (newest `<name>-*.json`). */
export async function runPeerBench(name: string, quick: boolean, timeoutMs: number, log: (s: string) => void): Promise<ChildRun> {
  const started = Date.now();
  const before = new Set(fs.existsSync(RESULTS_DIR) ? fs.readdirSync(RESULTS_DIR) : []);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', name, 'run.ts'), ...(quick ? ['--quick'] : [])], {
    cwd: path.resolve(__dirname, '../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group, so a timeout also stops the servers it started
  });
  let tail = '';
  const onData = (d: Buffer) => {
    const text = d.toString();
    tail = (tail + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) log(`[${name}] ${line}`);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }, timeoutMs);
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  clearTimeout(timer);
  const fresh = fs.existsSync(RESULTS_DIR)
    ? fs
        .readdirSync(RESULTS_DIR)
        .filter((f) => f.startsWith(`${name}-`) && f.endsWith('.json') && !f.endsWith('-latest.json') && !before.has(f))
        .sort()
    : [];
  const file = fresh.length ? path.join(RESULTS_DIR, fresh[fresh.length - 1]) : null;
  let json: Json | null = null;
  try {
    json = file ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Json) : null;
  } catch {
    json = null;
  }
  return { code, timedOut, seconds: (Date.now() - started) / 1000, json, file, tail };
}

const num = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /-?\d/.test(v) ? Number(/-?[\d.]+/.exec(v.replace(/,/g, ''))![0]) : null;

/** IPAM: allocations/s at an empty /16, p99 at 99 % fill vs empty, duplicates. */
export function ipamFigures(j: Json): Figure[] {
  const B = 'ipam';
  const phases = (j.phases ?? []) as Json[];
  const empty = phases[0] ?? {};
  const full = phases[1] ?? {};
  const dup = j.duplicates ?? {};
  const dups = num(dup.responses) !== null ? (num(dup.responses) ?? 0) + (num(dup.rows) ?? 0) + (num(dup.ownersWithTwo) ?? 0) : null;
  return [
    fig(B, 'allocations/s over HTTP, 16 clients, PostgreSQL, empty /16', num(empty.allocationsPerSecond), '/s', { op: '>=', limit: 1000 }),
    fig(B, 'p50 / p99 latency, empty pool', num(empty.p99Ms), 'ms', undefined, `p50 ${num(empty.p50Ms)?.toFixed(2)} ms`),
    fig(B, 'p99 latency at 99 % fill', num(full.p99Ms), 'ms', undefined, `p50 ${num(full.p50Ms)?.toFixed(2)} ms`),
    fig(B, 'p99 at 99 % fill / p99 empty (baseline: empty pool)', num(j.p99Ratio), '×', { op: '<=', limit: 1.5 }),
    fig(B, 'duplicate IPs (responses + rows)', dups, '', { op: '<=', limit: 0, text: '0' }),
  ];
}

/** DNS: berth's QPS on one core, its ratio to NSD and dnsmasq, p99 at 2,000 QPS, RSS. */
export function dnsFigures(j: Json): Figure[] {
  const B = 'dns';
  const rs = (j.results ?? []) as Json[];
  const by = (n: string) => rs.find((r) => r.name === n && r.sat) ?? rs.find((r) => String(r.name).startsWith(n) && r.sat);
  const berth = by('berth');
  const nsd = by('nsd');
  const dnsmasq = by('dnsmasq');
  const heap = rs.find((r) => r.name === 'berth-heap' && r.sat);
  const floor = rs.find((r) => r.name === 'node-floor' && r.sat);
  const q = (r: Json | undefined) => num(r?.sat?.qps);
  const ratio = (a: number | null, b: number | null) => (a !== null && b ? a / b : null);
  const skipped = rs
    .filter((r) => r.skipped)
    .map((r) => `${r.name}: ${String(r.skipped).slice(0, 40)}`)
    .join('; ');
  return [
    fig(B, 'berth QPS on one core (dnsperf, 1,000 names, A/SRV/NXDOMAIN)', q(berth), 'QPS', { op: '>=', limit: 50000 }),
    targetFig(
      'dns.nsd-ratio',
      B,
      'berth / NSD QPS, same run',
      ratio(q(berth), q(nsd)),
      nsd
        ? `NSD ${q(nsd)?.toFixed(0)} QPS; by CPU per query ${ratio(num(nsd?.sat?.cpuUsPerQuery), num(berth?.sat?.cpuUsPerQuery))?.toFixed(2)} ×`
        : `NSD not measured${skipped ? ` (${skipped})` : ''}`,
    ),
    fig(
      B,
      'Node floor / NSD QPS, same run (bench/dns/node-floor.ts: a UDP responder that only copies the question and appends a fixed answer)',
      ratio(q(floor), q(nsd)),
      '×',
      undefined,
      floor
        ? `Node floor ${q(floor)?.toFixed(0)} QPS, ${num(floor.sat?.cpuUsPerQuery)?.toFixed(1)} µs CPU per query; berth / floor ${ratio(q(berth), q(floor))?.toFixed(2)} ×`
        : 'not measured',
    ),
    fig(
      B,
      'berth / dnsmasq QPS, same run (baseline)',
      ratio(q(berth), q(dnsmasq)),
      '×',
      undefined,
      dnsmasq ? `dnsmasq ${q(dnsmasq)?.toFixed(0)} QPS` : 'dnsmasq not measured',
    ),
    targetFig('dns.p99', B, 'berth p99 at 2,000 QPS', num(berth?.fix2k?.p99Ms), nsd ? `NSD p99 ${num(nsd?.fix2k?.p99Ms)?.toFixed(3)} ms` : undefined),
    targetFig(
      'dns.rss',
      B,
      'berth RSS after load',
      num(berth?.rssAfterMb),
      [berth?.names ? `${berth.names} names` : '', `NODE_OPTIONS=${DEPLOY_NODE_OPTIONS} as in deploy/marathon/berth.json`].filter(Boolean).join('; '),
    ),
    fig(B, 'berth RSS after load, young generation limited (src/dns/heap.ts)', num(heap?.rssAfterMb), 'MB', { op: '<=', limit: 100 }),
  ];
}

/** Nginx: the rows it prints, with the targets it states. */
export function nginxFigures(j: Json): Figure[] {
  const B = 'nginx';
  const rows = (j.rows ?? []) as Array<{ what: string; value: string; target: string }>;
  return rows.map((r) => {
    const v = num(r.value);
    const unit = /MB/.test(r.value) ? 'MB' : /ms/.test(r.value) ? 'ms' : '';
    const t = /^(≤|<|≥)?\s*([\d,.]+)/.exec(r.target ?? '');
    if (!t) return fig(B, r.what, v, unit, undefined, /\//.test(r.value) ? r.value : undefined);
    const op = t[1] === '≥' ? '>=' : t[1] === '<' ? '<' : '<=';
    return fig(B, r.what, v, unit, { op, limit: Number(t[2].replace(/,/g, '')), text: r.target });
  });
}
