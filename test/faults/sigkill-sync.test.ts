/**
 * SIGKILL of a real `berth run` in the middle of an Nginx sync, then a restart. The test command
 * (`nginx -t` stand-in) blocks on a FIFO while a flag file exists and says so by writing its pid,
 * so the kill lands exactly while the sync is in progress (files written, not yet tested or
 * reloaded). Meanwhile a temp file like the one a kill during a write leaves is planted.
 * After the restart: only complete files, no temp files, the files the killed sync wrote are
 * tested and reloaded (Nginx runs what is on disk), Marathon's state is served by DNS and Nginx.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSimulator, type Simulator } from '../../src/sim';
import { createPgDatabase } from '../support/db';
import { waitFor } from '../support/wait';
import { DnsProbe } from '../../bench/lib/dns-probe';
import { spawnBerth, type BerthProcess } from './proc';
import { FaultLog } from './record';
import { webApp, ZONE } from './stack';

jest.setTimeout(120_000);
const log = new FaultLog('sigkill-sync');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-faults-kill-sync-'));
const nginxDir = path.join(dir, 'nginx');
const httpDir = path.join(nginxDir, 'default', 'http');
const block = path.join(dir, 'block');
const started = path.join(dir, 'test-started');
const fifo = path.join(dir, 'fifo');
const reloadLog = path.join(dir, 'reloads.log');
const testLog = path.join(dir, 'tests.log');
let pg: { url: string; drop: () => Promise<void> };
let sim: Simulator;
let berth: BerthProcess | undefined;
const env = () => ({
  BERTH_DATABASE_URL: pg.url,
  BERTH_MARATHON_URLS: sim.url,
  BERTH_NGINX_DIR: nginxDir,
  BERTH_NGINX_TEST_CMD: `sh '${dir}/test.sh'`,
  BERTH_NGINX_RELOAD_CMD: `sh '${dir}/reload.sh'`,
  // The reload is a stand-in script, not a real Nginx: no generation to read back.
  BERTH_NGINX_ADMIN_LISTEN: '',
});
const lines = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).length : 0);
const confs = () => (fs.existsSync(httpDir) ? fs.readdirSync(httpDir).sort() : []);
const text = (name: string) => fs.readFileSync(path.join(httpDir, name), 'utf8');
/** Every entry of the folder is a whole berth file: header first, closing brace last, no temp file. */
const complete = () => confs().every((f) => f.endsWith('.conf') && text(f).startsWith('# berth: ') && text(f).trimEnd().endsWith('}'));
/** Upstream `server host:port` lines in a rendered file. */
const servers = (name: string) => (fs.existsSync(path.join(httpDir, name)) ? (text(name).match(/^\s*server \S+:\d+/gm) ?? []).length : -1);
const srv = async (port: number, name: string) => {
  const probe = new DnsProbe('127.0.0.1', port);
  try {
    return (await probe.query(`_http._tcp.${name}.${ZONE}`, 33, 1000))?.answers ?? null;
  } finally {
    probe.close();
  }
};
/** The blocked test script's pid, once it is blocked. */
const blockedPid = () => (fs.existsSync(started) ? Number(fs.readFileSync(started, 'utf8').trim()) || undefined : undefined);

beforeAll(async () => {
  execFileSync('mkfifo', [fifo]);
  // The test command blocks reading the FIFO while the flag exists (nobody writes to it: it is
  // ended by killing it), after recording its pid: that pid is the signal "sync in progress".
  // It blocks only on the run that carries both changes of the test (c's file written, a at 3
  // servers): on a loaded machine the two Marathon changes can reach berth more than one sync
  // interval apart and land in two runs; the first of those then passes like any other run.
  const both = `[ -e '${httpDir}/faults_0c.conf' ] && [ "$(grep -cE '^[[:space:]]*server [^[:space:]]+:[0-9]+' '${httpDir}/faults_0a.conf')" = 3 ]`;
  fs.writeFileSync(
    path.join(dir, 'test.sh'),
    `echo x >> '${testLog}'\nif [ -e '${block}' ] && ${both}; then echo $$ > '${started}.tmp'; mv '${started}.tmp' '${started}'; read x < '${fifo}'; fi\n`,
  );
  fs.writeFileSync(path.join(dir, 'reload.sh'), `echo x >> '${reloadLog}'\n`);
  pg = await createPgDatabase();
  sim = await startSimulator({ flavour: '1.10', keepaliveMs: 500 });
  await sim.control.deploy(webApp('a', 2));
  await sim.control.deploy(webApp('b', 1));
  berth = await spawnBerth(dir, env());
  await waitFor(
    () => servers('faults_0a.conf') === 2 && servers('faults_0b.conf') === 1 && lines(reloadLog) > 0,
    30_000,
    () => berth!.log().slice(-2000),
  );
}, 90_000);

afterAll(async () => {
  log.flush();
  const pid = blockedPid();
  if (pid)
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  await berth?.kill();
  await sim?.close();
  await pg?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('SIGKILL mid-sync, then restart: only complete files, the interrupted change is tested and reloaded, state converges', async () => {
  const first = berth!;
  fs.writeFileSync(block, '');
  await sim.control.scale('/faults/a', 3);
  await sim.control.deploy(webApp('c', 1));
  // The sync carrying both changes is in progress: files written, `nginx -t` running (blocked).
  const pid = await waitFor(blockedPid, 30_000, () => first.log().slice(-2000));
  const reloadsBefore = lines(reloadLog);
  const duringFiles = confs();
  expect(duringFiles).toEqual(['faults_0a.conf', 'faults_0b.conf', 'faults_0c.conf']);
  expect(complete()).toBe(true);
  expect(servers('faults_0a.conf')).toBe(3);
  expect(await srv(first.dnsPort, 'c')).toBe(1); // DNS has the change before Nginx does

  const tKill = Date.now();
  expect(await first.kill()).toBe('SIGKILL');
  process.kill(pid, 'SIGKILL'); // the orphaned `nginx -t` would end by itself; this one never does
  fs.rmSync(block);
  // A write interrupted by the kill leaves a half-written temp file next to the real ones.
  fs.writeFileSync(path.join(httpDir, `.faults_0a.conf.${first.pid}.0badc0de.tmp`), '# berth: /faults/a in default\nupstream faults_0a {\n  server 10.');
  expect(lines(reloadLog)).toBe(reloadsBefore);

  const testsBefore = lines(testLog);
  berth = await spawnBerth(dir, env());
  const up = Date.now() - tKill;
  // Nginx gets to run what is on disk: the restarted berth tests and reloads once more.
  await waitFor(
    () => lines(reloadLog) > reloadsBefore,
    30_000,
    () => `reloads ${lines(reloadLog)} tests ${lines(testLog)}\n${berth!.log().slice(-3000)}`,
  );
  const reloaded = Date.now() - tKill;
  expect(lines(testLog)).toBeGreaterThan(testsBefore);
  expect(confs()).toEqual(['faults_0a.conf', 'faults_0b.conf', 'faults_0c.conf']);
  expect(complete()).toBe(true);
  expect([servers('faults_0a.conf'), servers('faults_0b.conf'), servers('faults_0c.conf')]).toEqual([3, 1, 1]);
  expect([await srv(berth.dnsPort, 'a'), await srv(berth.dnsPort, 'b'), await srv(berth.dnsPort, 'c')]).toEqual([3, 1, 1]);
  expect(berth.log()).toMatch(/removed temp files left by an interrupted sync/);

  // And it keeps following Marathon.
  const t1 = Date.now();
  await sim.control.scale('/faults/b', 2);
  await waitFor(async () => servers('faults_0b.conf') === 2 && (await srv(berth!.dnsPort, 'b')) === 2, 30_000);
  const st = (await berth.api<{ lastRun: { status: string; reloaded: boolean } }>('GET', '/v1/sync/status')).body;
  expect(st.lastRun).toMatchObject({ status: 'applied', reloaded: true });
  log.add({
    fault: 'SIGKILL of berth mid-sync (during `nginx -t`), then restart',
    during: `Nginx folder holds complete files only (${duringFiles.length} .conf, renamed into place before the test); DNS already served the change; API and DNS down until the restart`,
    after: `restart serves in ${(up / 1000).toFixed(1)} s; the planted half-written temp file is removed; the interrupted change is tested and reloaded ${(reloaded / 1000).toFixed(1)} s after the kill; files and DNS match Marathon; the next change syncs in ${Date.now() - t1} ms`,
    recoveryMs: reloaded,
    recoveryFrom: 'kill → interrupted change reloaded by the restarted berth',
  });
});
