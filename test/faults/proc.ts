/**
 * A real `berth run` process for faults that need one (SIGKILL, RSS): spawned from source, its API
 * URL and DNS port read from its log, killed by pid. Loopback and port 0 only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { berthArgv, ROOT } from '../support/spawn';
import { waitFor } from '../support/wait';
import { ZONE } from './stack';

export interface BerthProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  dnsPort: number;
  /** Everything it logged so far (JSON lines). */
  log(): string;
  /** Resolves with the exit code or signal once the process is gone. */
  exited: Promise<string>;
  /** Resident memory from /proc (bytes). */
  rss(): number;
  alive(): boolean;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<string>;
  api<T = unknown>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }>;
}

/** Starts `berth run` in `dir` with the usual test settings plus `env`; resolves once the API listens. */
export async function spawnBerth(dir: string, env: Record<string, string>): Promise<BerthProcess> {
  const child = spawn(process.execPath, berthArgv('run'), {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      BERTH_HTTP_ADDR: '127.0.0.1:0',
      BERTH_DNS_ADDR: '127.0.0.1:0',
      BERTH_DNS_ZONES: ZONE,
      BERTH_NGINX_DIR: path.join(dir, 'nginx'),
      BERTH_NGINX_TEMPLATES: path.join(ROOT, 'nginx-templates'),
      BERTH_NGINX_HTTP_LISTEN: '127.0.0.1:18082',
      BERTH_NGINX_TEST_CMD: '',
      BERTH_NGINX_RELOAD_CMD: '',
      BERTH_SYNC_INTERVAL_MS: '200',
      BERTH_DATA_DIR: path.join(dir, 'var'),
      BERTH_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<string>((res) => child.on('exit', (code, signal) => res(signal ?? String(code))));
  let gone = false;
  void exited.then(() => (gone = true));
  const url = await waitFor(
    () => {
      if (gone) throw new Error(`berth exited during start-up:\n${out.slice(-3000)}`);
      return /"url":"(http:[^"]+)","msg":"API listening"/.exec(out)?.[1];
    },
    60_000,
    () => out.slice(-3000),
  );
  const dnsPort = Number(/"port":(\d+),"zones"/.exec(out)?.[1]);
  const pid = child.pid!;
  return {
    child,
    pid,
    url,
    dnsPort,
    exited,
    log: () => out,
    alive: () => !gone,
    rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024,
    kill: async () => {
      if (!gone) child.kill('SIGKILL');
      return exited;
    },
    api: async <T>(method: string, p: string, body?: unknown) => {
      const r = await fetch(`${url}${p}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: r.status, body: parsed as T };
    },
  };
}
