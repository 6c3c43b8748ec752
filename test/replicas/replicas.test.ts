/**
 * Issue 8 end to end: three berth processes on one PostgreSQL database and one simulated Marathon.
 * Exactly one leader; every replica's DNS follows changes; a SIGKILLed leader is replaced; lost
 * connections (what a PostgreSQL restart does to clients) never give two writers one epoch; and
 * IPAM allocations spread over the replicas never duplicate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { startSimulator, type Simulator } from '../../src/sim';
import { createPgDatabase } from '../support/db';
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
  r.api = await waitFor(() => /"url":"(http:[^"]+)","msg":"API listening"/.exec(r.log)?.[1], 60000, () => r.log.slice(-3000));
  r.dnsPort = Number(/"port":(\d+),"zones"/.exec(r.log)?.[1]);
  return r;
}

async function cluster(r: Replica): Promise<{ self: { role: string; epoch: number | null }; leader: { id: string; epoch: number } | null }> {
  const res = await fetch(`${r.api}/v1/cluster`);
  return (await res.json()) as never;
}

async function srvCount(r: Replica): Promise<number> {
  const resolver = new Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([`127.0.0.1:${r.dnsPort}`]);
  return resolver.resolveSrv(`_http._tcp.${DOMAIN}`).then((a) => a.length, () => 0);
}

describe('three replicas on one PostgreSQL database', () => {
  let db: { url: string; drop: () => Promise<void> };
  let admin: Knex;
  let sim: Simulator;
  let dir: string;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    db = await createPgDatabase();
    admin = knexFactory({ client: 'pg', connection: db.url, pool: { min: 0, max: 2 } });
    sim = await startSimulator({ keepaliveMs: 1000, agents: ['10.9.0.1', '10.9.0.2'] });
    await sim.control.deploy(app(2));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-replicas-'));
    // The first replica migrates the database; the others start once it has.
    replicas.push(await startReplica('a', db.url, sim.url, dir));
    replicas.push(...(await Promise.all([startReplica('b', db.url, sim.url, dir), startReplica('c', db.url, sim.url, dir)])));
  }, 180000);

  afterAll(async () => {
    for (const r of replicas) r.child.kill('SIGKILL');
    await Promise.all(replicas.map((r) => r.exited));
    await sim?.close();
    await admin?.destroy();
    await db?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const alive = () => replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null);

  test('exactly one leader, and every replica answers DNS from the shared registry', async () => {
    const roles = await waitFor(async () => {
      const views = await Promise.all(replicas.map(cluster));
      const leaders = views.filter((v) => v.self.role === 'leader');
      return leaders.length === 1 && views.every((v) => v.leader?.epoch === leaders[0].self.epoch) ? views : undefined;
    }, 20000);
    expect(roles.filter((v) => v.self.role === 'standby')).toHaveLength(2);
    await waitFor(async () => ((await Promise.all(replicas.map(srvCount))).every((n) => n === 2) ? true : undefined), 20000);
  });

  test('a change in Marathon reaches the DNS answers of all three within 2 s', async () => {
    await sim.control.scale('/rep/web', 3);
    const t0 = Date.now();
    await waitFor(async () => ((await Promise.all(replicas.map(srvCount))).every((n) => n === 3) ? true : undefined), 10000);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  test('SIGKILL of the leader: a new leader within 10 s, changes keep flowing, nothing lost', async () => {
    const views = await Promise.all(replicas.map(cluster));
    const old = replicas[views.findIndex((v) => v.self.role === 'leader')];
    const oldEpoch = views.find((v) => v.self.role === 'leader')!.self.epoch!;
    old.child.kill('SIGKILL');
    await old.exited;
    const t0 = Date.now();
    const survivors = alive();
    await waitFor(async () => {
      const v = await Promise.all(survivors.map(cluster));
      return v.filter((x) => x.self.role === 'leader' && (x.self.epoch ?? 0) > oldEpoch).length === 1 ? true : undefined;
    }, 10000);
    const failoverMs = Date.now() - t0;
    expect(failoverMs).toBeLessThan(10000);
    process.stdout.write(`replica failover after SIGKILL: ${failoverMs} ms\n`);
    await sim.control.scale('/rep/web', 4);
    await waitFor(async () => ((await Promise.all(survivors.map(srvCount))).every((n) => n === 4) ? true : undefined), 15000);
    // The registry equals what Marathon's state implies.
    const tasks = sim.control.tasks('/rep/web').filter((t) => t.state === 'TASK_RUNNING').length;
    const services = (await (await fetch(`${survivors[0].api}/v1/services/default/${DOMAIN}`)).json()) as { endpoints: unknown[] };
    expect(services.endpoints).toHaveLength(tasks);
  });

  test('lost database connections: leadership recovers with a higher epoch, never two leaders in one epoch', async () => {
    const before = Math.max(...(await Promise.all(alive().map(cluster))).map((v) => v.leader?.epoch ?? 0));
    // What a PostgreSQL restart does to every client: all sessions of this database end at once.
    await admin.raw('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
    await waitFor(async () => {
      const v = await Promise.all(alive().map((r) => cluster(r).catch(() => null)));
      const leaders = v.filter((x) => x?.self.role === 'leader');
      return leaders.length === 1 && (leaders[0]!.self.epoch ?? 0) > before ? true : undefined;
    }, 20000);
    const elections = await admin('cluster_election').select('epoch', 'holder_id');
    const byEpoch = new Map<number, Set<string>>();
    for (const e of elections as Array<{ epoch: number; holder_id: string }>) byEpoch.set(e.epoch, (byEpoch.get(e.epoch) ?? new Set()).add(e.holder_id));
    for (const holders of byEpoch.values()) expect(holders.size).toBe(1);
    // Service discovery still converges after the outage.
    await sim.control.scale('/rep/web', 2);
    await waitFor(async () => ((await Promise.all(alive().map(srvCount))).every((n) => n === 2) ? true : undefined), 20000);
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
});
