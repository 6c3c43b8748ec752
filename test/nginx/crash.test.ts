import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log';
import { InMemoryRegistryView } from '../../src/registry/view';
import { compileTemplates } from '../../src/nginx/templates';
import { renderServices } from '../../src/nginx/render';
import { InMemoryProblemSink } from '../../src/nginx/store';
import { NginxSync } from '../../src/nginx/sync';
import { crashCatalog, CRASH_SERVICES } from './fixtures/crash-catalog';
import { RecordingStore, TEMPLATES_DIR } from './helpers';
import { describeWithTools } from '../support/tools';
import { startNginx, type RealNginx } from './nginx-harness';

const CHILD = path.join(__dirname, 'fixtures/sync-child.ts');

const templates = compileTemplates({
  http: fs.readFileSync(path.join(TEMPLATES_DIR, 'http.conf.hbs'), 'utf8'),
  stream: fs.readFileSync(path.join(TEMPLATES_DIR, 'stream.conf.hbs'), 'utf8'),
});

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const env of fs.readdirSync(dir)) {
    const sub = path.join(dir, env, 'http');
    if (fs.existsSync(sub)) for (const f of fs.readdirSync(sub)) out.push(path.join(env, 'http', f));
  }
  return out;
}

/**
 * Runs the child until it reported `runs` syncs, then SIGKILLs it `delayMs` later, or with
 * `'on-write'` as soon as inotify sees the next file being replaced (so the kill lands mid-write).
 */
async function killMidSync(nginx: RealNginx, runs: number, delayMs: number | `on-write+${number}`): Promise<void> {
  const httpListen = `127.0.0.1:${nginx.httpPort}`;
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, nginx.dir, TEMPLATES_DIR, httpListen, nginx.testCmd, nginx.reloadCmd], {
    cwd: path.resolve(__dirname, '../..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let watcher: fs.FSWatcher | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      let seen = 0;
      const timer = setTimeout(() => reject(new Error('child made no progress')), 90000);
      child.stdout!.on('data', (b: Buffer) => {
        const lines = (b.toString().match(/^run /gm) ?? []).length;
        seen += lines;
        if (seen < runs || seen - lines >= runs) return; // act once, when the count first reaches `runs`
        clearTimeout(timer);
        if (typeof delayMs === 'number') setTimeout(resolve, delayMs);
        else {
          watcher = fs.watch(path.join(nginx.dir, 'default/http'), () => {
            watcher?.close();
            setTimeout(resolve, Number(delayMs.split('+')[1]));
          });
        }
      });
      child.once('exit', () => reject(new Error('child exited early')));
    });
  } finally {
    watcher?.close();
    child.kill('SIGKILL');
    await exited;
  }
}

describeWithTools(['nginx'], 'SIGKILL in the middle of a sync', () => {
  let nginx: RealNginx;
  beforeAll(async () => {
    nginx = await startNginx();
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  it('leaves every file old or new, never partial; nginx -t passes; the next start converges', async () => {
    for (const delayMs of ['on-write+2', 'on-write+12', 40] as const) {
      await killMidSync(nginx, 2, delayMs);
      // Every file is complete: byte-identical to the rendering of some generation.
      const files = listFiles(nginx.dir).filter((f) => f.endsWith('.conf'));
      expect(files).toHaveLength(CRASH_SERVICES);
      const generations = new Set<number>();
      for (const f of files) {
        const content = fs.readFileSync(path.join(nginx.dir, f), 'utf8');
        const gen = Number(/127\.0\.0\.1:(\d+)/.exec(content)?.[1]) - 10000;
        const expected = renderServices(crashCatalog(gen), templates, `127.0.0.1:${nginx.httpPort}`).files.find((x) => x.path === f);
        expect(content).toBe(expected?.content);
        generations.add(gen);
      }
      // Informative: whether this kill landed while files were being replaced.
      const temps = listFiles(nginx.dir).length - files.length;
      console.log(`kill ${delayMs}: ${generations.size} generation(s) on disk, ${temps} temp file(s) left`);
      const test = spawnSync('sh', ['-c', nginx.testCmd], { encoding: 'utf8' });
      expect(test.stderr).toBe('');
      expect(test.status).toBe(0);
    }
    // A fresh start cleans the temp files and converges on the catalog.
    const view = new InMemoryRegistryView();
    view.set(crashCatalog(5000));
    const store = new RecordingStore();
    const sync = new NginxSync({
      dir: nginx.dir,
      templatesDir: TEMPLATES_DIR,
      httpListen: `127.0.0.1:${nginx.httpPort}`,
      testCmd: nginx.testCmd,
      reloadCmd: nginx.reloadCmd,
      intervalMs: 60000,
      commandTimeoutMs: 10000,
      maxRemovalRatio: 0.5,
      logger: silentLogger,
      metricsRegistry: new Registry(),
      view,
      store,
      problems: new InMemoryProblemSink(),
    });
    const first = store.next();
    await sync.start();
    expect(await first).toMatchObject({ status: 'applied', filesWritten: CRASH_SERVICES, reloaded: true });
    await sync.stop();
    expect(listFiles(nginx.dir).filter((f) => !f.endsWith('.conf'))).toEqual([]);
    for (const f of listFiles(nginx.dir)) expect(fs.readFileSync(path.join(nginx.dir, f), 'utf8')).toContain('server 127.0.0.1:15000 ');
  }, 240000); // three child processes started through tsx: slow on a busy 2-core machine
});
