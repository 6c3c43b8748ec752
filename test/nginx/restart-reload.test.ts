/**
 * Found by the SIGKILL fault (test/faults/sigkill-sync.test.ts): berth killed during `nginx -t`
 * leaves the new files on disk, tested and loaded by nobody. The restarted berth rendered the same
 * bytes, saw nothing to change, and never reloaded, so Nginx kept the old upstreams until some
 * unrelated change. The first run after start now tests and reloads whatever berth's files hold.
 */
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log';
import { InMemoryRegistryView } from '../../src/registry/view';
import { InMemoryProblemSink } from '../../src/nginx/store';
import { NginxSync } from '../../src/nginx/sync';
import type { Service } from '../../src/model/types';
import { aService, anEndpoint, FakeClock, FakeControl, RecordingStore, TEMPLATES_DIR, tmpDir, withEndpoints } from './helpers';

const INTERVAL = 2000;
const web = (n: number) => aService({ appId: '/web' }, withEndpoints(...Array.from({ length: n }, (_, i) => anEndpoint('10.0.0.1', 31000 + i))));

/** One berth's Nginx sync on `dir` (a new one per "process"). */
function berthOn(dir: string, services: Service[] | null) {
  const clock = new FakeClock();
  const control = new FakeControl();
  const store = new RecordingStore();
  const view = new InMemoryRegistryView();
  if (services) view.set(services);
  const sync = new NginxSync({
    dir,
    templatesDir: TEMPLATES_DIR,
    httpListen: '127.0.0.1:8080',
    testCmd: 'unused',
    reloadCmd: 'unused',
    intervalMs: INTERVAL,
    commandTimeoutMs: 1000,
    maxRemovalRatio: 0.5,
    logger: silentLogger,
    metricsRegistry: new Registry(),
    view,
    store,
    problems: new InMemoryProblemSink(),
    clock,
    control,
  });
  const step = async (ms: number) => {
    const next = store.next();
    clock.advance(ms);
    return next;
  };
  return { sync, control, view, step };
}

describe('NginxSync after a restart', () => {
  it('tests and reloads files already on disk that match the registry, once', async () => {
    const dir = tmpDir();
    // The predecessor leaves berth's files on disk (whether Nginx loaded them, a new process cannot know).
    const before = berthOn(dir, [web(2)]);
    await before.sync.start();
    expect(await before.step(0)).toMatchObject({ status: 'applied', filesWritten: 1 });
    await before.sync.stop();

    const next = berthOn(dir, [web(2)]);
    await next.sync.start();
    expect(await next.step(0)).toMatchObject({ status: 'applied', filesWritten: 0, filesRemoved: 0, reloaded: true });
    expect([next.control.tests, next.control.reloads]).toEqual([1, 1]);
    // Only the first run: later unchanged runs cost no reload.
    next.view.set([web(2)]);
    expect(await next.step(INTERVAL)).toMatchObject({ status: 'unchanged' });
    expect(next.control.reloads).toBe(1);
    await next.sync.stop();
  });

  it('waits for the registry to load; an empty catalog writes only http.conf, once', async () => {
    const dir = tmpDir();
    const first = berthOn(dir, [web(1)]);
    await first.sync.start();
    expect(await first.step(0)).toMatchObject({ status: 'applied', reloaded: true });
    await first.sync.stop();

    const next = berthOn(dir, null);
    await next.sync.start();
    expect(await next.step(0)).toMatchObject({ status: 'held' }); // not loaded: nothing decided yet
    expect(next.control.reloads).toBe(0);
    next.view.set([web(1)]);
    expect(await next.step(INTERVAL)).toMatchObject({ status: 'applied', reloaded: true, filesWritten: 0 });
    await next.sync.stop();

    const empty = berthOn(tmpDir(), []);
    await empty.sync.start();
    // No service file, but berth's http.conf (server name hash, map, admin server) is new: one reload.
    expect(await empty.step(0)).toMatchObject({ status: 'applied', filesWritten: 0, reloaded: true });
    empty.view.set([]);
    expect(await empty.step(INTERVAL)).toMatchObject({ status: 'unchanged' });
    expect(empty.control.reloads).toBe(1);
    await empty.sync.stop();
  });
});
