/**
 * PostgreSQL faults under allocation load: every session of berth's database killed
 * (pg_terminate_backend: the server stays up, so reconnecting succeeds at once; a real server
 * restart, refusing connections for seconds, is pg-restart.test.ts), the connection pool
 * exhausted, 1,000 concurrent allocations. During: allocations answer 503 (never a wrong or
 * duplicate address) and DNS keeps answering from memory; after: berth recovers by itself,
 * nothing acknowledged is lost, no IP is handed out twice.
 */
import knexFactory, { type Knex } from 'knex';
import { createPgDatabase, TEST_PG_URL } from '../support/db';
import { waitFor } from '../support/wait';
import { allocateAll, settle } from './ipam-load';
import { FaultLog } from './record';
import { startStack, webApp, ZONE, type Stack } from './stack';

jest.setTimeout(120_000);
const log = new FaultLog('database');
let s: Stack;
let pg: { url: string; drop: () => Promise<void> };
let admin: Knex;
const dbName = () => new URL(pg.url).pathname.slice(1);

async function allocatedRows(pool: string): Promise<Array<{ ip: string; owner: string }>> {
  const { rows } = await admin.raw(`select 1`); // keep admin warm
  void rows;
  const k = knexFactory({ client: 'pg', connection: pg.url, pool: { min: 0, max: 1 } });
  try {
    const r = await k.raw(
      `select host(a.ip) as ip, a.owner from ipam_address a join ipam_pool p on p.id = a.pool_id where p.name = ? and a.state = 'allocated'`,
      [pool],
    );
    return r.rows as Array<{ ip: string; owner: string }>;
  } finally {
    await k.destroy();
  }
}

beforeAll(async () => {
  pg = await createPgDatabase();
  admin = knexFactory({ client: 'pg', connection: TEST_PG_URL, pool: { min: 0, max: 1 } });
  s = await startStack({ env: { BERTH_DATABASE_URL: pg.url } });
  await s.sim.control.deploy(webApp('db', 2));
  await waitFor(async () => (await s.srv(`db.${ZONE}`)) === 2, 30_000);
}, 90_000);

afterAll(async () => {
  log.flush();
  await s?.stop();
  await admin?.destroy();
  await pg?.drop();
});

it('1,000 concurrent allocation requests: each app gets one address, no address twice', async () => {
  expect((await s.api('POST', '/v1/pools', { name: 'burst', cidr: '10.50.0.0/21' })).status).toBe(201);
  const t0 = Date.now();
  const ids = Array.from({ length: 1000 }, (_, i) => `/burst/app-${i}`);
  const [answers, repeats] = await Promise.all([
    allocateAll(s.berth.url, 'burst', ids, 1000),
    allocateAll(s.berth.url, 'burst', Array(50).fill('/burst/same'), 50),
  ]);
  const ms = Date.now() - t0;
  expect(answers.filter((a) => a.status !== 201).map((a) => `${a.appId}: ${a.status} ${a.code ?? ''} after ${a.ms} ms`)).toEqual([]);
  expect(new Set(answers.map((a) => a.ip)).size).toBe(1000);
  expect(new Set(repeats.map((a) => a.ip)).size).toBe(1);
  expect(repeats.filter((a) => a.status === 201)).toHaveLength(1);
  const rows = await allocatedRows('burst');
  expect(rows).toHaveLength(1001);
  expect(new Set(rows.map((r) => r.ip)).size).toBe(1001);
  log.add({
    fault: '1,000 concurrent allocation requests (+50 for one app)',
    during: `all 1,000 answered 201 in ${(ms / 1000).toFixed(1)} s; the 50 repeats: one 201, 49 × 200, same address`,
    after: '1,001 allocations in the database, 1,001 distinct addresses',
    recoveryMs: null,
    recoveryFrom: 'n/a',
  });
});

it('PostgreSQL sessions killed under allocation load: 503 while reconnecting, nothing acknowledged lost, no duplicate', async () => {
  expect((await s.api('POST', '/v1/pools', { name: 'kill', cidr: '10.60.0.0/20' })).status).toBe(201);
  const ids = Array.from({ length: 600 }, (_, i) => `/kill/app-${i}`);
  let killedAt = 0;
  let firstOkAfter = 0;
  let terminated = 0;
  const answers = await allocateAll(s.berth.url, 'kill', ids, 16, (a) => {
    if (!killedAt && a.status === 201 && Number(a.ip?.split('.')[3]) >= 0 && ids.indexOf(a.appId) >= 150) {
      killedAt = Date.now();
      void admin
        .raw(`select count(pg_terminate_backend(pid)) as n from pg_stat_activity where datname = ? and pid <> pg_backend_pid()`, [dbName()])
        .then((r) => (terminated = Number(r.rows[0].n)));
    } else if (killedAt && !firstOkAfter && a.status === 201 && a.at > killedAt + 50) firstOkAfter = a.at;
  });
  expect(killedAt).toBeGreaterThan(0);
  await waitFor(() => terminated > 0, 5000);
  const statuses = [...new Set(answers.map((a) => a.status))].sort();
  // Users see 201, or 503 DATABASE_UNAVAILABLE while the pool reconnects; never 500, never a wrong address.
  expect(statuses.every((st) => st === 201 || st === 503)).toBe(true);
  const acked = answers.filter((a) => a.status === 201);
  const held = await settle(s.berth.url, 'kill', ids);
  expect(held.size).toBe(ids.length);
  for (const a of acked) expect(held.get(a.appId)).toBe(a.ip);
  const rows = await allocatedRows('kill');
  expect(rows).toHaveLength(ids.length);
  expect(new Set(rows.map((r) => r.ip)).size).toBe(ids.length);
  const failed = answers.filter((a) => a.status !== 201).length;
  log.add({
    fault: `PostgreSQL sessions killed under allocation load (${terminated} backends terminated)`,
    during: `${failed} of ${ids.length} allocations answered 503 DATABASE_UNAVAILABLE (statuses seen: ${statuses.join(', ')}); DNS served from memory`,
    after: 'pool reconnects by itself; every acknowledged allocation kept its address; no duplicates',
    recoveryMs: firstOkAfter ? firstOkAfter - killedAt : null,
    recoveryFrom: 'kill → next successful allocation',
  });
});

it('connection pool exhausted: allocations answer 503 after the acquire timeout, DNS keeps answering, recovery once freed', async () => {
  const pool = (s.berth.db.knex.client as { pool: { max: number; numUsed(): number; numFree(): number; numPendingCreates(): number } }).pool;
  const client = s.berth.db.knex.client as { acquireConnection(): Promise<unknown>; releaseConnection(c: unknown): Promise<unknown> };
  expect((await s.api('POST', '/v1/pools', { name: 'exh', cidr: '10.70.0.0/24' })).status).toBe(201);
  const taken: unknown[] = [];
  try {
    // Take every connection berth's pool may open (those in use by its listeners stay in use).
    while (pool.numUsed() < pool.max) taken.push(await client.acquireConnection());
    // Connections berth's own background work held a moment ago come back to the pool: queued
    // acquires (served first come, first served) take them before the allocation's request can.
    const extra = Array.from({ length: 4 }, () =>
      client.acquireConnection().then(
        (c) => {
          taken.push(c);
        },
        () => undefined,
      ),
    );
    const t0 = Date.now();
    const r = await s.api<{ code: string }>('POST', '/v1/pools/exh/allocations', { appId: '/exhausted/app' });
    const waited = Date.now() - t0;
    await Promise.all(extra);
    const dnsDuring = await s.srv(`db.${ZONE}`);
    expect({ status: r.status, used: pool.numUsed(), max: pool.max }).toEqual({ status: 503, used: pool.max, max: pool.max });
    expect(dnsDuring).toBe(2);
    const t1 = Date.now();
    await Promise.all(taken.splice(0).map((c) => client.releaseConnection(c)));
    const ok = await s.api<{ ip: string }>('POST', '/v1/pools/exh/allocations', { appId: '/exhausted/app' });
    expect(ok.status).toBe(201);
    log.add({
      fault: 'database connection pool exhausted',
      during: `allocation answered ${r.status} ${r.body.code} after ${(waited / 1000).toFixed(1)} s (acquire timeout); DNS answered from memory`,
      after: 'the next allocation succeeds',
      recoveryMs: Date.now() - t1,
      recoveryFrom: 'connections freed → allocation 201',
    });
  } finally {
    await Promise.all(taken.map((c) => client.releaseConnection(c)));
  }
});
