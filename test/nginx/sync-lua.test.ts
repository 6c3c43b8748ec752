/**
 * NginxSync in lua mode without Nginx: the Lua http context travels in berth's http.conf through
 * staging (tested with the service files), and the endpoint push comes before the test and the reload.
 */
import fs from 'node:fs';
import path from 'node:path';
import { NginxSync } from '../../src/nginx/sync';
import { InMemoryRegistryView } from '../../src/registry/view';
import { aService, anEndpoint, FakeClock, FakeControl, fakeSyncOptions, RecordingStore, tmpDir, waitFor, withEndpoints } from './helpers';

it('lua mode: the push precedes the test and the reload, and http.conf carries the Lua context into staging', async () => {
  const dir = tmpDir();
  const clock = new FakeClock();
  const control = new FakeControl();
  const store = new RecordingStore();
  const view = new InMemoryRegistryView();
  view.set([aService({ appId: '/web' }, withEndpoints(anEndpoint('10.0.0.1', 31000)))]);
  const events: string[] = [];
  let stagedHttpConf = '';
  control.testImpl = (target) => {
    events.push('test');
    stagedHttpConf = fs.readFileSync(path.join(target!.dir, 'http.conf'), 'utf8');
    return true;
  };
  control.reloadImpl = () => (events.push('reload'), true);
  const sync = new NginxSync(
    fakeSyncOptions({
      dir,
      testCmd: 'check "$BERTH_NGINX_CANDIDATE_DIR"',
      view,
      store,
      clock,
      control,
      dynamic: 'lua',
      beforeApply: async () => void events.push('push'),
    }),
  );
  await sync.start();
  await waitFor(() => clock.pending().length > 0, 'the first sync timer');
  const next = store.next();
  clock.advance(0);
  expect(await next).toMatchObject({ status: 'applied', reloaded: true });
  await sync.stop();
  expect(events).toEqual(['push', 'test', 'reload']);
  // The tested tree already held the Lua lines, and the same file went live.
  expect(stagedHttpConf).toMatch(/lua_shared_dict berth_endpoints \S+;/);
  expect(stagedHttpConf).toContain('init_by_lua_block');
  expect(fs.readFileSync(path.join(dir, 'http.conf'), 'utf8')).toBe(stagedHttpConf);
  // The service file names no endpoint: the dict holds them.
  const files = fs.readdirSync(path.join(dir, 'default/http'));
  expect(fs.readFileSync(path.join(dir, 'default/http', files[0]), 'utf8')).not.toContain('10.0.0.1:31000');
});
