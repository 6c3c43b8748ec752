/**
 * DNS benchmark: dnsperf against berth, NSD and dnsmasq serving the same 1,000 services (about 10,000 names) and query mix,
 * each server pinned to core 0 and dnsperf to core 1 (method: docs/dns.md).
 *
 *   node --import tsx bench/dns/run.ts [--quick]
 *
 * Needs the Debian packages dnsperf, nsd and dnsmasq (a missing server is skipped and reported).
 * Prints a table and writes bench/results/dns-<timestamp>.json with the core count and git commit.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeBenchFiles, ZONE } from './data';
import { measureIndexBuild } from './index-build';
import { cpuSeconds, FLOOR, have, priority, query, rssMb, serverSpecs, start, stop, udpQuery, type Running } from './servers';

const repo = path.resolve(__dirname, '../..');
const quick = process.argv.includes('--quick');
const SAT_S = quick ? 4 : 15;
const FIX_S = quick ? 4 : 10;
const WARM_S = quick ? 1 : 2;
// The quick run keeps what the targets need: the reference (NSD) and berth with and without the
// young-generation limit (the RSS a DNS-only process can have), within bench/run.ts's time limit; the full
// run adds the dnsmasq baseline.
const QUICK_SERVERS = ['berth', 'berth-heap', 'nsd', FLOOR];
/** Targets, each measured in the same run against NSD on the same core (docs/dns.md "Measured before and after"). */
export const TARGETS = { nsdRatio: 0.6, p99Ms: 1, rssMb: 100, rssNames: 10_000 };

interface RunResult {
  qps: number;
  sent: number;
  completed: number;
  lost: number;
  avgMs: number;
  p50Ms?: number;
  p99Ms?: number;
  cpuUsPerQuery: number;
}
interface ServerResult {
  name: string;
  skipped?: string;
  probe?: string;
  rssIdleMb?: number;
  rssAfterMb?: number;
  /** Names in berth's index (the RSS target is for 10,000). */
  names?: number;
  sat?: RunResult;
  fix2k?: RunResult;
  answersMatch?: boolean;
}

function dnsperf(port: number, queries: string, args: string[]): string {
  const cmd = [...priority(), 'taskset', '-c', '1', 'dnsperf', '-s', '127.0.0.1', '-p', String(port), '-d', queries, ...args];
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', maxBuffer: 512 << 20 });
  return r.stdout + r.stderr;
}

function parse(out: string, cpuS: number): RunResult {
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  const completed = num(/Queries completed:\s+(\d+)/);
  const r: RunResult = {
    qps: num(/Queries per second:\s+([\d.]+)/),
    sent: num(/Queries sent:\s+(\d+)/),
    completed,
    lost: num(/Queries lost:\s+(\d+)/),
    avgMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    cpuUsPerQuery: completed > 0 ? (cpuS * 1e6) / completed : NaN,
  };
  const lat = out
    .split('\n')
    .filter((l) => l.startsWith('> '))
    .map((l) => Number(l.trim().split(/\s+/).pop()))
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  if (lat.length > 0) {
    r.p50Ms = lat[Math.floor(lat.length * 0.5)] * 1000;
    r.p99Ms = lat[Math.floor(lat.length * 0.99)] * 1000;
  }
  return r;
}

function measured(s: Running, queries: string, args: string[]): RunResult {
  const c0 = cpuSeconds(s.proc.pid!);
  const out = dnsperf(s.port, queries, args);
  return parse(out, cpuSeconds(s.proc.pid!) - c0);
}

/** Answer section of a reply as comparable text (types, data order-free), to check that all servers agree. */
async function answers(port: number): Promise<string> {
  const parts: string[] = [];
  for (const [name, type] of [
    [`svc7.${ZONE}`, 1],
    [`_http._tcp.svc7.${ZONE}`, 33],
    [`nosuch1.${ZONE}`, 1],
  ] as const) {
    const r = await udpQuery(port, query(name, type), 1000);
    parts.push(r ? `${name}/${type}: rcode=${r[3] & 15} an=${r.readUInt16BE(6)}` : `${name}: no reply`);
  }
  return parts.join('; ');
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function versions(): Record<string, string> {
  const out: Record<string, string> = { node: process.version };
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Package} ${Version}\\n', 'dnsperf', 'nsd', 'dnsmasq-base'], { encoding: 'utf8' });
  for (const line of (r.stdout ?? '').split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v) out[k] = v;
  }
  return out;
}

/** `<name>.ts` of this folder bundled by esbuild into `dir`; returns the bundle's path. */
function bundled(dir: string, name: string, external: string[]): string {
  const outfile = path.join(dir, `${name}.js`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('esbuild').buildSync({
    entryPoints: [path.join(__dirname, `${name}.ts`)],
    bundle: true,
    platform: 'node',
    target: 'node20',
    outfile,
    external,
    logLevel: 'error',
  });
  return outfile;
}

async function main(): Promise<void> {
  if (!have('dnsperf') || !have('taskset')) {
    console.error('dnsperf and taskset are required: apt-get install -y dnsperf util-linux');
    process.exit(1);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-dnsbench-'));
  const files = writeBenchFiles(dir);
  // Both servers run compiled, as deployed: under tsx the loader's own memory would count against their RSS.
  const bundle = bundled(dir, 'berth-server', ['pino', 'prom-client', 'ipaddr.js']);
  const floorBundle = bundled(dir, 'node-floor', []);

  const results: ServerResult[] = [];
  const specs = serverSpecs(dir, repo, bundle, floorBundle, 0).filter((sp) => !quick || QUICK_SERVERS.includes(sp.name));
  for (const spec of specs) {
    const bin = spec.name.startsWith('berth') || spec.name === FLOOR ? process.execPath : spec.command[spec.command.indexOf('taskset') + 3];
    if (!have(bin)) {
      results.push({ name: spec.name, skipped: `${bin} not installed` });
      continue;
    }
    let s: Running | null = null;
    try {
      s = await start(spec, path.join(dir, 'run', `${spec.name}.log`));
      const res: ServerResult = { name: spec.name, rssIdleMb: rssMb(s.proc.pid!) };
      const ready = /ready names=(\d+)/.exec(fs.readFileSync(path.join(dir, 'run', `${spec.name}.log`), 'utf8'));
      if (ready) res.names = Number(ready[1]);
      res.probe = await answers(s.port);
      dnsperf(s.port, files.queries, ['-l', String(WARM_S), '-q', '100']); // warm-up (JIT, caches)
      res.sat = measured(s, files.queries, ['-l', String(SAT_S), '-q', '100']);
      res.fix2k = measured(s, files.queries, ['-l', String(FIX_S), '-q', '500', '-Q', '2000', '-v']);
      res.rssAfterMb = rssMb(s.proc.pid!);
      results.push(res);
      console.error(`${spec.name}: ${res.sat.qps.toFixed(0)} QPS`);
    } catch (err) {
      results.push({ name: spec.name, skipped: String(err) });
    } finally {
      if (s) await stop(s);
    }
  }
  const probes = results.map((r) => r.probe).filter(Boolean);
  // The Node floor answers every name alike: it has no answers to compare.
  for (const r of results) if (!r.skipped && r.name !== FLOOR) r.answersMatch = r.probe === probes[0];

  report(results);
  // Index build at the scale of the targets in docs/architecture.md, in this (unpinned) process.
  const build = measureIndexBuild(10_000, quick ? 3 : 10);
  console.log(
    `\nindex build, ${build.apps} apps / ${build.names} names: cold ${build.coldMs.toFixed(0)} ms; after one app changed: p50 ${build.warmP50Ms.toFixed(0)} ms, max ${build.warmMaxMs.toFixed(0)} ms (run in 5 ms slices between queries)`,
  );
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = path.join(repo, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `dns-${stamp}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify(
      {
        bench: 'dns',
        at: new Date().toISOString(),
        quick,
        commit: gitCommit(),
        cores: os.cpus().length,
        loadavg: os.loadavg(),
        versions: versions(),
        method: {
          satSeconds: SAT_S,
          fixSeconds: FIX_S,
          outstanding: 100,
          fixedRate: 2000,
          serverCore: 0,
          dnsperfCore: 1,
          nice: priority().join(' ') || 'none',
        },
        targets: TARGETS,
        results,
        indexBuild: build,
      },
      null,
      2,
    ),
  );
  console.log(`\nwrote ${path.relative(repo, file)}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

function report(results: ServerResult[]): void {
  const berth = results.find((r) => r.name === 'berth' && r.sat);
  const f = (n: number | undefined, d = 0) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(d));
  // QPS depends on what else the machine runs; server CPU per query does not, so both are shown.
  const rows = [
    [
      'server',
      'sat QPS',
      'µs CPU/q',
      'QPS/core by CPU',
      'lost',
      'p50 @2k ms',
      'p99 @2k ms',
      'lost @2k',
      'RSS idle→after MB',
      'berth ratio QPS (CPU)',
      'same answers',
    ],
  ];
  for (const r of results) {
    if (r.skipped) {
      rows.push([r.name, `skipped: ${r.skipped.slice(0, 60)}`]);
      continue;
    }
    const ratio =
      berth && !r.name.startsWith('berth')
        ? `${(berth.sat!.qps / r.sat!.qps).toFixed(2)}x (${(r.sat!.cpuUsPerQuery / berth.sat!.cpuUsPerQuery).toFixed(2)}x)`
        : '';
    rows.push([
      r.name,
      f(r.sat!.qps),
      f(r.sat!.cpuUsPerQuery, 1),
      f(1e6 / r.sat!.cpuUsPerQuery),
      f(r.sat!.lost),
      f(r.fix2k!.p50Ms, 3),
      f(r.fix2k!.p99Ms, 3),
      f(r.fix2k!.lost),
      `${f(r.rssIdleMb, 1)}→${f(r.rssAfterMb, 1)}`,
      ratio,
      r.name === FLOOR ? 'n/a' : r.answersMatch ? 'yes' : 'NO',
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  for (const row of rows) console.log(row.map((c, i) => (c ?? '').padEnd(widths[i])).join('  '));
  const nsd = results.find((r) => r.name === 'nsd' && r.sat);
  if (berth)
    sideBySide(
      results.filter((r) => r.sat && (r.name.startsWith('berth') || r.name === 'nsd' || r.name === FLOOR)),
      nsd,
    );
  console.log(
    `machine load average during the run: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (${os.cpus().length} cores); QPS and p99 suffer from other load, CPU/query much less`,
  );
}

/**
 * berth next to NSD with the targets: QPS ratio from the same run (and from CPU per query, which
 * other load on the machine disturbs much less), p99 at a fixed 2,000 QPS, and RSS for the index size.
 */
function sideBySide(rows: ServerResult[], nsd: ServerResult | undefined): void {
  const ok = (c: boolean) => (c ? 'met' : 'MISSED');
  const f = (n: number | undefined, d = 0) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(d));
  const T = TARGETS;
  console.log(
    `\nberth vs NSD, same run, each server pinned to one core; targets: QPS >= ${T.nsdRatio} x NSD, p99 @2k < ${T.p99Ms} ms, RSS <= ${T.rssMb} MB with ${T.rssNames.toLocaleString('en')} names`,
  );
  const table = [['server', 'QPS', 'µs CPU/q', 'p99 @2k ms', 'RSS MB', 'names', 'QPS / NSD (by CPU)', 'targets']];
  for (const r of rows) {
    const ratio = nsd && r !== nsd ? r.sat!.qps / nsd.sat!.qps : NaN;
    const byCpu = nsd && r !== nsd ? nsd.sat!.cpuUsPerQuery / r.sat!.cpuUsPerQuery : NaN;
    const verdict =
      r === nsd || r.name === FLOOR
        ? ''
        : [`ratio ${ok(ratio >= T.nsdRatio)}`, `p99 ${ok(r.fix2k!.p99Ms! < T.p99Ms)}`, `RSS ${ok(r.rssAfterMb! <= T.rssMb)}`].join(', ');
    table.push([
      r.name,
      f(r.sat!.qps),
      f(r.sat!.cpuUsPerQuery, 1),
      f(r.fix2k!.p99Ms, 3),
      f(r.rssAfterMb, 1),
      r.names === undefined ? '' : String(r.names),
      r === nsd ? '' : `${f(ratio, 2)}x (${f(byCpu, 2)}x)`,
      verdict,
    ]);
  }
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  '));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
