/**
 * Nginx sync benchmark (docs/architecture.md "Performance targets"): a full catalog of 10,000 apps / 30,000 tasks rendered and
 * synced (≤ 5 s), syncs with nothing or 1 % changed, and reloads during a burst of 1,000 changes
 * (1 per sync interval). Uses a real nginx for `nginx -t` and reloads when installed. Then
 * BERTH_NGINX_DYNAMIC off and lua side by side (bench/nginx/dynamic.ts).
 *
 *   node --import tsx bench/nginx/run.ts [--quick]
 *
 * Prints a table and writes bench/results/nginx-<timestamp>.json with the core count and git commit.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log';
import type { Service } from '../../src/model/types';
import { commandControl, type NginxControl } from '../../src/nginx/command';
import { compileTemplates } from '../../src/nginx/templates';
import { renderServices } from '../../src/nginx/render';
import { InMemoryProblemSink, InMemorySyncRunStore, type SyncRun } from '../../src/nginx/store';
import { NginxSync } from '../../src/nginx/sync';
import { InMemoryRegistryView } from '../../src/registry/view';
import { nginxAvailable, startNginx } from '../../test/nginx/nginx-harness';
import { compareDynamic } from './dynamic';

const repo = path.resolve(__dirname, '../..');
const quick = process.argv.includes('--quick');
const APPS = quick ? 2000 : 10000;
const TASKS_PER_APP = 3;
const INTERVAL_MS = 1000;

function catalog(gen: number, changedEvery = 1): Service[] {
  return Array.from({ length: APPS }, (_, k) => ({
    env: ['default', 'qa-1', 'qa-2'][k % 3],
    appId: `/team-${k % 50}/app-${k}`,
    domains: [`app-${k}.team-${k % 50}.berth.internal`],
    proxy: 'http' as const,
    listen: null,
    dns: 'direct' as const,
    portName: 'http',
    servicePort: 8080,
    fixedIp: null,
    endpoints: Array.from({ length: TASKS_PER_APP }, (_, t) => ({
      taskId: `team-${k % 50}_app-${k}.${t}`,
      address: `10.${(k >> 8) & 255}.${k & 255}.${t + 1}`,
      port: 31000 + (k % changedEvery === 0 ? gen : 0),
      host: 'agent',
    })),
    version: 'v1',
  }));
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

const ms = (run: SyncRun) => Date.parse(run.finishedAt) - Date.parse(run.startedAt);

async function main(): Promise<void> {
  const real = nginxAvailable();
  const nginx = real ? await startNginx() : null;
  const dir = nginx?.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-nginx-'));
  const counts = { tests: 0, testMs: 0, reloads: 0, reloadMs: 0, firstTestAt: 0 };
  // Staged, as with BERTH_NGINX_MAIN_CONF: each test checks the candidate conf that includes the staging tree.
  const inner = commandControl({ testCmd: nginx?.candidateTestCmd ?? '', reloadCmd: nginx?.reloadCmd ?? '', timeoutMs: 60000 });
  const control: NginxControl = {
    test: async (target) => {
      counts.tests++;
      counts.firstTestAt ||= Date.now();
      const r = await inner.test(target);
      counts.testMs += r.durationMs;
      return r;
    },
    reload: async () => {
      counts.reloads++;
      const r = await inner.reload();
      counts.reloadMs += r.durationMs;
      return r;
    },
  };
  const view = new InMemoryRegistryView();
  const store = new InMemorySyncRunStore();
  const sync = new NginxSync({
    dir,
    templatesDir: path.join(repo, 'nginx-templates'),
    httpListen: `127.0.0.1:${nginx?.httpPort ?? 8080}`,
    testCmd: nginx?.candidateTestCmd ?? '',
    reloadCmd: '',
    mainConf: nginx?.conf ?? null,
    intervalMs: INTERVAL_MS,
    commandTimeoutMs: 60000,
    maxRemovalRatio: 0.5,
    logger: silentLogger,
    metricsRegistry: new Registry(),
    view,
    store,
    problems: new InMemoryProblemSink(),
    control,
  });
  const rows: Array<{ what: string; value: string; target: string }> = [];

  // Pure render cost.
  const templates = compileTemplates({
    http: fs.readFileSync(path.join(repo, 'nginx-templates/http.conf.hbs'), 'utf8'),
    stream: fs.readFileSync(path.join(repo, 'nginx-templates/stream.conf.hbs'), 'utf8'),
  });
  const t0 = performance.now();
  const rendered = renderServices(catalog(0), templates, '127.0.0.1:8080');
  const renderMs = performance.now() - t0;
  rows.push({ what: `render ${rendered.files.length} apps / ${APPS * TASKS_PER_APP} tasks (pure)`, value: `${renderMs.toFixed(0)} ms`, target: '' });

  view.set(catalog(0));
  const full = await sync.syncNow();
  const rssMb = process.memoryUsage().rss / 1048576;
  const berthMs = counts.firstTestAt - Date.parse(full.startedAt);
  rows.push({ what: `full sync: render + compare + write ${full.filesWritten} files`, value: `${berthMs} ms`, target: '≤ 5000 ms' });
  rows.push({ what: `full sync: nginx -t / reload command (${real ? 'real nginx' : 'none'})`, value: `${counts.testMs} / ${counts.reloadMs} ms`, target: '' });
  rows.push({ what: 'full sync: total', value: `${ms(full)} ms`, target: '' });
  rows.push({ what: 'RSS after full sync', value: `${rssMb.toFixed(0)} MB`, target: '≤ 400 MB' });

  view.set(catalog(0));
  const same = await sync.syncNow();
  rows.push({ what: 'sync with nothing changed', value: `${ms(same)} ms (${same.status})`, target: '' });

  view.set(catalog(1, 100));
  counts.firstTestAt = 0;
  const onePct = await sync.syncNow();
  rows.push({
    what: `sync with 1 % changed (${onePct.filesWritten} files): berth's part / total`,
    value: `${counts.firstTestAt - Date.parse(onePct.startedAt)} / ${ms(onePct)} ms`,
    target: '',
  });

  // Burst: 1,000 changes within one interval through the timer path.
  await sync.start();
  await new Promise((r) => setTimeout(r, INTERVAL_MS * 1.5));
  const reloadsBefore = counts.reloads;
  const gensBefore = nginx?.reconfigurations() ?? 0;
  for (let i = 0; i < 1000; i++) view.set(catalog(2 + i, 100));
  const deadline = Date.now() + 60000;
  while (counts.reloads === reloadsBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, INTERVAL_MS * 2)); // any second reload would happen now
  await sync.stop();
  const burstReloads = counts.reloads - reloadsBefore;
  rows.push({ what: 'reloads during a burst of 1,000 changes (1 interval)', value: String(burstReloads), target: '1' });
  if (nginx) {
    await new Promise((r) => setTimeout(r, 500));
    rows.push({ what: 'nginx worker generations during the burst', value: String(nginx.reconfigurations() - gensBefore), target: '1' });
    await nginx.stop();
  }
  fs.rmSync(nginx?.prefix ?? dir, { recursive: true, force: true });

  // BERTH_NGINX_DYNAMIC off and lua side by side (quick: a small catalog and few rounds).
  if (real) {
    const rounds = quick ? { off: 1, lua: 3 } : { off: 3, lua: 10 };
    rows.push(...(await compareDynamic({ apps: quick ? 500 : APPS, rounds, log: (s) => console.error(s) })));
  }

  const width = Math.max(...rows.map((r) => r.what.length));
  // Other work on the machine skews every number here; the load average says how much.
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  console.log(`\nnginx sync benchmark (${os.cpus().length} cores, load ${load}, ${real ? 'real nginx' : 'no nginx'})`);
  for (const r of rows) console.log(`${r.what.padEnd(width)}  ${r.value.padStart(24)}  ${r.target}`);
  const out = path.join(repo, 'bench/results', `nginx-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(
    out,
    JSON.stringify(
      {
        bench: 'nginx',
        at: new Date().toISOString(),
        cores: os.cpus().length,
        loadavg: os.loadavg(),
        commit: gitCommit(),
        apps: APPS,
        tasks: APPS * TASKS_PER_APP,
        realNginx: real,
        rows,
      },
      null,
      2,
    ),
  );
  console.log(`\nwrote ${path.relative(repo, out)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
