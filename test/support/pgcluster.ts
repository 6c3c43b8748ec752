/**
 * A private PostgreSQL cluster for tests that restart the server (`pg_ctlcluster … restart`):
 * restarting the machine's shared cluster would break every other test file running in parallel,
 * so each caller gets its own cluster (Debian's pg_createcluster, trust auth, its own port), made
 * once and kept between runs. Needs root (or the postgres user) and Debian's postgresql-common.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';

export interface PgCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /**
   * `pg_ctlcluster <v> <name> restart -m fast`: every session is cut, the server comes back.
   * Asynchronous, so a berth running in the same process keeps serving while it happens.
   */
  restart(): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
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
  const v = fs
    .readdirSync(dir)
    .filter((d) => fs.existsSync(`${dir}/${d}/bin/postgres`))
    .sort((a, b) => Number(b) - Number(a));
  return v[0] ?? null;
}

const run = promisify(execFile);
const ctl = async (v: string, name: string, action: string, ...extra: string[]) => {
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', v, name, action, ...extra], { timeout: 60_000 });
};

/** Polls pg_isready (bounded: 10 s) until the server accepts connections. */
async function waitReady(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (
      await run('pg_isready', ['-q', '-h', '127.0.0.1', '-p', String(port)]).then(
        () => true,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`private PostgreSQL cluster on port ${port} did not become ready`);
}

/** Creates (first time) and starts the cluster `name` on `port`; throws with the reason if it cannot. */
export async function privateCluster(name: string, port: number): Promise<PgCluster> {
  const why = pgClusterUnavailable();
  if (why) throw new Error(`private PostgreSQL cluster: ${why}`);
  const v = version() as string;
  const listed = execFileSync('pg_lsclusters', ['-h']).toString();
  if (!listed.split('\n').some((l) => l.split(/\s+/)[1] === name)) {
    execFileSync('pg_createcluster', [v, name, '-p', String(port), '--', '--auth=trust'], { stdio: 'pipe', timeout: 120_000 });
  }
  const online = () =>
    execFileSync('pg_lsclusters', ['-h'])
      .toString()
      .split('\n')
      .some((l) => {
        const f = l.split(/\s+/);
        return f[1] === name && f[3] === 'online';
      });
  if (!online()) await ctl(v, name, 'start');
  await waitReady(port);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    restart: async () => {
      await ctl(v, name, 'restart', '-m', 'fast');
      await waitReady(port);
    },
    stop: () => ctl(v, name, 'stop', '-m', 'fast'),
    start: async () => {
      await ctl(v, name, 'start');
      await waitReady(port);
    },
  };
}
