import fs from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log';
import { InMemoryRegistryView } from '../../src/registry/view';
import { InMemoryProblemSink } from '../../src/nginx/store';
import { NginxSync } from '../../src/nginx/sync';
import { candidateConf } from '../../src/nginx/candidate-conf';
import { Staging } from '../../src/nginx/staging';
import type { Service } from '../../src/model/types';
import { aService, anEndpoint, FakeClock, FakeControl, RecordingStore, TEMPLATES_DIR, tmpDir, waitFor, withEndpoints } from './helpers';

const web = (n: number) => aService({ appId: '/web' }, withEndpoints(...Array.from({ length: n }, (_, i) => anEndpoint('10.0.0.1', 31000 + i))));

function newSync(dir: string, services: Service[], control: FakeControl) {
  const view = new InMemoryRegistryView();
  view.set(services);
  const store = new RecordingStore();
  const problems = new InMemoryProblemSink();
  const clock = new FakeClock();
  const sync = new NginxSync({
    dir,
    templatesDir: TEMPLATES_DIR,
    httpListen: '127.0.0.1:8080',
    testCmd: 'check "$BERTH_NGINX_CANDIDATE_DIR"',
    reloadCmd: 'unused',
    intervalMs: 2000,
    commandTimeoutMs: 1000,
    maxRemovalRatio: 1,
    logger: silentLogger,
    metricsRegistry: new Registry(),
    view,
    store,
    problems,
    clock,
    control,
  });
  const first = async () => {
    const run = store.next();
    await sync.start();
    await waitFor(() => clock.pending().length > 0, 'the first run to be armed');
    clock.advance(0);
    return run;
  };
  return { sync, view, store, problems, first };
}

describe('candidate nginx.conf', () => {
  const live = '/var/lib/berth/nginx';
  const staging = '/var/lib/berth/nginx/.staging';
  it('points includes of berth’s folder at staging (absolute, relative, glob, quoted) and makes other relative includes absolute', () => {
    const main = [
      '# include /var/lib/berth/nginx/*/http/*.conf; (a comment stays as it is)',
      'include /etc/nginx/modules-enabled/*.conf;',
      'events {}',
      'http { include mime.types; include /var/lib/berth/nginx/*/http/*.conf; }',
      'stream {',
      '    include "../../var/lib/berth/nginx/*/stream/*.conf";',
      '    include /var/lib/berth/nginx/http.conf;',
      '    include /var/lib/berth/nginx-other/x.conf;',
      '}',
      'http { ssi_types include; error_log /var/lib/berth/nginx/err.log; }',
    ].join('\n');
    const { text, staged } = candidateConf(main, '/etc/nginx/nginx.conf', [live], staging);
    expect(staged).toBe(3);
    expect(text.split('\n')).toEqual([
      '# include /var/lib/berth/nginx/*/http/*.conf; (a comment stays as it is)',
      'include /etc/nginx/modules-enabled/*.conf;',
      'events {}',
      'http { include /etc/nginx/mime.types; include /var/lib/berth/nginx/.staging/*/http/*.conf; }',
      'stream {',
      '    include /var/lib/berth/nginx/.staging/*/stream/*.conf;',
      '    include /var/lib/berth/nginx/.staging/http.conf;',
      '    include /var/lib/berth/nginx-other/x.conf;',
      '}',
      'http { ssi_types include; error_log /var/lib/berth/nginx/err.log; }',
    ]);
  });

  it('quotes a rewritten path that needs it', () => {
    const { text } = candidateConf('http { include "/srv/my dir/*/http/*.conf"; }', '/etc/nginx/nginx.conf', ['/srv/my dir'], '/srv/my dir/.staging');
    expect(text).toBe('http { include "/srv/my dir/.staging/*/http/*.conf"; }');
  });
});

describe('staging tree', () => {
  it('mirrors live by hard links, applies changes to staging only, and promotes them by rename', async () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'default/http'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'default/http/a.conf'), 'a1');
    fs.writeFileSync(path.join(dir, 'default/http/operator.conf'), 'mine');
    fs.writeFileSync(path.join(dir, 'http.conf'), 'top');
    const staging = new Staging(dir);
    fs.mkdirSync(path.join(staging.root, 'qa/http'), { recursive: true });
    fs.writeFileSync(path.join(staging.root, 'qa/http/leftover.conf'), 'untested');
    // Staging is written without temp names: a kill mid-write leaves a partial file under a live file's name.
    fs.mkdirSync(path.join(staging.root, 'default/http'), { recursive: true });
    fs.writeFileSync(path.join(staging.root, 'default/http/a.conf'), 'a2 half wri');
    await staging.reset();
    const stagedFiles = () =>
      fs.readdirSync(staging.root, { recursive: true, encoding: 'utf8' }).filter((f) => fs.statSync(path.join(staging.root, f)).isFile());
    expect(stagedFiles().sort()).toEqual(['default/http/a.conf', 'default/http/operator.conf', 'http.conf']);
    expect(fs.statSync(path.join(staging.root, 'default/http/a.conf')).ino).toBe(fs.statSync(path.join(dir, 'default/http/a.conf')).ino);
    await staging.stage([
      { path: 'default/http/a.conf', content: 'a2' },
      { path: 'qa/stream/b.conf', content: 'b' },
      { path: 'http.conf', content: null },
    ]);
    expect(fs.readFileSync(path.join(dir, 'default/http/a.conf'), 'utf8')).toBe('a1');
    expect(fs.existsSync(path.join(dir, 'qa'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'http.conf'))).toBe(true);
    await staging.promote([
      { path: 'default/http/a.conf', content: 'a2' },
      { path: 'qa/stream/b.conf', content: 'b' },
      { path: 'http.conf', content: null },
    ]);
    expect(fs.readFileSync(path.join(dir, 'default/http/a.conf'), 'utf8')).toBe('a2');
    expect(fs.readFileSync(path.join(dir, 'qa/stream/b.conf'), 'utf8')).toBe('b');
    expect(fs.existsSync(path.join(dir, 'http.conf'))).toBe(false);
    // Nothing but the tested files (no temp names) in live; staging equals live again.
    expect(fs.readdirSync(path.join(dir, 'default/http')).sort()).toEqual(['a.conf', 'operator.conf']);
    staging.invalidate();
    expect(await staging.mirror()).toBe(0);
  });
});

describe('NginxSync start with staging', () => {
  it('discards leftover staging, and converges when the live folder holds a file that fails the test (left by an older berth)', async () => {
    const dir = tmpDir();
    const control = new FakeControl();
    const before = newSync(dir, [web(1), aService({ appId: '/bad' })], control);
    expect(await before.first()).toMatchObject({ status: 'applied', filesWritten: 2 });
    await before.sync.stop();
    // An older berth wrote /bad's file into the live folder and died before its (failing) test.
    expect(fs.existsSync(path.join(dir, 'default/http/bad.conf'))).toBe(true);
    fs.mkdirSync(path.join(dir, '.staging/default/http'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.staging/default/http/junk.conf'), '# berth: /junk in default, servers=0; generated, do not edit\nnot nginx');
    const tested: string[][] = [];
    control.testImpl = (target) => {
      const files = fs.readdirSync(path.join(target!.dir, 'default/http')).sort();
      tested.push(files);
      return !files.includes('bad.conf') && !files.includes('junk.conf');
    };
    const after = newSync(dir, [web(2), aService({ appId: '/bad' })], control);
    const run = await after.first();
    expect(tested.every((files) => !files.includes('junk.conf'))).toBe(true);
    expect(run).toMatchObject({ status: 'applied', reloaded: true, offenders: [{ appId: '/bad' }] });
    expect(fs.readdirSync(path.join(dir, 'default/http')).sort()).toEqual(['web.conf']);
    expect(fs.readFileSync(path.join(dir, 'default/http/web.conf'), 'utf8')).toContain('10.0.0.1:31001');
    expect([...after.problems.problems.keys()]).toEqual(['NGINX_CONFIG_REJECTED /bad']);
    // The next change goes the normal way.
    after.view.set([web(3), aService({ appId: '/bad' })]);
    expect(await after.sync.syncNow()).toMatchObject({ status: 'applied', filesWritten: 1 });
    await after.sync.stop();
  });
});

describe('http.conf with staging', () => {
  it('is staged and tested with the service files before it reaches the live folder, and a rejected service leaves it as it was', async () => {
    const dir = tmpDir();
    const control = new FakeControl();
    const seen: Array<{ staged: boolean; live: boolean }> = [];
    control.testImpl = (target) => {
      seen.push({ staged: fs.existsSync(path.join(target!.dir, 'http.conf')), live: fs.existsSync(path.join(dir, 'http.conf')) });
      // The test rejects the second endpoint of /web.
      return !fs.readFileSync(path.join(target!.dir, 'default/http/web.conf'), 'utf8').includes('10.0.0.1:31001');
    };
    const t = newSync(dir, [web(1)], control);
    expect(await t.first()).toMatchObject({ status: 'applied', reloaded: true, filesWritten: 1 });
    // Tested in staging while the live folder had no http.conf yet; moved in only afterwards.
    expect(seen).toEqual([{ staged: true, live: false }]);
    const httpConf = fs.readFileSync(path.join(dir, 'http.conf'), 'utf8');
    expect(httpConf).toContain(`# generation ${t.sync.status().generation}`);
    expect(fs.statSync(path.join(dir, 'http.conf')).ino).toBe(fs.statSync(path.join(dir, '.staging/http.conf')).ino);
    // A change the test rejects: /web is the offender (http.conf never is), and nothing live changes.
    t.view.set([web(2)]);
    const run = await t.sync.syncNow();
    expect(run).toMatchObject({ status: 'applied', reloaded: false, filesWritten: 0, offenders: [{ appId: '/web' }] });
    expect(fs.readFileSync(path.join(dir, 'http.conf'), 'utf8')).toBe(httpConf);
    expect(fs.readFileSync(path.join(dir, '.staging/http.conf'), 'utf8')).toBe(httpConf);
    expect(control.reloads).toBe(1);
    await t.sync.stop();
  });
});
