import fs from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log';
import { InMemoryRegistryView } from '../../src/registry/view';
import { InMemoryProblemSink } from '../../src/nginx/store';
import { NginxSync } from '../../src/nginx/sync';
import type { TestTarget } from '../../src/nginx/command';
import type { Service } from '../../src/model/types';
import { aService, anEndpoint, FakeClock, FakeControl, RecordingStore, TEMPLATES_DIR, tmpDir, waitFor, withEndpoints } from './helpers';

const INTERVAL = 2000;

function setup(initial: Service[], opts: { dir?: string; quarantineMaxMs?: number } = {}) {
  const dir = opts.dir ?? tmpDir();
  const clock = new FakeClock();
  const control = new FakeControl();
  const store = new RecordingStore();
  const problems = new InMemoryProblemSink();
  const view = new InMemoryRegistryView();
  view.set(initial);
  const sync = new NginxSync({
    dir,
    templatesDir: TEMPLATES_DIR,
    httpListen: '127.0.0.1:8080',
    testCmd: 'check "$BERTH_NGINX_CANDIDATE_DIR"',
    reloadCmd: 'unused',
    intervalMs: INTERVAL,
    commandTimeoutMs: 1000,
    maxRemovalRatio: 1,
    quarantineMaxMs: opts.quarantineMaxMs,
    logger: silentLogger,
    metricsRegistry: new Registry(),
    view,
    store,
    problems,
    clock,
    control,
  });
  const exists = (rel: string) => fs.existsSync(path.join(dir, rel));
  const staged = (target: TestTarget | undefined, rel: string) => fs.existsSync(path.join(target!.dir, rel));
  const step = async (ms: number) => {
    await waitFor(() => clock.pending().length > 0, 'a sync timer to be armed');
    const next = store.next();
    clock.advance(ms);
    return next;
  };
  /** Advances one interval at a time until a run is recorded; returns how many intervals that took. */
  const intervalsToNextRun = async (max = 20) => {
    const before = store.all.length;
    let ticks = 0;
    while (store.all.length === before && ticks < max) {
      await waitFor(() => clock.pending().length === 1, 'the poll timer');
      clock.advance(INTERVAL);
      ticks++;
      await waitFor(() => clock.pending().length === 1, 'the tick (and its run) to finish');
    }
    return ticks;
  };
  return { dir, clock, control, store, problems, view, sync, exists, staged, step, intervalsToNextRun };
}

const web = (n: number) => aService({ appId: '/web' }, withEndpoints(...Array.from({ length: n }, (_, i) => anEndpoint('10.0.0.1', 31000 + i))));

describe('NginxSync quarantine', () => {
  it('a test command that fails exactly once does not hold the change: it ships in the same run, nobody is blamed', async () => {
    const t = setup([web(1)]);
    await t.sync.start();
    await t.step(0);
    let calls = 0;
    t.control.testImpl = () => ++calls !== 1;
    t.view.set([web(2)]);
    const run = await t.step(INTERVAL);
    expect(run).toMatchObject({ status: 'applied', reloaded: true, filesWritten: 1, offenders: [] });
    expect(fs.readFileSync(path.join(t.dir, 'default/http/web.conf'), 'utf8')).toContain('10.0.0.1:31001');
    expect(t.sync.status().excluded).toEqual([]);
    expect(t.problems.problems.size).toBe(0);
    await t.sync.stop();
  });

  it('a single suspect is blamed only after the failure repeats; a failure that does not repeat during the search blames nobody', async () => {
    const t = setup([web(1)]);
    await t.sync.start();
    await t.step(0);
    // Fails on the first two runs (the test and its confirmation), then the base passes, and the
    // subset test fails once and passes when repeated: the change is not blamed for that.
    const script = [false, false, true, false, true];
    t.control.testImpl = () => script.shift() ?? true;
    t.view.set([web(2)]);
    const run = await t.step(INTERVAL);
    expect(run.offenders).toEqual([]);
    expect(t.sync.status().excluded).toEqual([]);
    // Nothing was rejected, so the change is tried again with the next run and ships.
    expect(run.status).toBe('failed');
    expect(await t.step(INTERVAL)).toMatchObject({ status: 'applied', filesWritten: 1 });
    await t.sync.stop();
  });

  it('a truly bad service is retried after 1, 2, 4 intervals up to the cap, the problem names the next retry, and a definition change releases it at once', async () => {
    const t = setup([web(1)], { quarantineMaxMs: 4 * INTERVAL });
    await t.sync.start();
    await t.step(0);
    let badTests = 0;
    t.control.testImpl = (target) => {
      const bad = t.staged(target, 'default/http/bad.conf');
      if (bad) badTests++;
      return !bad;
    };
    t.view.set([web(1), aService({ appId: '/bad' })]);
    const blamed = await t.step(INTERVAL);
    expect(blamed).toMatchObject({ status: 'applied', offenders: [{ appId: '/bad' }], reloaded: false });
    const problem = () => t.problems.problems.get('NGINX_CONFIG_REJECTED /bad')?.message ?? '';
    expect(problem()).toContain(`next retry at ${new Date(t.clock.now() + INTERVAL).toISOString()}`);
    const gaps: number[] = [];
    for (let i = 0; i < 4; i++) {
      const testsBefore = badTests;
      gaps.push(await t.intervalsToNextRun());
      expect(t.store.all[t.store.all.length - 1]).toMatchObject({ trigger: 'retry', offenders: [{ appId: '/bad' }] });
      expect(badTests).toBeGreaterThan(testsBefore); // really tested again
      expect(problem()).toContain(`next retry at ${t.sync.status().excluded[0].retryAt}`);
    }
    expect(gaps).toEqual([1, 2, 4, 4]);
    expect(t.sync.status().excluded).toEqual([expect.objectContaining({ appId: '/bad', failures: 5 })]);
    expect(t.exists('default/http/bad.conf')).toBe(false);
    // Fixed: the new definition is tried with the next interval, not at the next retry.
    t.control.testImpl = () => true;
    t.view.set([web(1), aService({ appId: '/bad', version: 'fixed' })]);
    expect(await t.step(INTERVAL)).toMatchObject({ status: 'applied', trigger: 'interval', filesWritten: 1, offenders: [] });
    expect(t.exists('default/http/bad.conf')).toBe(true);
    expect(t.sync.status().excluded).toEqual([]);
    expect(t.problems.problems.size).toBe(0);
    await t.sync.stop();
  });

  it('a quarantined service that starts passing (the failure was elsewhere) ships at its next retry', async () => {
    const t = setup([web(1)]);
    await t.sync.start();
    await t.step(0);
    let broken = true;
    t.control.testImpl = (target) => !(broken && t.staged(target, 'default/http/bad.conf'));
    t.view.set([web(1), aService({ appId: '/bad' })]);
    expect(await t.step(INTERVAL)).toMatchObject({ offenders: [{ appId: '/bad' }] });
    broken = false;
    expect(await t.intervalsToNextRun()).toBe(1);
    expect(t.store.all[t.store.all.length - 1]).toMatchObject({ status: 'applied', filesWritten: 1, offenders: [] });
    expect(t.exists('default/http/bad.conf')).toBe(true);
    expect(t.problems.problems.size).toBe(0);
    await t.sync.stop();
  });
});
