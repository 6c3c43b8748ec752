import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log';
import type { Service } from '../../src/model/types';
import { InMemoryProblemSink } from '../../src/nginx/store';
import { NginxSync } from '../../src/nginx/sync';
import type { NginxSyncOptions } from '../../src/nginx/sync-options';
import { InMemoryRegistryView } from '../../src/registry/view';
import { RecordingStore, TEMPLATES_DIR, tmpDir, waitFor } from './helpers';

const EXAMPLE = path.resolve(__dirname, '../../nginx-templates/nginx.conf.example');
const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

/** Whether a real nginx can be used; outside CI a missing nginx skips with a printed reason. */
export function nginxAvailable(): boolean {
  const ok = spawnSync('nginx', ['-v'], { stdio: 'ignore' }).status === 0;
  if (!ok && process.env.CI) throw new Error('nginx is required in CI: apt-get install -y nginx-light libnginx-mod-stream');
  if (!ok) console.log('skipping real-nginx tests: nginx not installed (apt-get install -y nginx-light libnginx-mod-stream)');
  return ok;
}

/** A free loopback TCP port (nginx cannot bind port 0 itself). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

export interface RealNginx {
  prefix: string;
  conf: string;
  /** Folder berth renders into (BERTH_NGINX_DIR). */
  dir: string;
  httpPort: number;
  testCmd: string;
  /** The test of the candidate conf berth writes (with BERTH_NGINX_MAIN_CONF = `conf`): what the staged sync runs. */
  candidateTestCmd: string;
  reloadCmd: string;
  /** A free loopback `ip:port` for the admin server berth renders into http.conf (BERTH_NGINX_ADMIN_LISTEN). */
  adminListen: string;
  /** Nginx's error log (BERTH_NGINX_ERROR_LOG). */
  errorLog: string;
  /** Worker generations nginx started after its first (one per reload it performed), from its log. */
  reconfigurations(): number;
  /**
   * Resolves once no reload is half-way: at most one worker still accepts connections. During a
   * reload the new worker accepts before the old one has closed its listening socket, so for a
   * moment a request can still reach the previous configuration (on a busy machine, for tens of
   * milliseconds). A check of what Nginx serves waits for this first (bounded: `timeoutMs`).
   */
  settled(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Titles of `master`'s child processes (nginx sets a worker's title when it starts and when it begins to shut down). */
function childTitles(master: number): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === master) out.push(fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' '));
    } catch {
      // gone since the listing
    }
  }
  return out;
}

/**
 * Starts nginx (master + worker, so reloads create new worker generations) on loopback with its
 * own prefix, using nginx.conf.example with paths and ports swapped for the test's.
 */
export async function startNginx(): Promise<RealNginx> {
  const builtIn = /--with-stream(\s|$)/.test(spawnSync('nginx', ['-V'], { encoding: 'utf8' }).stderr ?? '');
  if (!builtIn && !fs.existsSync(STREAM_MODULE)) throw new Error(`nginx has no stream module: apt-get install -y libnginx-mod-stream (${STREAM_MODULE})`);
  const prefix = tmpDir('berth-real-nginx-');
  fs.chmodSync(prefix, 0o755); // workers (nobody) need to reach the temp folders
  const dir = path.join(prefix, 'generated');
  fs.mkdirSync(dir);
  fs.mkdirSync(path.join(prefix, 'tmp'));
  const httpPort = await freePort();
  const adminPort = await freePort();
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${prefix}/tmp/${t};`).join('\n');
  const conf = fs
    .readFileSync(EXAMPLE, 'utf8')
    .replace('include /etc/nginx/modules-enabled/*.conf;', builtIn ? '' : `load_module ${STREAM_MODULE};`)
    .replace('worker_processes auto;', 'worker_processes 1;')
    .replace('pid /run/nginx.pid;', `pid ${prefix}/nginx.pid;`)
    .replace('error_log /var/log/nginx/error.log warn;', `error_log ${prefix}/error.log notice;`)
    .replace('access_log /var/log/nginx/access.log;', `access_log off;\n${temps}`)
    .replace('listen 80 default_server;', `listen 127.0.0.1:${httpPort} default_server;`)
    .replaceAll('/var/lib/berth/nginx', dir);
  const confPath = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(confPath, conf);
  const base = `nginx -p ${prefix}/ -c ${confPath}`;
  const child: ChildProcess = spawn('nginx', ['-p', `${prefix}/`, '-c', confPath, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    return (await httpGet(httpPort, 'nothing.invalid').catch(() => null))?.status === 404;
  }, 'nginx to answer');
  const log = () => (fs.existsSync(path.join(prefix, 'error.log')) ? fs.readFileSync(path.join(prefix, 'error.log'), 'utf8') : '');
  return {
    prefix,
    conf: confPath,
    dir,
    httpPort,
    testCmd: `${base} -t -q`,
    candidateTestCmd: `nginx -p ${prefix}/ -c "$BERTH_NGINX_CANDIDATE_CONF" -t -q`,
    reloadCmd: `${base} -s reload`,
    adminListen: `127.0.0.1:${adminPort}`,
    errorLog: path.join(prefix, 'error.log'),
    reconfigurations: () => Math.max(0, (log().match(/: start worker processes$/gm) ?? []).length - 1),
    // worker_processes 1 (above): more than one worker not shutting down is a reload under way.
    settled: (timeoutMs = 10_000) =>
      waitFor(
        () => childTitles(child.pid!).filter((t) => t.startsWith('nginx: worker process') && !t.includes('shutting down')).length <= 1,
        'nginx reload to settle',
        timeoutMs,
      ),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * What every test driving a real `nginx` shares: the staged path (each run tests a candidate copy of
 * the main conf, then reloads and confirms the new generation through the admin server). `own`
 * brings the view and the sinks, and overrides anything else.
 */
export function stagedSyncOptions(
  nginx: Pick<RealNginx, 'dir' | 'httpPort' | 'reloadCmd' | 'conf' | 'prefix'> & Partial<Pick<RealNginx, 'candidateTestCmd' | 'adminListen'>>,
  own: Pick<NginxSyncOptions, 'view' | 'store' | 'problems'> & Partial<NginxSyncOptions>,
): NginxSyncOptions {
  const testCmd = own.testCmd ?? nginx.candidateTestCmd;
  if (testCmd === undefined) throw new Error('stagedSyncOptions: this nginx has no candidate test command; pass testCmd');
  return {
    dir: nginx.dir,
    templatesDir: TEMPLATES_DIR,
    httpListen: `127.0.0.1:${nginx.httpPort}`,
    testCmd,
    reloadCmd: nginx.reloadCmd,
    mainConf: nginx.conf,
    adminListen: nginx.adminListen,
    errorLog: path.join(nginx.prefix, 'error.log'),
    intervalMs: 100,
    commandTimeoutMs: 10_000,
    maxRemovalRatio: 0.9,
    // Generous: the machine running the tests may be busy; a reload not confirmed by then fails the test.
    confirmTimeoutMs: 15_000,
    logger: silentLogger,
    metricsRegistry: new Registry(),
    ...own,
  };
}

/** A staged sync (`stagedSyncOptions`) over a fresh in-memory view holding `services`, with a recording run store and problem sink. */
export function stagedSync(
  nginx: Parameters<typeof stagedSyncOptions>[0],
  services: readonly Service[],
  own: Partial<NginxSyncOptions> = {},
): { view: InMemoryRegistryView; store: RecordingStore; problems: InMemoryProblemSink; sync: NginxSync } {
  const view = new InMemoryRegistryView();
  view.set([...services]);
  const store = new RecordingStore();
  const problems = new InMemoryProblemSink();
  const sync = new NginxSync(stagedSyncOptions(nginx, { view, store, problems, ...own }));
  return { view, store, problems, sync };
}

/** GET / through nginx with a Host header; a fresh connection each time. */
export function httpGet(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** An HTTP backend on a loopback ephemeral port that answers with its name. */
export async function startBackend(name: string): Promise<{ name: string; port: number; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => res.end(name));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    name,
    port,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** A TCP backend that echoes with a prefix. */
export async function startEcho(prefix: string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('data', (d) => s.write(`${prefix}${d.toString()}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
