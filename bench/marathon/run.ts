/**
 * Marathon intake memory benchmark: berth in its own process (default settings, and exactly the
 * NODE_OPTIONS of `deploy/marathon/berth.json`, read from it so the two cannot drift: the memory it
 * would have under that file's 512 MB grant), peak RSS through
 *  1. a full snapshot of 20,000 apps / 60,000 tasks (`--quick`: 5,000) from the simulator, then 30 s
 *     of 200 task replacements/s (`--quick`: 5 s; bench/events/scale.ts): the target "peak RSS at
 *     20k apps with events" (the simulator builds its 49 MB answer as one string: 1.2 s at load 10,
 *     well inside berth's 10 s wait for an answer);
 *  2. a 300 MB `/v2/apps` answer (20,000 apps, 3 tasks each, ~15 kB of env, cmd and other tools'
 *     labels per app that berth does not keep) — applied;
 *  3. then an answer over BERTH_MARATHON_MAX_RESPONSE_BYTES (the default, 384 MiB) — refused with
 *     MARATHON_ANSWER_TOO_LARGE, the 20,000 services of step 2 kept.
 *
 *   node --import tsx bench/marathon/run.ts [--quick]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_MAX_RESPONSE_BYTES } from '../../src/marathon/limits';
import { getJson, until } from '../events/phases';
import { runAtScale } from '../events/scale';
import { EVENT_SECONDS, RATE } from '../events/setup';
import { startBerthProcess, type BerthProcess } from '../lib/berth-process';
import { DEPLOY_GRANT_MB as GRANT_MB, DEPLOY_NODE_OPTIONS as NODE_OPTIONS } from '../lib/deploy';
import { scratchPg } from '../lib/pg';
import { fig, machine, printTable, writeRun, type Figure } from '../lib/results';
import { rssMb } from '../lib/stats';
import { startBigMarathon } from './big-marathon';

const B = 'marathon';
/** Per-app padding that makes 20,000 apps a ~300 MB answer (measured: 13,000 → 295.6 MB). */
const PAD_300MB = 13_250;
/** Wait after the last Nginx file, so the peak includes the work that follows a snapshot. */
const SETTLE_MS = 10_000;

export interface MarathonBenchOptions {
  quick?: boolean;
  log?: (s: string) => void;
}

interface Status {
  services: number;
  endpoints: number;
  marathon: { lastError: string | null; lastSuccessAt: string | null } | null;
}

/** Starts berth against `url` with a fresh database; the caller stops it. */
async function berthAgainst(url: string, dir: string, tag: string, cleanups: Array<() => Promise<void>>): Promise<BerthProcess> {
  const pg = await scratchPg(tag);
  if (pg) cleanups.push(pg.drop);
  const berth = await startBerthProcess(
    {
      BERTH_MARATHON_URLS: url,
      BERTH_HTTP_ADDR: '127.0.0.1:0',
      BERTH_DNS_ADDR: '127.0.0.1:0',
      BERTH_DATA_DIR: path.join(dir, tag),
      BERTH_NGINX_DIR: path.join(dir, tag, 'nginx'),
      BERTH_NGINX_TEST_CMD: '',
      BERTH_NGINX_RELOAD_CMD: '',
      BERTH_DNS_ZONES: 'berth.internal',
      BERTH_LOG_LEVEL: 'info',
      ...(NODE_OPTIONS ? { NODE_OPTIONS } : {}),
      ...(pg ? { BERTH_DATABASE_URL: pg.url } : {}),
    },
    300_000,
  );
  cleanups.push(() => berth.stop());
  return berth;
}

/** Polls berth's registry status until `done`, sampling nothing (VmHWM keeps the peak). */
function statusUntil(berth: BerthProcess, done: (s: Status) => boolean, what: string): Promise<Status> {
  return until(
    async () => {
      const s = await getJson<Status>(`${berth.url}/v1/registry/status`).catch(() => null);
      return s && done(s) ? s : undefined;
    },
    600_000,
    what,
    250,
  );
}

/** After the registry: Nginx files for every app, then a settle period for what runs after them. */
async function downstreamDone(dir: string, tag: string, apps: number): Promise<void> {
  const httpDir = path.join(dir, tag, 'nginx', 'default', 'http');
  await until(() => fs.existsSync(httpDir) && fs.readdirSync(httpDir).length >= apps, 600_000, 'every Nginx file', 500);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
}

/** Highest RSS seen while `p` runs (sampled every 50 ms), in MB. */
async function rssDuring<T>(pid: number, p: Promise<T>): Promise<{ value: T; peakMb: number }> {
  let peak = rssMb(pid).rss;
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid).rss);
    } catch {
      /* exited */
    }
  }, 50);
  try {
    return { value: await p, peakMb: peak };
  } finally {
    clearInterval(t);
  }
}

export async function runMarathonBench(opts: MarathonBenchOptions = {}): Promise<{ figures: Figure[]; extra: Record<string, unknown> }> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`[marathon] ${s}\n`));
  const apps = opts.quick ? 5000 : 20_000;
  const tasksPerApp = 3;
  const figures: Figure[] = [];
  const extra: Record<string, unknown> = {
    apps,
    tasks: apps * tasksPerApp,
    grantMb: GRANT_MB,
    nodeOptions: NODE_OPTIONS,
    maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
  };
  const how = `NODE_OPTIONS=${NODE_OPTIONS || '(none)'} as in deploy/marathon/berth.json`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-marathon-'));
  const cleanups: Array<() => Promise<void>> = [];
  const scale = `${apps.toLocaleString('en')} apps / ${(apps * tasksPerApp).toLocaleString('en')} tasks`;
  try {
    // 1. The plain snapshot, from the simulator (nothing padded), then 30 s of 200 task replacements/s.
    {
      const replacements = RATE * (opts.quick ? 5 : EVENT_SECONDS);
      log(`simulator: ${scale}, no padding; berth with ${how}; then ${replacements} replacements at ${RATE}/s`);
      const plain = await runAtScale({ bench: B, apps, replacements, rate: RATE, log });
      figures.push(...plain.figures);
      extra.plain = plain.extra;
    }

    // 2. and 3. A 300 MB answer, then one over the limit.
    // A failure here (berth exits, a request fails) is reported as such; step 1's figures stand.
    let berthRef: BerthProcess | undefined;
    try {
      const big = await startBigMarathon({ apps, tasksPerApp, padBytes: PAD_300MB });
      cleanups.push(() => big.close());
      log(`big Marathon: ${scale}, ${PAD_300MB} bytes of unkept content per app; starting berth`);
      const berth = await berthAgainst(big.url, dir, 'big', cleanups);
      berthRef = berth;
      const t0 = performance.now();
      await statusUntil(berth, (s) => s.services >= apps && s.endpoints >= apps * tasksPerApp, 'the big snapshot');
      const appliedMs = performance.now() - t0;
      const bytes = big.lastBytes();
      await downstreamDone(dir, 'big', apps);
      const applied = rssMb(berth.pid);
      extra.answerBytes = bytes;
      figures.push(
        fig(
          B,
          `berth peak RSS through a ${(bytes / 1e6).toFixed(0)} MB /v2/apps answer (${scale}), applied`,
          applied.peak,
          'MB',
          { op: '<=', limit: GRANT_MB },
          `applied ${(appliedMs / 1000).toFixed(1)} s after berth listened; ${how}`,
        ),
      );
      log(`${(bytes / 1e6).toFixed(0)} MB answer applied: peak RSS ${applied.peak.toFixed(0)} MB`);

      const overApps = Math.ceil((DEFAULT_MAX_RESPONSE_BYTES / bytes) * apps * 1.1);
      big.answer = { apps: overApps, tasksPerApp, padBytes: PAD_300MB };
      log(`answering ${overApps.toLocaleString('en')} apps (over ${DEFAULT_MAX_RESPONSE_BYTES} bytes); POST /v1/sync`);
      const during = await rssDuring(
        berth.pid,
        fetch(`${berth.url}/v1/sync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then((r) => r.json()),
      );
      const sync = during.value as { result: string; error?: string };
      const after = await getJson<Status>(`${berth.url}/v1/registry/status`);
      const refused = sync.result === 'failed' && /^MARATHON_ANSWER_TOO_LARGE/.test(sync.error ?? '') && after.services === apps;
      const over = rssMb(berth.pid);
      extra.overLimit = { apps: overApps, bytesSentBeforeCut: big.lastBytes(), sync, servicesKept: after.services };
      figures.push(
        fig(
          B,
          'answer over BERTH_MARATHON_MAX_RESPONSE_BYTES refused, last good state kept',
          refused ? 1 : 0,
          '',
          { op: '>=', limit: 1, text: 'refused (MARATHON_ANSWER_TOO_LARGE), services kept' },
          `${String(sync.error ?? sync.result).slice(0, 90)}; ${after.services} services kept`,
        ),
      );
      figures.push(
        fig(
          B,
          'berth RSS while it reads and refuses that answer (sampled every 50 ms)',
          during.peakMb,
          'MB',
          { op: '<=', limit: GRANT_MB },
          `RSS ${applied.rss.toFixed(0)} MB before it; process peak over the whole run ${over.peak.toFixed(0)} MB; ${how}`,
        ),
      );
      log(
        `over-limit answer: ${sync.result} (${sync.error ?? ''}); RSS during it up to ${during.peakMb.toFixed(0)} MB (before: ${applied.rss.toFixed(0)} MB), process peak ${over.peak.toFixed(0)} MB`,
      );
    } catch (err) {
      const exit = berthRef && (berthRef.child.exitCode ?? berthRef.child.signalCode);
      // A V8 fatal error (heap limit) ends with a native stack trace: its first line says what happened.
      const out = berthRef?.output() ?? '';
      const last = (/FATAL ERROR[^\n]*/.exec(out)?.[0] ?? out.trim().split('\n').pop())?.slice(0, 160);
      figures.push(
        fig(
          B,
          'steps 2-3 (large answer, over-limit answer) did not complete',
          null,
          '',
          { op: '<=', limit: 0, text: 'completes' },
          `${String(err).slice(0, 120)}${exit !== undefined && exit !== null ? `; berth exited (${exit}): ${last}` : ''}`,
        ),
      );
      log(`steps 2-3 failed: ${String(err)}; berth ${exit ?? 'running'}; last log line: ${last}`);
    }
    return { figures, extra };
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  }
}

if (require.main === module) {
  const quick = process.argv.includes('--quick');
  const m = machine();
  runMarathonBench({ quick })
    .then(({ figures, extra }) => {
      printTable(figures);
      console.log(`results: ${writeRun('marathon', m, figures, { quick, ...extra })}`);
      process.exit(0);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
