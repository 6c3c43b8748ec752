/**
 * SIGKILL of a real `berth run` while allocations are in flight, then a restart, on real
 * PostgreSQL. During: requests in flight get their connection reset, later ones are refused (the
 * process is gone). After: every allocation that was answered 2xx is in the database with the
 * same address, an interrupted one either committed whole or not at all, asking again returns the
 * address already held (sticky), no address or app twice, an audit event for every holding.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { startSimulator, type Simulator } from '../../src/sim';
import { createPgDatabase } from '../support/db';
import { poolState } from './ipam-check';
import { allocateAll, allocateUntil } from './ipam-load';
import { spawnBerth, type BerthProcess } from './proc';
import { FaultLog } from './record';

jest.setTimeout(120_000);
const log = new FaultLog('sigkill-alloc');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-faults-kill-alloc-'));
let pg: { url: string; drop: () => Promise<void> };
let sim: Simulator;
let db: Knex;
let berth: BerthProcess | undefined;
const env = () => ({ BERTH_DATABASE_URL: pg.url, BERTH_MARATHON_URLS: sim.url });

beforeAll(async () => {
  pg = await createPgDatabase();
  db = knexFactory({ client: 'pg', connection: pg.url, pool: { min: 0, max: 1 } });
  sim = await startSimulator({ flavour: '1.10', keepaliveMs: 500 });
  berth = await spawnBerth(dir, env());
}, 90_000);

afterAll(async () => {
  log.flush();
  await berth?.kill();
  await sim?.close();
  await db?.destroy();
  await pg?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('SIGKILL with allocations in flight, then restart: every 2xx kept its address, retries get the same one, no duplicate', async () => {
  const first = berth!;
  expect((await first.api('POST', '/v1/pools', { name: 'kill', cidr: '10.90.0.0/20' })).status).toBe(201);
  let acked = 0;
  let killedAt = 0;
  let refused = 0;
  const answers = await allocateUntil(
    first.url,
    'kill',
    '/kill/app',
    32,
    () => refused >= 32,
    3000,
    (a) => {
      if (a.status === 201) acked++;
      if (!killedAt && acked >= 200) {
        killedAt = Date.now();
        void first.kill();
      }
      if (killedAt && a.status === 0 && a.at - a.ms > killedAt) refused++;
    },
  );
  expect(await first.exited).toBe('SIGKILL');
  const acks = answers.filter((a) => a.status === 201);
  const cut = answers.filter((a) => a.status === 0 && a.at - a.ms <= killedAt); // in flight at the kill
  // During: an address or no answer at all; never an error status, never an address twice.
  expect(answers.every((a) => a.status === 201 || a.status === 0)).toBe(true);
  expect(new Set(acks.map((a) => a.ip)).size).toBe(acks.length);

  const t0 = Date.now();
  berth = await spawnBerth(dir, env());
  const restartMs = Date.now() - t0;
  const mid = await poolState(db, 'kill');
  // Every acknowledged allocation survived with its address; interrupted ones committed whole or not at all.
  expect(acks.filter((a) => mid.held.get(a.appId) !== a.ip)).toEqual([]);
  expect(mid).toMatchObject({ distinctIps: mid.rows, distinctOwners: mid.rows, allocateEvents: mid.rows, unaudited: 0 });
  const committedCut = cut.filter((a) => mid.held.has(a.appId)).length;
  expect(mid.rows).toBe(acks.length + committedCut);

  // Asking again (what a client does after an error) returns the address already held.
  const ids = answers.map((a) => a.appId);
  const again = await allocateAll(berth.url, 'kill', ids, 16);
  const firstOk = Math.min(...again.filter((a) => a.status === 200 || a.status === 201).map((a) => a.at));
  const byApp = new Map(again.map((a) => [a.appId, a]));
  for (const a of acks) expect(byApp.get(a.appId)).toMatchObject({ status: 200, ip: a.ip });
  for (const a of cut) expect(byApp.get(a.appId)?.status).toBe(mid.held.has(a.appId) ? 200 : 201);
  expect(again.every((a) => (a.status === 200 || a.status === 201) && (!mid.held.has(a.appId) || mid.held.get(a.appId) === a.ip))).toBe(true);
  const end = await poolState(db, 'kill');
  expect(end).toMatchObject({ rows: ids.length, distinctIps: ids.length, distinctOwners: ids.length, allocateEvents: ids.length, unaudited: 0 });

  log.add({
    fault: 'SIGKILL of berth with allocations in flight, then restart',
    during: `${acks.length} allocations answered 201 before the kill; ${cut.length} in flight got their connection reset (${committedCut} of them had committed), ${answers.length - acks.length - cut.length} more refused while berth was down`,
    after: `restart serves in ${(restartMs / 1000).toFixed(1)} s; all ${acks.length} acknowledged allocations kept their address; asking again for all ${ids.length} apps: ${again.filter((a) => a.status === 200).length} × 200 (address already held), ${again.filter((a) => a.status === 201).length} × 201; ${end.rows} allocations, ${end.distinctIps} distinct addresses, ${end.allocateEvents} audit events`,
    recoveryMs: firstOk - killedAt,
    recoveryFrom: 'kill → first allocation answered by the restarted berth (restart included)',
  });
});
