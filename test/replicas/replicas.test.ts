/**
 * Issue 8 end to end: three berth processes on one PostgreSQL database and one simulated Marathon.
 * Exactly one leader; every replica's DNS follows changes; a SIGKILLed leader is replaced; a real
 * PostgreSQL restart (a private cluster, so other test files keep their server) never gives two
 * writers one epoch, which the journal itself shows; and IPAM allocations spread over the replicas
 * never duplicate. Failover, propagation and restart-recovery times are printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { startSimulator, type Simulator } from '../../src/sim';
import { createPgDatabase } from '../support/db';
import { pgClusterUnavailable, privateCluster, type PgCluster } from '../support/pgcluster';
import { berthArgv, ROOT } from '../support/spawn';
import { waitFor } from '../support/wait';

interface Replica {
  name: string;
  child: ChildProcess;
  log: string;
  api: string;
  dnsPort: number;
  exited: Promise<number | null>;
}

interface ClusterView {
  self: { id: string; role: string; epoch: number | null; fresh: boolean; journal?: { behind: number | null; ageSeconds: number; fresh: boolean } };
  leader: { id: string; epoch: number; acquiredAt: string; startedAt: string | null } | null;
}

const DOMAIN = 'web.rep.berth.internal';
const app = (instances: number) => ({
  id: '/rep/web',
  instances,
  container: { type: 'DOCKER', docker: { image: 'nginx:alpine' }, portMappings: [{ containerPort: 80, hostPort: 0, name: 'http' }] },
  networks: [{ mode: 'container/bridge' }],
  labels: { 'berth.domain': DOMAIN },
});

async function startReplica(name: string, dbUrl: string, marathonUrl: string, dir: string): Promise<Replica> {
  const child = spawn(process.execPath, berthArgv('run'), {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      BERTH_DATABASE_URL: dbUrl,
      BERTH_MARATHON_URLS: marathonUrl,
      BERTH_HTTP_ADDR: '127.0.0.1:0',
      BERTH_DNS_ADDR: '127.0.0.1:0',
      BERTH_NGINX_DIR: path.join(dir, `nginx-${name}`),
      BERTH_NGINX_TEMPLATES: path.join(ROOT, 'nginx-templates'),
      BERTH_NGINX_TEST_CMD: '',
      BERTH_NGINX_RELOAD_CMD: '',
      BERTH_SYNC_INTERVAL_MS: '200',
      BERTH_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const r = { name, child, log: '', api: '', dnsPort: 0, exited: new Promise<number | null>((res) => child.on('exit', (c) => res(c))) };
  child.stdout!.on('data', (d) => (r.log += d));
  child.stderr!.on('data', (d) => (r.log += d));
  // A replica that dies on start fails the test at once, with its log.
  const died = r.exited.then((code) => {
    throw new Error(`berth ${name} exited (${code}) before listening:\n${r.log.slice(-3000)}`);
  });
  r.api = await Promise.race([
    waitFor(
      () => /"url":"(http:[^"]+)","msg":"API listening"/.exec(r.log)?.[1],
      60000,
      () => r.log.slice(-3000),
    ),
    died,
  ]);
  died.catch(() => undefined); // later exits (SIGKILL) are expected
  r.dnsPort = Number(/"port":(\d+),"zones"/.exec(r.log)?.[1]);
  return r;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

const cluster = (r: Replica) => getJson<ClusterView>(`${r.api}/v1/cluster`);

async function srvCount(r: Replica): Promise<number> {
  const resolver = new Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([`127.0.0.1:${r.dnsPort}`]);
  return resolver.resolveSrv(`_http._tcp.${DOMAIN}`).then(
    (a) => a.length,
    () => 0,
  );
}

/** A database of its own on the server at `serverUrl` (the private cluster). */
async function createDatabaseOn(serverUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `berth_rep_${process.pid}_${randomBytes(3).toString('hex')}`;
  const server = knexFactory({ client: 'pg', connection: serverUrl, pool: { min: 0, max: 1 } });
  await server.raw(`create database ${name}`);
  await server.destroy();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      // A fresh connection: the server may have restarted since.
      const k = knexFactory({ client: 'pg', connection: serverUrl, pool: { min: 0, max: 1 } });
      await k.raw(`drop database if exists ${name} with (force)`).finally(() => k.destroy());
    },
  };
}

const timings: Record<string, number> = {};
const record = (name: string, ms: number) => {
  timings[name] = ms;
  process.stdout.write(`replicas: ${name}: ${ms} ms\n`);
};

describe('three replicas on one PostgreSQL database', () => {
  let pg: PgCluster | null = null;
  let db: { url: string; drop: () => Promise<void> };
  let admin: Knex;
  let sim: Simulator;
  let dir: string;
  const replicas: Replica[] = [];
  const openAdmin = () => knexFactory({ client: 'pg', connection: db.url, pool: { min: 0, max: 2 } });

  beforeAll(async () => {
    const unavailable = pgClusterUnavailable();
    if (unavailable && process.env.CI) throw new Error(`a private PostgreSQL cluster is required in CI for the restart test: ${unavailable}`);
    if (unavailable) {
      process.stdout.write(`replicas: private PostgreSQL cluster unavailable (${unavailable}); a restart is simulated by ending every session\n`);
      db = await createPgDatabase();
    } else {
      pg = await privateCluster('berth_replicas', 5438);
      db = await createDatabaseOn(pg.url);
    }
    admin = openAdmin();
    sim = await startSimulator({ keepaliveMs: 1000, agents: ['10.9.0.1', '10.9.0.2'] });
    await sim.control.deploy(app(2));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-replicas-'));
    // The first replica migrates the database; the others start once it has.
    replicas.push(await startReplica('a', db.url, sim.url, dir));
    replicas.push(...(await Promise.all([startReplica('b', db.url, sim.url, dir), startReplica('c', db.url, sim.url, dir)])));
  }, 240000);

  afterAll(async () => {
    for (const r of replicas) r.child.kill('SIGKILL');
    await Promise.all(replicas.map((r) => r.exited));
    await sim?.close();
    await admin?.destroy();
    await db?.drop();
    await pg?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (Object.keys(timings).length) process.stdout.write(`replicas: timings ${JSON.stringify(timings)}\n`);
  }, 60000);

  const alive = () => replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
  const allSee = (nodes: Replica[], n: number, timeoutMs: number) =>
    waitFor(
      async () => ((await Promise.all(nodes.map(srvCount))).every((c) => c === n) ? true : undefined),
      timeoutMs,
      () => nodes.map((r) => `${r.name}: ${r.log.slice(-1500)}`).join('\n'),
    );
  /** Exactly one replica leads, in an epoch above `above`, and every replica agrees; returns the views. */
  const oneLeader = (nodes: Replica[], above: number, timeoutMs: number) =>
    waitFor(async () => {
      const views = await Promise.all(nodes.map((r) => cluster(r).catch(() => null)));
      if (views.some((v) => v === null)) return undefined;
      const leaders = views.filter((v) => v!.self.role === 'leader');
      if (leaders.length !== 1 || leaders[0]!.self.epoch! <= above) return undefined;
      return views.every((v) => v!.leader?.epoch === leaders[0]!.self.epoch) ? (views as ClusterView[]) : undefined;
    }, timeoutMs);
  // Replica ids and the epochs they led in, as seen from outside (checked against the journal).
  const killed: { id: string; epoch: number }[] = [];

  test('exactly one leader, visible with its epoch and start time; every replica answers DNS and reports role and freshness', async () => {
    const views = await oneLeader(replicas, 0, 20000);
    expect(views.filter((v) => v.self.role === 'standby')).toHaveLength(2);
    const leader = views.find((v) => v.self.role === 'leader')!;
    for (const v of views) {
      expect(v.leader).toMatchObject({ id: leader.self.id, epoch: leader.self.epoch });
      expect(Date.parse(v.leader!.acquiredAt)).not.toBeNaN();
      expect(Date.parse(v.leader!.startedAt!)).not.toBeNaN();
    }
    await allSee(replicas, 2, 20000);

    // Readiness: role and a fresh view (followers measure their journal lag).
    for (const r of replicas) {
      const ready = await waitFor(async () => {
        const body = (await (await fetch(`${r.api}/readyz`)).json()) as {
          checks: { cluster: { ok: boolean; detail: ClusterView['self'] & { role: string } } };
        };
        return body.checks.cluster.ok ? body.checks.cluster.detail : undefined;
      }, 10000);
      expect(ready.fresh).toBe(true);
      if (ready.role === 'standby') expect(ready.journal).toMatchObject({ behind: 0, fresh: true });
      else expect(ready.role).toBe('leader');
    }
    // Metrics: the leader's shows it leads, its epoch and since when; the standbys' their lag.
    const leaderReplica = replicas[views.indexOf(leader)];
    const metrics = await (await fetch(`${leaderReplica.api}/metrics`)).text();
    expect(metrics).toMatch(/^berth_cluster_is_leader 1$/m);
    expect(metrics).toMatch(new RegExp(`^berth_cluster_epoch ${leader.self.epoch}$`, 'm'));
    expect(Number(/^berth_cluster_leader_since_seconds (\S+)$/m.exec(metrics)?.[1])).toBeCloseTo(Date.parse(leader.leader!.acquiredAt) / 1000, 0);
    const standby = replicas.find((r) => r !== leaderReplica)!;
    const sm = await (await fetch(`${standby.api}/metrics`)).text();
    expect(sm).toMatch(/^berth_cluster_is_leader 0$/m);
    expect(sm).toMatch(/^berth_cluster_journal_lag_positions \d+$/m);
    expect(sm).toMatch(/^berth_cluster_journal_lag_seconds \S+$/m);
    expect(sm).toMatch(/^berth_cluster_view_fresh 1$/m);
  });

  test('a change in Marathon reaches the DNS answers of all three within 2 s', async () => {
    const samples: number[] = [];
    for (const n of [3, 2, 3]) {
      await sim.control.scale('/rep/web', n);
      const t0 = Date.now();
      await allSee(replicas, n, 10000);
      samples.push(Date.now() - t0);
    }
    record('DNS propagation to all three (max of 3 changes)', Math.max(...samples));
    expect(Math.max(...samples)).toBeLessThan(2000);
  });

  test('SIGKILL of the leader: a new leader within 10 s, changes keep flowing, nothing lost or duplicated', async () => {
    const views = await Promise.all(replicas.map(cluster));
    const i = views.findIndex((v) => v.self.role === 'leader');
    const old = replicas[i];
    const oldEpoch = views[i].self.epoch!;
    killed.push({ id: views[i].self.id, epoch: oldEpoch });
    const t0 = Date.now();
    old.child.kill('SIGKILL');
    // The change happens while nobody leads: the next leader must pick it up.
    await sim.control.scale('/rep/web', 4);
    await old.exited;
    const survivors = alive();
    await oneLeader(survivors, oldEpoch, 10000);
    const failoverMs = Date.now() - t0;
    record('failover: SIGKILL → new leader', failoverMs);
    expect(failoverMs).toBeLessThan(10000);
    await allSee(survivors, 4, 15000);
    record('failover: SIGKILL → change visible in all DNS', Date.now() - t0);

    // The registry equals Marathon's state: the same tasks, each once, no address:port twice.
    const running = sim.control.tasks('/rep/web').filter((t) => t.state === 'TASK_RUNNING');
    for (const r of survivors) {
      const service = await getJson<{ endpoints: Array<{ taskId: string; address: string; port: number }> }>(`${r.api}/v1/services/default/${DOMAIN}`);
      expect(service.endpoints.map((e) => e.taskId).sort()).toEqual(running.map((t) => t.id).sort());
      expect(new Set(service.endpoints.map((e) => `${e.address}:${e.port}`)).size).toBe(running.length);
    }
  });

  test('PostgreSQL restart: leadership recovers with a higher epoch, changes keep flowing', async () => {
    const nodes = alive();
    const views = await oneLeader(nodes, 0, 10000);
    const before = views[0].leader!.epoch;
    const t0 = Date.now();
    let back = t0;
    if (pg) {
      await admin.destroy(); // its connections die with the server
      await pg.restart();
      admin = openAdmin();
      back = Date.now();
      record('PostgreSQL restart (pg_ctlcluster restart -m fast)', back - t0);
    } else {
      // Fallback: what a restart does to every client, all sessions of this database end at once.
      await admin.raw('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
    }
    await sim.control.scale('/rep/web', 2);
    await oneLeader(nodes, before, 30000);
    record('restart → new leader (higher epoch)', Date.now() - t0);
    if (pg) record('server back → new leader', Date.now() - back);
    await allSee(nodes, 2, 30000);
    record('restart → change visible in all DNS', Date.now() - t0);
    if (pg) record('server back → change visible in all DNS', Date.now() - back);
    // Followers are fresh again (their catch-up recovered).
    await waitFor(async () => ((await Promise.all(nodes.map(cluster))).every((v) => v.self.fresh) ? true : undefined), 15000);
    const elections = await admin('cluster_election').select('epoch', 'holder_id');
    const byEpoch = new Map<number, Set<string>>();
    for (const e of elections as Array<{ epoch: number; holder_id: string }>)
      byEpoch.set(Number(e.epoch), (byEpoch.get(Number(e.epoch)) ?? new Set()).add(e.holder_id));
    for (const holders of byEpoch.values()) expect(holders.size).toBe(1);
  });

  test('1,000 concurrent allocations spread over the replicas: no duplicate IP', async () => {
    const nodes = alive();
    const create = await fetch(`${nodes[0].api}/v1/pools`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'rep', cidr: '10.77.0.0/21' }),
    });
    expect(create.status).toBe(201);
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        fetch(`${nodes[i % nodes.length].api}/v1/pools/rep/allocations/${encodeURIComponent(`/rep/app-${i % 400}`)}`, { method: 'PUT' }).then(async (r) => ({
          status: r.status,
          body: (await r.json()) as { ip: string; appId?: string },
          app: `/rep/app-${i % 400}`,
        })),
      ),
    );
    expect(results.filter((r) => r.status !== 200 && r.status !== 201)).toEqual([]);
    const ipOf = new Map<string, string>();
    for (const r of results) {
      expect(ipOf.get(r.app) ?? r.body.ip).toBe(r.body.ip); // same app, same IP
      ipOf.set(r.app, r.body.ip);
    }
    expect(new Set(ipOf.values()).size).toBe(400);
    expect(results.filter((r) => r.status === 201)).toHaveLength(400);
  });

  test('the journal shows one writer per fencing epoch, epochs only growing, nothing written after losing leadership', async () => {
    const rows = (await admin('registry_journal').orderBy('position').select('position', 'epoch', 'writer')).map(
      (r: { position: string; epoch: string | null; writer: string | null }) => ({
        position: Number(r.position),
        epoch: r.epoch === null ? null : Number(r.epoch),
        writer: r.writer,
      }),
    );
    const holderOf = new Map(
      (await admin('cluster_election').select('epoch', 'holder_id')).map((e: { epoch: string; holder_id: string }) => [Number(e.epoch), e.holder_id]),
    );
    expect(rows.length).toBeGreaterThan(0);
    // Every row says who wrote it, and in which epoch.
    expect(rows.filter((r) => r.epoch === null || r.writer === null)).toEqual([]);
    // One writer per epoch: the replica elected in it.
    const writers = new Map<number, Set<string>>();
    for (const r of rows) writers.set(r.epoch!, (writers.get(r.epoch!) ?? new Set()).add(r.writer!));
    for (const [epoch, w] of writers) expect({ epoch, writers: [...w] }).toEqual({ epoch, writers: [holderOf.get(epoch)] });
    // Epochs never go back with position: no row of an epoch after any row of a later one, so no
    // replica wrote after a successor began writing (an epoch's writes all commit before the next).
    const runs = rows.reduce<number[]>((acc, r) => (acc[acc.length - 1] === r.epoch ? acc : [...acc, r.epoch!]), []);
    expect(runs).toEqual([...runs].sort((a, b) => a - b));
    expect(new Set(runs).size).toBe(runs.length);
    // Both leadership changes are in the journal: the first leader, after SIGKILL, after the restart.
    expect(runs.length).toBeGreaterThanOrEqual(3);
    // The SIGKILLed leader wrote only in its own epoch, and nothing after its successor's first row.
    const firstAfter = rows.find((r) => r.epoch! > killed[0].epoch)!.position;
    const byKilled = rows.filter((r) => r.writer === killed[0].id);
    expect(byKilled.length).toBeGreaterThan(0);
    expect(byKilled.every((r) => r.epoch === killed[0].epoch && r.position < firstAfter)).toBe(true);
    process.stdout.write(`replicas: journal epochs in order ${JSON.stringify(runs.map((e) => ({ epoch: e, writer: holderOf.get(e) })))}\n`);
  });
});
