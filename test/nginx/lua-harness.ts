import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { luaHttpExtras } from '../../src/nginx/lua/extras';
import { NGINX_MODULES } from '../support/tools';
import { tmpDir, waitFor } from './helpers';
import { freePort, httpGet } from './nginx-harness';

/** Pids of `parent`'s children, from /proc. */
function childrenOf(parent: number): number[] {
  const out: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (Number(/^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) === parent) out.push(Number(pid));
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

export interface LuaNginx {
  prefix: string;
  conf: string;
  /** Folder berth renders into (BERTH_NGINX_DIR). */
  dir: string;
  httpPort: number;
  /** The loopback admin server holding the Lua admin locations (with `berthHttpConf`: the port to give BERTH_NGINX_ADMIN_LISTEN). */
  adminPort: number;
  testCmd: string;
  reloadCmd: string;
  /** Worker generations started by reloads since the last (re)start, from the error log. */
  reconfigurations(): number;
  /** The error log so far. */
  log(): string;
  /** Stops the master and its workers (the shared dict is gone with them). */
  stop(): Promise<void>;
  /** Starts a stopped Nginx again with the same configuration and files. */
  start(): Promise<void>;
}

/**
 * A real Nginx with the HTTP Lua module, two workers by default (so a dict write must reach both).
 * `berthHttpConf`: the main conf includes berth's own `http.conf` as an operator's would (the Lua
 * dicts, init and admin server come from berth's file, nothing here), and `testCmd` tests the
 * candidate conf (staged, BERTH_NGINX_MAIN_CONF = `conf`). Otherwise the http context lua mode
 * needs is assembled here from `luaHttpExtras()` (the bench, which runs without an admin listen).
 */
export async function startLuaNginx(opts: { workers?: number; berthHttpConf?: boolean } = {}): Promise<LuaNginx> {
  const prefix = tmpDir('berth-lua-nginx-');
  fs.chmodSync(prefix, 0o755); // workers (nobody) need to reach the temp folders
  const dir = path.join(prefix, 'generated');
  fs.mkdirSync(dir);
  fs.mkdirSync(path.join(prefix, 'tmp'));
  const [httpPort, adminPort] = [await freePort(), await freePort()];
  const extras = luaHttpExtras();
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${prefix}/tmp/${t};`).join('\n');
  const conf = `load_module ${NGINX_MODULES}/ndk_http_module.so;
load_module ${NGINX_MODULES}/ngx_http_lua_module.so;
worker_processes ${opts.workers ?? 2};
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log notice;
events { worker_connections 1024; }
http {
    access_log off;
${temps}
${
  opts.berthHttpConf
    ? `    include ${dir}/http[.]conf;`
    : `    server_names_hash_bucket_size 512;
    server_names_hash_max_size 65536;
    # As berth's http.conf has it: the templates pass WebSocket upgrades through this map.
    map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
${extras.httpContext}
    server {
        listen 127.0.0.1:${adminPort};
${extras.adminLocations}
    }`
}
    server {
        listen 127.0.0.1:${httpPort} default_server;
        server_name _;
        return 404;
    }
    include ${dir}/*/http/*.conf;
}
`;
  const confPath = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(confPath, conf);
  const base = `nginx -p ${prefix}/ -c ${confPath}`;
  const logFile = path.join(prefix, 'error.log');
  const log = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
  const starts = () => (log().match(/: start worker processes$/gm) ?? []).length;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let startsAtLaunch = 0;
  const start = async () => {
    startsAtLaunch = starts() + 1;
    const proc = spawn('nginx', ['-p', `${prefix}/`, '-c', confPath, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    exited = new Promise<void>((r) => proc.once('exit', () => r()));
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
      return (await httpGet(httpPort, 'nothing.invalid').catch(() => null))?.status === 404;
    }, 'nginx to answer');
  };
  await start();
  return {
    prefix,
    conf: confPath,
    dir,
    httpPort,
    adminPort,
    testCmd: opts.berthHttpConf ? `nginx -p ${prefix}/ -c "$BERTH_NGINX_CANDIDATE_CONF" -t -q` : `${base} -t -q`,
    reloadCmd: `${base} -s reload`,
    reconfigurations: () => Math.max(0, starts() - startsAtLaunch),
    log,
    start,
    stop: async () => {
      const proc = child;
      if (!proc) return;
      const workers = proc.pid ? childrenOf(proc.pid) : [];
      if (proc.exitCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
      child = null;
      // A master killed on a busy machine leaves its workers behind (holding the ports): end them by pid.
      for (const pid of workers) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
}
