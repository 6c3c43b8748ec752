import fs from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log';
import { InMemoryRegistryView } from '../../src/registry/view';
import { InMemoryProblemSink, leaderProblemSink } from '../../src/nginx/store';
import { NginxSync } from '../../src/nginx/sync';
import type { TestTarget } from '../../src/nginx/command';
import type { Problem, Service } from '../../src/model/types';
import { aService, anEndpoint, FakeClock, FakeControl, RecordingStore, TEMPLATES_DIR, tmpDir, waitFor, withEndpoints } from './helpers';

const INTERVAL = 2000;

// A test command that looks at the staging tree: the sync stages, tests there, then moves files into place.
const STAGED_TEST_CMD = 'check "$BERTH_NGINX_CANDIDATE_DIR"';

function setup(initial: Service[] | null, opts: { quarantineMaxMs?: number } = {}) {
  const dir = tmpDir();
  const clock = new FakeClock();
  const control = new FakeControl();
  const store = new RecordingStore();
  const problems = new InMemoryProblemSink();
  const view = new InMemoryRegistryView();
  if (initial) view.set(initial);
  const metricsRegistry = new Registry();
  const sync = new NginxSync({
    dir,
    templatesDir: TEMPLATES_DIR,
    httpListen: '127.0.0.1:8080',
    testCmd: STAGED_TEST_CMD,
    reloadCmd: 'unused',
    intervalMs: INTERVAL,
    quarantineMaxMs: opts.quarantineMaxMs,
    commandTimeoutMs: 1000,
    maxRemovalRatio: 0.5,
    logger: silentLogger,
    metricsRegistry,
    view,
    store,
    problems,
    clock,
    control,
  });
  const read = (rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');
  const exists = (rel: string) => fs.existsSync(path.join(dir, rel));
  /** Whether the tree under test (staging) holds `rel`. */
  const staged = (target: TestTarget | undefined, rel: string) => fs.existsSync(path.join(target!.dir, rel));
  /** Fires timers due within `ms` and waits for the run they start (once the previous tick armed its timer). */
  const step = async (ms: number) => {
    await waitFor(() => clock.pending().length > 0, 'a sync timer to be armed');
    const next = store.next();
    clock.advance(ms);
    return next;
  };
  return { dir, clock, control, store, problems, view, sync, read, exists, staged, step, metricsRegistry };
}

const web = (n: number, port0 = 31000) => aService({ appId: '/web' }, withEndpoints(...Array.from({ length: n }, (_, i) => anEndpoint('10.0.0.1', port0 + i))));

describe('NginxSync', () => {
  it('first sync writes the files and reloads once; an unchanged registry causes no reload', async () => {
    const t = setup([web(2), aService({ appId: '/api' })]);
    expect(t.sync.status().appliedPosition).toBeNull();
    await t.sync.start();
    const first = await t.step(0);
    expect(t.sync.status().appliedPosition).not.toBeNull();
    expect(first).toMatchObject({ status: 'applied', filesWritten: 2, reloaded: true });
    expect(t.read('default/http/web.conf')).toContain('server 10.0.0.1:31001');
    expect(t.control.reloads).toBe(1);
    // Same catalog again: the journal moves but the rendered bytes do not.
    t.view.set([web(2), aService({ appId: '/api' })]);
    const again = await t.step(INTERVAL);
    expect(again.status).toBe('unchanged');
    expect(t.control.tests).toBe(1);
    expect(t.control.reloads).toBe(1);
    await t.sync.stop();
  });

  it('coalesces a burst of 1,000 changes inside one interval into one run and one reload', async () => {
    const t = setup([web(1)]);
    await t.sync.start();
    await t.step(0);
    const reloadsBefore = t.control.reloads;
    await waitFor(() => t.clock.pending().length === 1, 'the poll timer to be armed');
    t.clock.advance(INTERVAL / 2);
    for (let i = 0; i < 1000; i++) t.view.set([web(1 + (i % 5), 32000 + i)]);
    // One timer, due one full interval after the first change of the burst.
    expect(t.clock.pending()).toEqual([INTERVAL]);
    const run = await t.step(INTERVAL);
    expect(run).toMatchObject({ status: 'applied', position: 1001, reloaded: true });
    expect(t.control.reloads - reloadsBefore).toBe(1);
    expect(t.read('default/http/web.conf')).toContain(`10.0.0.1:${32000 + 999}`);
    expect(t.store.all).toHaveLength(2);
    // The polls after it find nothing new: no further run.
    await waitFor(() => t.clock.pending().length === 1, 'the poll timer to be armed');
    for (let i = 0; i < 3; i++) t.clock.advance(INTERVAL);
    await t.sync.stop(); // waits for any run in progress
    expect(t.store.all).toHaveLength(2);
    await t.sync.stop();
  });

  it('a failed test never reaches the live folder, finds the offender and ships the rest in the same run', async () => {
    const t = setup([web(1), aService({ appId: '/api' })]);
    await t.sync.start();
    await t.step(0);
    const before = { web: t.read('default/http/web.conf'), api: t.read('default/http/api.conf') };
    // "nginx -t" fails whenever the file for /bad is in the tree under test; while any test runs the
    // live folder still holds exactly the previous files.
    const liveDuringTests = new Set<string>();
    t.control.testImpl = (target) => {
      liveDuringTests.add(`${t.exists('default/http/bad.conf')} ${t.read('default/http/web.conf') === before.web}`);
      return !t.staged(target, 'default/http/bad.conf');
    };
    t.view.set([web(2), aService({ appId: '/api' }), aService({ appId: '/bad' })]);
    const run = await t.step(INTERVAL);
    expect(run).toMatchObject({ status: 'applied', reloaded: true, filesWritten: 1, offenders: [{ env: 'default', appId: '/bad' }] });
    expect(run.testOutput).toContain('fake failure');
    expect([...liveDuringTests]).toEqual(['false true']);
    expect(t.control.reloads).toBe(2);
    expect(t.read('default/http/web.conf')).toContain('10.0.0.1:31001');
    expect(t.read('default/http/api.conf')).toBe(before.api);
    expect(t.exists('default/http/bad.conf')).toBe(false);
    expect([...t.problems.problems.values()]).toEqual([expect.objectContaining({ code: 'NGINX_CONFIG_REJECTED', appId: '/bad' })]);
    expect(t.sync.status().excluded).toEqual([expect.objectContaining({ appId: '/bad' })]);
    // A later change of another service goes out although /bad is still broken.
    t.view.set([web(3), aService({ appId: '/api' }), aService({ appId: '/bad' })]);
    expect(await t.step(INTERVAL)).toMatchObject({ status: 'applied', filesWritten: 1 });
    // Once /bad's definition changes (fixed), it is tried again and the problem clears.
    t.control.testImpl = () => true;
    t.view.set([web(3), aService({ appId: '/api' }), aService({ appId: '/bad', version: 'fixed' })]);
    expect(await t.step(INTERVAL)).toMatchObject({ status: 'applied', filesWritten: 1 });
    expect(t.exists('default/http/bad.conf')).toBe(true);
    expect(t.problems.problems.size).toBe(0);
    await t.sync.stop();
  });

  it("when the test fails even without berth's changes, nobody is blamed and the run is retried", async () => {
    const t = setup([web(1)]);
    await t.sync.start();
    await t.step(0);
    t.control.testImpl = () => false;
    t.view.set([web(2)]);
    const run = await t.step(INTERVAL);
    expect(run.status).toBe('failed');
    expect(run.offenders).toEqual([]);
    expect(run.error).toContain('outside the generated files');
    // Still broken: retried after 1, then 2, then 4 intervals, not every tick.
    const retryTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = t.store.all.length;
      let ticks = 0;
      while (t.store.all.length === before && ticks < 10) {
        await waitFor(() => t.clock.pending().length === 1, 'the poll timer');
        t.clock.advance(INTERVAL);
        ticks++;
        await waitFor(() => t.clock.pending().length === 1, 'the tick (and its run) to finish');
      }
      expect(t.store.all[t.store.all.length - 1]).toMatchObject({ status: 'failed', trigger: 'retry' });
      retryTimes.push(ticks);
    }
    expect(retryTimes).toEqual([1, 2, 4]);
    t.control.testImpl = () => true;
    t.view.set([web(3)]);
    expect(await t.step(INTERVAL)).toMatchObject({ status: 'applied', trigger: 'interval' });
    await t.sync.stop();
  });

  it('holds a mass removal until released, and holds while the registry was never loaded', async () => {
    const t = setup(null);
    // Files from a previous berth run are on disk; a registry that never loaded must not wipe them.
    fs.mkdirSync(path.join(t.dir, 'default/http'), { recursive: true });
    fs.writeFileSync(path.join(t.dir, 'default/http/old.conf'), '# berth: /old in default, servers=0; generated, do not edit\n');
    await t.sync.start();
    const unloaded = await t.step(0);
    expect(t.exists('default/http/old.conf')).toBe(true);
    expect(unloaded).toMatchObject({ status: 'held', heldReason: expect.stringContaining('not loaded') });
    t.view.set([web(4), aService({ appId: '/api' }, withEndpoints(anEndpoint('10.0.0.2', 80)))]);
    expect(await t.step(INTERVAL)).toMatchObject({ status: 'applied', filesRemoved: 1 });
    // 4 of 5 servers would go: held, files untouched, visible in status.
    t.view.set([web(0), aService({ appId: '/api' }, withEndpoints(anEndpoint('10.0.0.2', 80)))]);
    const held = await t.step(INTERVAL);
    expect(held).toMatchObject({ status: 'held', reloaded: false });
    expect(held.heldReason).toContain('4 of 5');
    expect(t.read('default/http/web.conf')).toContain('10.0.0.1:31003');
    expect(t.sync.status().held).toMatchObject({ reason: held.heldReason });
    // An empty catalog (empty Marathon answer) is held too.
    t.view.set([]);
    expect(await t.step(INTERVAL)).toMatchObject({ status: 'held', heldReason: expect.stringContaining('all 2 service files') });
    expect(t.exists('default/http/web.conf')).toBe(true);
    // Release applies what the registry says now.
    t.view.set([web(0), aService({ appId: '/api' }, withEndpoints(anEndpoint('10.0.0.2', 80)))]);
    await t.step(INTERVAL);
    const released = await t.sync.release();
    expect(released).toMatchObject({ status: 'applied', trigger: 'release', reloaded: true });
    expect(t.read('default/http/web.conf')).toContain('return 503');
    expect(t.sync.status().held).toBeNull();
    const metrics = await t.metricsRegistry.getSingleMetricAsString('berth_nginx_sync_held');
    expect(metrics).toMatch(/berth_nginx_sync_held 0/);
    await t.sync.stop();
  });

  it('a failed reload keeps the tested files and retries the reload on the next tick', async () => {
    const t = setup([web(1)]);
    await t.sync.start();
    await t.step(0);
    t.control.reloadImpl = () => false;
    t.view.set([web(2)]);
    expect(await t.step(INTERVAL)).toMatchObject({ status: 'failed', reloaded: false, error: expect.stringContaining('reload') });
    expect(t.read('default/http/web.conf')).toContain('31001');
    t.control.reloadImpl = () => true;
    expect(await t.step(INTERVAL)).toMatchObject({ status: 'applied', reloaded: true, filesWritten: 0 });
    await t.sync.stop();
  });

  it('exposes runs, reloads and last-reload age as metrics', async () => {
    const t = setup([web(1)]);
    await t.sync.start();
    await t.step(0);
    t.clock.advance(5000);
    const text = await t.metricsRegistry.metrics();
    expect(text).toMatch(/berth_nginx_sync_runs_total\{result="applied"\} 1/);
    expect(text).toMatch(/berth_nginx_reloads_total\{result="ok"\} 1/);
    expect(text).toMatch(/berth_nginx_last_reload_age_seconds 5/);
    expect(text).toMatch(/berth_nginx_files_changed_total\{change="written"\} 1/);
    for (const name of text.match(/^# TYPE (\S+)/gm) ?? []) expect(name.slice(7)).toMatch(/^berth_nginx_[a-z_]+$/);
    await t.sync.stop();
  });

  it('an invalid service becomes a problem, keeps its previous file, and does not stop the others', async () => {
    const t = setup([web(1), aService({ appId: '/api' })]);
    await t.sync.start();
    await t.step(0);
    const apiBefore = t.read('default/http/api.conf');
    t.view.set([web(2), aService({ appId: '/api', domains: ['bad domain;'] })]);
    expect(await t.step(INTERVAL)).toMatchObject({ status: 'applied', filesWritten: 1 });
    expect(t.read('default/http/api.conf')).toBe(apiBefore);
    expect([...t.problems.problems.values()]).toEqual([expect.objectContaining({ code: 'NGINX_INVALID_SERVICE', appId: '/api' })]);
    await t.sync.stop();
  });
});

describe('NginxSync disk state', () => {
  it('trusts what it wrote for a minute, then re-reads the disk and repairs a hand-deleted file', async () => {
    const t = setup([web(1)]);
    await t.sync.start();
    await t.step(0);
    fs.rmSync(path.join(t.dir, 'default/http/web.conf'));
    t.view.set([web(1)]);
    expect(await t.step(INTERVAL)).toMatchObject({ status: 'unchanged' });
    t.clock.advance(60_000);
    t.view.set([web(1)]);
    expect(await t.step(INTERVAL)).toMatchObject({ status: 'applied', filesWritten: 1 });
    expect(t.exists('default/http/web.conf')).toBe(true);
    await t.sync.stop();
  });
});

describe('NginxSync timing edges', () => {
  it('a journal move the listener missed is caught by the poll', async () => {
    const t = setup([web(1)]);
    // A view whose change notifications get lost (e.g. another process advanced the journal).
    const deaf = { snapshot: () => t.view.snapshot(), position: () => t.view.position(), onChange: () => () => undefined };
    const sync = new NginxSync({
      dir: t.dir,
      templatesDir: TEMPLATES_DIR,
      httpListen: '80',
      testCmd: '',
      reloadCmd: '',
      intervalMs: INTERVAL,
      commandTimeoutMs: 1000,
      maxRemovalRatio: 0.5,
      logger: silentLogger,
      metricsRegistry: new Registry(),
      view: deaf,
      store: t.store,
      problems: t.problems,
      clock: t.clock,
      control: t.control,
    });
    await sync.start();
    await t.step(0);
    await waitFor(() => t.clock.pending().length === 1, 'the poll timer to be armed');
    t.view.set([web(2)]);
    expect(await t.step(INTERVAL)).toMatchObject({ status: 'applied', position: 2 });
    await sync.stop();
  });

  it('a hung test command is killed at the timeout and does not block the next sync', async () => {
    const dir = tmpDir();
    const view = new InMemoryRegistryView();
    view.set([web(1)]);
    const store = new RecordingStore();
    const hang = path.join(dir, 'hang');
    fs.writeFileSync(hang, '');
    const sync = new NginxSync({
      dir,
      templatesDir: TEMPLATES_DIR,
      httpListen: '80',
      testCmd: `if [ -e ${hang} ]; then sleep 60; fi`,
      reloadCmd: 'true',
      intervalMs: INTERVAL,
      commandTimeoutMs: 300,
      maxRemovalRatio: 0.5,
      logger: silentLogger,
      metricsRegistry: new Registry(),
      view,
      store,
      problems: new InMemoryProblemSink(),
      clock: new FakeClock(),
    });
    const started = Date.now();
    const hung = await sync.syncNow();
    expect(hung).toMatchObject({ status: 'failed', reloaded: false, error: expect.stringContaining('timed out') });
    expect(Date.now() - started).toBeLessThan(10000);
    fs.rmSync(hang);
    expect(await sync.syncNow()).toMatchObject({ status: 'applied', reloaded: true });
  });
});

describe('leaderProblemSink', () => {
  it('replaces the nginx problems in the registry: stale ones cleared on start, offenders raised and cleared', async () => {
    const calls: Array<{ source: string; codes: string[] }> = [];
    const registry = { setProblems: async (source: string, ps: Problem[]) => void calls.push({ source, codes: ps.map((p) => `${p.code} ${p.appId}`) }) };
    const t = setup([web(1)]);
    const sync = new NginxSync({
      dir: t.dir,
      templatesDir: TEMPLATES_DIR,
      httpListen: '80',
      testCmd: '',
      reloadCmd: '',
      intervalMs: INTERVAL,
      commandTimeoutMs: 1000,
      maxRemovalRatio: 0.5,
      logger: silentLogger,
      metricsRegistry: new Registry(),
      view: t.view,
      store: t.store,
      problems: leaderProblemSink({ registry }),
      clock: t.clock,
      control: t.control,
    });
    await sync.start();
    await t.step(0);
    expect(calls).toEqual([{ source: 'nginx', codes: [] }]);
    t.control.testImpl = (target) => !t.staged(target, 'default/http/bad.conf');
    t.view.set([web(1), aService({ appId: '/bad' })]);
    await t.step(INTERVAL);
    expect(calls[calls.length - 1]).toEqual({ source: 'nginx', codes: ['NGINX_CONFIG_REJECTED /bad'] });
    t.view.set([web(1)]);
    await t.step(INTERVAL);
    expect(calls[calls.length - 1]).toEqual({ source: 'nginx', codes: [] });
    expect(calls).toHaveLength(3);
    await sync.stop();
  });
});
