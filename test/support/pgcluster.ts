/**
 * A private PostgreSQL cluster for tests that restart the server (`pg_ctlcluster … restart`):
 * restarting the machine's shared cluster would break every other test file running in parallel,
 * so each caller gets its own cluster (Debian's pg_createcluster, trust auth, its own port), made
 * once and kept between runs. Needs root (or the postgres user) and Debian's postgresql-common.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';

export interface PgCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** `pg_ctlcluster <v> <name> restart -m fast`: every session is cut, the server comes back. */
  restart(): void;
  stop(): void;
  start(): void;
}

/** Why a private cluster cannot be made here, or null when it can. */
export function pgClusterUnavailable(): string | null {
  if (spawnSync('sh', ['-c', 'command -v pg_createcluster && command -v pg_ctlcluster']).status !== 0) return 'pg_createcluster/pg_ctlcluster not installed';
  if (process.getuid?.() !== 0) return 'creating a PostgreSQL cluster needs root';
  if (!version()) return 'no PostgreSQL server version under /usr/lib/postgresql';
  return null;
}

function version(): string | null {
  const dir = '/usr/lib/postgresql';
  if (!fs.existsSync(dir)) return null;
  const v = fs.readdirSync(dir).filter((d) => fs.existsSync(`${dir}/${d}/bin/postgres`)).sort((a, b) => Number(b) - Number(a));
  return v[0] ?? null;
}

const ctl = (v: string, name: string, action: string, ...extra: string[]) =>
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', v, name, action, ...extra], { stdio: 'pipe', timeout: 60_000 });

function waitReady(port: number): void {
  for (let i = 0; i < 100; i++) {
    if (spawnSync('pg_isready', ['-q', '-h', '127.0.0.1', '-p', String(port)]).status === 0) return;
    spawnSync('sleep', ['0.1']);
  }
  throw new Error(`private PostgreSQL cluster on port ${port} did not become ready`);
}

/** Creates (first time) and starts the cluster `name` on `port`; throws with the reason if it cannot. */
export function privateCluster(name: string, port: number): PgCluster {
  const why = pgClusterUnavailable();
  if (why) throw new Error(`private PostgreSQL cluster: ${why}`);
  const v = version() as string;
  const listed = execFileSync('pg_lsclusters', ['-h']).toString();
  if (!listed.split('\n').some((l) => l.split(/\s+/)[1] === name)) {
    execFileSync('pg_createcluster', [v, name, '-p', String(port), '--', '--auth=trust'], { stdio: 'pipe', timeout: 120_000 });
  }
  const online = () => execFileSync('pg_lsclusters', ['-h']).toString().split('\n').some((l) => { const f = l.split(/\s+/); return f[1] === name && f[3] === 'online'; });
  if (!online()) ctl(v, name, 'start');
  waitReady(port);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    restart: () => { ctl(v, name, 'restart', '-m', 'fast'); waitReady(port); },
    stop: () => ctl(v, name, 'stop', '-m', 'fast'),
    start: () => { ctl(v, name, 'start'); waitReady(port); },
  };
}
