/**
 * Nginx faults against a whole berth: `nginx -t` failing because of one app, the reload command
 * hanging, the Nginx folder full (a 64 KiB tmpfs; needs root to mount it). During: files on
 * disk stay complete and the last good set; DNS is unaffected; the API says what failed. After:
 * the next sync goes out by itself.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../support/wait';
import { FaultLog } from './record';
import { startStack, webApp, ZONE, type Stack } from './stack';

jest.setTimeout(120_000);
const log = new FaultLog('nginx');
let s: Stack;
const ctl = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-faults-nginx-'));
const nginxDir = path.join(ctl, 'nginx');
const hangFlag = path.join(ctl, 'hang');
const reloadLog = path.join(ctl, 'reloads.log');
let mounted = false;

type SyncStatus = {
  lastRun: { status: string; error: string | null; reloaded: boolean; finishedAt: string } | null;
  lastReloadAt: string | null;
  excluded: Array<{ appId: string }>;
};
const status = async () => (await s.api<SyncStatus>('GET', '/v1/sync/status')).body;
const reloads = () => (fs.existsSync(reloadLog) ? fs.readFileSync(reloadLog, 'utf8').split('\n').filter(Boolean).length : 0);
const fileText = (name: string) => fs.readFileSync(path.join(nginxDir, 'default', 'http', name), 'utf8');
/** Upstream `server host:port` lines in a rendered file (not the `server {` block). */
const servers = (name: string) => (fileText(name).match(/^\s*server \S+:\d+/gm) ?? []).length;
const snapshot = () => Object.fromEntries(s.files().map((f) => [f, fileText(f)]));

beforeAll(async () => {
  fs.mkdirSync(nginxDir);
  // The Nginx folder is a 64 KiB tmpfs (root only) so that the disk-full test can fill it.
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', nginxDir], { stdio: 'ignore' });
    mounted = true;
  } catch {
    /* not root or no mount: that test is reported as not run */
  }
  // `nginx -t` stand-in: rejects any configuration that mentions the bad app.
  fs.writeFileSync(
    path.join(ctl, 'test.sh'),
    `if grep -rqs bad-marker '${nginxDir}'; then echo "nginx: [emerg] unknown directive in bad-marker.conf" >&2; exit 1; fi\n`,
  );
  fs.writeFileSync(path.join(ctl, 'reload.sh'), `echo x >> '${reloadLog}'\nif [ -e '${hangFlag}' ]; then sleep 300; fi\n`);
  s = await startStack({ env: { BERTH_NGINX_DIR: nginxDir, BERTH_NGINX_TEST_CMD: `sh '${ctl}/test.sh'`, BERTH_NGINX_RELOAD_CMD: `sh '${ctl}/reload.sh'` } });
  await s.sim.control.deploy(webApp('good', 2));
  await s.sim.control.deploy(webApp('other', 1));
  await waitFor(() => s.files().length === 2 && reloads() > 0, 30_000);
}, 60_000);

afterAll(async () => {
  log.flush();
  if (fs.existsSync(hangFlag)) fs.rmSync(hangFlag);
  await s?.stop();
  if (mounted) execFileSync('umount', ['-l', nginxDir]);
  fs.rmSync(ctl, { recursive: true, force: true });
});

it('nginx -t fails because of one app: its file is withheld and reported, the others still go out', async () => {
  const t0 = Date.now();
  await s.sim.control.deploy(webApp('bad-marker', 1));
  await s.sim.control.scale('/faults/good', 3);
  await waitFor(
    async () => (await s.api<{ problems: Array<{ appId: string }> }>('GET', '/v1/problems')).body.problems.some((p) => p.appId === '/faults/bad-marker'),
    30_000,
  );
  await waitFor(
    () => servers('faults_0good.conf') === 3,
    30_000,
    () => fileText('faults_0good.conf'),
  );
  const outAfter = Date.now() - t0;
  expect(s.files().some((f) => f.includes('bad'))).toBe(false);
  const st = await status();
  expect(st.excluded.map((e) => e.appId)).toContain('/faults/bad-marker');
  const dnsBad = await s.srv(`bad-marker.${ZONE}`);
  // Removing the offender clears the problem.
  const t1 = Date.now();
  await s.sim.control.remove('/faults/bad-marker');
  await waitFor(
    async () => !(await s.api<{ problems: Array<{ appId: string }> }>('GET', '/v1/problems')).body.problems.some((p) => p.appId === '/faults/bad-marker'),
    30_000,
  );
  log.add({
    fault: '`nginx -t` fails (one bad app)',
    during: `previous files restored, no reload with the bad file; offender excluded and reported in GET /v1/problems and /v1/sync/status; the other change went out ${(outAfter / 1000).toFixed(1)} s after; DNS for the bad app: ${dnsBad} SRV answers`,
    after: 'removing/fixing the app clears the problem',
    recoveryMs: Date.now() - t1,
    recoveryFrom: 'offender removed → problem cleared',
  });
});

it('reload command hangs: it is killed at the timeout, files stay in place, later syncs run', async () => {
  fs.writeFileSync(hangFlag, '');
  const before = reloads();
  const t0 = Date.now();
  await s.sim.control.scale('/faults/other', 2);
  await waitFor(() => reloads() > before, 20_000);
  expect(servers('faults_0other.conf')).toBe(2);
  expect(await s.srv(`other.${ZONE}`)).toBe(2);
  // The sync that hung is recorded as failed once the command times out.
  let hung: SyncStatus | undefined;
  await waitFor(
    async () => (hung = await status()).lastRun?.status === 'failed',
    60_000,
    () => JSON.stringify(hung),
  );
  const timedOut = Date.now() - t0;
  const failed = (await status()).lastRun;
  fs.rmSync(hangFlag);
  const t1 = Date.now();
  await s.sim.control.scale('/faults/other', 1);
  let st: SyncStatus | undefined;
  await waitFor(
    async () => {
      const r = (st = await status()).lastRun;
      return r?.status === 'applied' && r.reloaded && Date.parse(r.finishedAt) > t1;
    },
    30_000,
    () => JSON.stringify(st),
  );
  log.add({
    fault: 'reload command hangs',
    during: `files written and in place; the hung reload is killed after ${Math.round(timedOut / 1000)} s (command timeout 30 s); run recorded as failed (${String(failed?.error).slice(0, 60)})`,
    after: 'the next change syncs and reloads normally',
    recoveryMs: Date.now() - t1,
    recoveryFrom: 'reload answers again → next change reloaded',
  });
});

it('Nginx folder full: writes fail, the files on disk stay complete, the next sync applies once there is room', async () => {
  if (!mounted) {
    if (process.env.CI) throw new Error('CI runs as root and must test a full Nginx folder, but mounting the tmpfs failed');
    process.stdout.write('disk-full fault not tested: mounting a tmpfs needs root\n');
    log.add({ fault: 'Nginx folder full', during: 'not tested: cannot mount a tmpfs here', after: '', recoveryMs: null, recoveryFrom: 'n/a' });
    return;
  }
  await waitFor(() => s.files().length === 2, 30_000);
  const good = snapshot();
  const filler = path.join(nginxDir, 'filler');
  try {
    fs.writeFileSync(filler, Buffer.alloc(1 << 20));
  } catch {
    /* ENOSPC: the disk is now full */
  }
  await s.sim.control.scale('/faults/good', 1);
  let st: SyncStatus | undefined;
  await waitFor(
    async () => (st = await status()).lastRun?.status === 'failed',
    30_000,
    () => JSON.stringify(st),
  );
  const err = (await status()).lastRun?.error;
  expect(snapshot()).toEqual(good);
  expect(fs.readdirSync(path.join(nginxDir, 'default', 'http')).filter((f) => !f.endsWith('.conf'))).toEqual([]);
  expect(await s.srv(`good.${ZONE}`)).toBe(1);
  const t0 = Date.now();
  fs.rmSync(filler);
  let after: SyncStatus | undefined;
  await waitFor(
    async () => {
      after = await status();
      return servers('faults_0good.conf') === 1;
    },
    30_000,
    () =>
      `${JSON.stringify(after)}\n${execFileSync('df', [nginxDir]).toString()}\n${fs.readdirSync(nginxDir, { recursive: true }).join(' ')}\n${fileText('faults_0good.conf')}`,
  );
  log.add({
    fault: 'Nginx folder full (64 KiB tmpfs)',
    during: `sync fails (${String(err).slice(0, 50)}); files on disk unchanged and complete, no temp files left; DNS already updated`,
    after: 'the next sync writes the change once there is room',
    recoveryMs: Date.now() - t0,
    recoveryFrom: 'space freed → change on disk',
  });
});
