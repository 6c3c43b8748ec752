import type { Database } from '../../src/db/knex';
import { assertEpoch } from '../../src/cluster/fence';
import type { PgLeadership } from '../../src/cluster/pg-leadership';
import { waitFor } from '../support/wait';
import { fastLeadership, firstEvent, nextEvent, pgDatabase } from './helpers';

describe('Leadership on PostgreSQL', () => {
  let db: Database;
  let url: string;
  let drop: () => Promise<void>;
  let replicas: PgLeadership[] = [];

  beforeAll(async () => {
    ({ db, url, drop } = await pgDatabase());
  }, 60000);
  afterAll(async () => {
    await drop();
  });
  afterEach(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    replicas = [];
  });

  async function startReplicas(...ids: string[]): Promise<PgLeadership[]> {
    const rs = ids.map((id) => fastLeadership(url, id));
    replicas.push(...rs);
    await Promise.all(rs.map((r) => r.start()));
    return rs;
  }
  const leaders = () => replicas.filter((r) => r.isLeader());
  const oneLeader = (timeoutMs = 5000) =>
    waitFor(
      () => leaders().length === 1 && leaders()[0],
      timeoutMs,
      () => `leaders: ${leaders().map((l) => l.id)}`,
    );
  const terminate = (id: string) => db.knex.raw(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ?`, [`berth:${id}`]);

  it('elects exactly one of three replicas; the others keep trying as standbys', async () => {
    const rs = await startReplicas('a', 'b', 'c');
    const leader = await oneLeader();
    expect(leader.epoch()).toBeGreaterThan(0);
    expect(rs.filter((r) => r !== leader).map((r) => [r.role(), r.epoch()])).toEqual([
      ['standby', null],
      ['standby', null],
    ]);
    // Standbys write a heartbeat after every failed attempt: both have tried while the leader held the lock.
    const members = await waitFor(async () => {
      const rows = await db.knex('cluster_member').select('id', 'role', 'epoch').orderBy('id');
      return rows.length === 3 && rows.filter((m) => m.role === 'standby').length === 2 && rows;
    });
    expect(members.find((m: { role: string }) => m.role === 'leader')).toEqual({ id: leader.id, role: 'leader', epoch: leader.epoch() });
    expect(leaders()).toEqual([leader]);
    const recorded = await db.knex('cluster_leader').first('epoch', 'holder_id');
    expect(recorded).toEqual({ epoch: leader.epoch(), holder_id: leader.id });
  });

  it('hands over within 2 s with a higher epoch when the leader stops', async () => {
    await startReplicas('a', 'b', 'c');
    const old = await oneLeader();
    const oldEpoch = old.epoch()!;
    const standbys = replicas.filter((r) => r !== old);
    const elected = firstEvent(standbys, 'elected', 2000);
    const lost = nextEvent(old, 'lost', 1000);
    const t0 = Date.now();
    await old.stop();
    expect(await lost).toEqual(['stopped']);
    const {
      l: s,
      args: [epoch],
    } = await elected;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(epoch).toBeGreaterThan(oldEpoch);
    expect(s.epoch()).toBe(epoch);
    expect(leaders()).toEqual([s]);
  });

  it('loses leadership at once when the server kills its connection; a standby takes over', async () => {
    await startReplicas('a', 'b', 'c');
    const old = await oneLeader();
    const oldEpoch = old.epoch()!;
    const lost = nextEvent(old, 'lost', 1000);
    await terminate(old.id);
    expect(await lost).toEqual(['connection']);
    expect(old.isLeader()).toBe(false);
    expect(old.epoch()).toBeNull();
    const next = await oneLeader(3000);
    expect(next).not.toBe(old);
    expect(next.epoch()).toBeGreaterThan(oldEpoch);
    // The deposed replica reconnects and competes again, as a standby.
    await waitFor(async () => (await db.knex('cluster_member').where({ id: old.id, role: 'standby' }).first()) !== undefined, 5000);
    expect(leaders()).toEqual([next]);
  });

  it('fences writes: a transaction in the old epoch fails once a newer epoch exists', async () => {
    await startReplicas('a', 'b');
    const old = await oneLeader();
    const oldEpoch = old.epoch()!;
    await db.knex.transaction((trx) => old.assertLeader(trx, oldEpoch));

    const lost = nextEvent(old, 'lost', 2000);
    await terminate(old.id);
    await lost;
    const next = await waitFor(() => leaders().length === 1 && leaders()[0].epoch()! > oldEpoch && leaders()[0], 3000);
    // The deposed replica knows locally…
    await expect(db.knex.transaction((trx) => old.assertLeader(trx, oldEpoch))).rejects.toMatchObject({ code: 'NOT_LEADER' });
    // …and the database refuses the old epoch even for a writer that does not know yet.
    await expect(db.knex.transaction((trx) => assertEpoch(trx, oldEpoch))).rejects.toMatchObject({
      code: 'NOT_LEADER',
      details: { epoch: oldEpoch, currentEpoch: next.epoch() },
    });
    await expect(db.knex.transaction((trx) => next.assertLeader(trx))).resolves.toBe(next.epoch());
  });

  it('makes the next election wait for a write fenced in the old epoch, then refuses that epoch', async () => {
    await startReplicas('a', 'b');
    const old = await oneLeader();
    const oldEpoch = old.epoch()!;
    const standby = replicas.find((r) => r !== old)!;

    // A slow write that passed the fence before the leader's connection died.
    const trx = await db.knex.transaction();
    await assertEpoch(trx, oldEpoch);
    await trx('cluster_member').where({ id: 'nobody' }).update({ url: 'x' });
    await terminate(old.id);

    // The standby holds the lock now but its epoch bump waits on our row lock.
    await waitFor(async () => {
      const r = await db.knex.raw(`select 1 from pg_stat_activity where application_name = ? and wait_event_type = 'Lock'`, [`berth:${standby.id}`]);
      return r.rows.length === 1;
    }, 5000);
    expect(standby.isLeader()).toBe(false);
    expect((await db.knex('cluster_leader').first('epoch')).epoch).toBe(oldEpoch);

    const elected = nextEvent(standby, 'elected', 3000);
    await trx.commit();
    const [epoch] = await elected;
    expect(epoch).toBe(oldEpoch + 1);
    await expect(db.knex.transaction((t) => assertEpoch(t, oldEpoch))).rejects.toMatchObject({ code: 'NOT_LEADER' });
  });

  it('refuses assertLeader outside a transaction (the lock would fence nothing)', async () => {
    await expect(assertEpoch(db.knex as never, 1)).rejects.toThrow(/needs a transaction/);
  });
});
