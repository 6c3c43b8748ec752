/**
 * `beforeRender`: the hook berth uses to let DNS serve a registry position before the Nginx render
 * of that position takes its share of the event loop. A run waits on it, renders what the registry
 * holds once it resolves, is not held by it while the registry is not loaded, and stops waiting when
 * the sync stops.
 */
import fs from 'node:fs';
import path from 'node:path';
import { NginxSync } from '../../src/nginx/sync';
import type { NginxSyncOptions } from '../../src/nginx/sync-options';
import { InMemoryRegistryView } from '../../src/registry/view';
import { aService, anEndpoint, FakeClock, FakeControl, fakeSyncOptions, RecordingStore, tmpDir, waitFor, withEndpoints } from './helpers';

function setup(beforeRender: NginxSyncOptions['beforeRender']) {
  const dir = tmpDir();
  const clock = new FakeClock();
  const store = new RecordingStore();
  const view = new InMemoryRegistryView();
  const sync = new NginxSync(fakeSyncOptions({ dir, view, store, clock, control: new FakeControl(), beforeRender }));
  /** Fires the sync's first timer (the tests' clock is fake). */
  const kick = async () => {
    await waitFor(() => clock.pending().length > 0, 'the first sync timer');
    clock.advance(0);
  };
  const files = () => (fs.existsSync(path.join(dir, 'default/http')) ? fs.readdirSync(path.join(dir, 'default/http')).sort() : []);
  return { dir, clock, store, view, sync, files, kick };
}

const web = (appId: string, port: number) => aService({ appId, domains: [`${appId.slice(1)}.example.com`] }, withEndpoints(anEndpoint('10.0.0.1', port)));

it('waits for the hook with the loaded position, then renders the registry as it is by then', async () => {
  const asked: number[] = [];
  let release = (): void => undefined;
  const t = setup((position) => {
    asked.push(position);
    return new Promise<void>((r) => (release = r));
  });
  t.view.set([web('/a', 31000)]);
  await t.sync.start();
  await t.kick();
  await waitFor(() => asked.length === 1, 'the run to ask before rendering');
  expect(asked).toEqual([1]);
  // Nothing is written while the hook holds the run; a change meanwhile rides on this run.
  t.view.update([web('/b', 31001)]);
  expect(t.files()).toEqual([]);
  const next = t.store.next();
  release();
  expect(await next).toMatchObject({ status: 'applied', position: 2, filesWritten: 2 });
  expect(t.files()).toHaveLength(2);
  await t.sync.stop();
});

it('does not wait while the registry is not loaded (that run is held at once)', async () => {
  const asked: number[] = [];
  const t = setup(async (position) => void asked.push(position));
  const next = t.store.next();
  await t.sync.start();
  await t.kick();
  expect(await next).toMatchObject({ status: 'held' });
  expect(asked).toEqual([]);
  await t.sync.stop();
});

it('stop() ends a wait that would never end: the run in progress finishes as any run does at a stop', async () => {
  let asked = false;
  const t = setup(() => {
    asked = true;
    return new Promise<void>(() => undefined);
  });
  t.view.set([web('/a', 31000)]);
  await t.sync.start();
  await t.kick();
  await waitFor(() => asked, 'the run to ask before rendering');
  expect(t.store.all).toEqual([]);
  await t.sync.stop(); // would never resolve if the run still waited
  expect(t.store.all.map((r) => r.status)).toEqual(['applied']);
});
