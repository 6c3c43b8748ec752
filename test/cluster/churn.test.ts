import { openDatabase, type Database } from '../../src/db/knex';
import { assertEpoch } from '../../src/cluster/fence';
import type { PgLeadership } from '../../src/cluster/pg-leadership';
import { isBerthError } from '../../src/errors';
import { waitFor } from '../support/wait';
import { fastLeadership, pgDatabase } from './helpers';

/**
 * Split-brain check under churn: every replica keeps writing with the last epoch it led in, using
 * only the SQL fence (as a deposed leader that has not noticed yet would). Whatever happens to the
 * leaders, the journal must show one writer per epoch (the elected one) and epochs in commit order.
 */
describe('Fencing under leadership churn', () => {
  let db: Database;
  let url: string;
  let drop: () => Promise<void>;
  const replicas: Array<{ l: PgLeadership; db: Database; writing: Promise<void> }> = [];
  let done = false;

  beforeAll(async () => {
    ({ db, url, drop } = await pgDatabase());
    await db.knex.raw('create table churn_write (id bigserial primary key, epoch bigint not null, writer text not null)');
  }, 60000);
  afterAll(async () => {
    done = true;
    for (const r of replicas) {
      await r.writing;
      await r.l.stop();
      await r.db.close();
    }
    await drop();
  });

  async function writer(l: PgLeadership, rdb: Database): Promise<void> {
    let epoch: number | null = null;
    while (!done) {
      epoch = l.epoch() ?? epoch;
      try {
        if (epoch !== null) {
          const e = epoch;
          await rdb.knex.transaction(async (trx) => {
            await assertEpoch(trx, e);
            // A transaction that takes a while after passing the fence (workload, not a wait).
            await trx.raw('select pg_sleep(?)', [Math.random() * 0.04]);
            await trx('churn_write').insert({ epoch: e, writer: l.id });
          });
        }
      } catch (err) {
        // Fenced: forget the epoch until leading again. Connection errors: just retry.
        if (isBerthError(err) && err.code === 'NOT_LEADER' && l.epoch() !== epoch) epoch = null;
      }
      await new Promise((r) => setImmediate(r));
    }
  }

  async function addReplica(id: string): Promise<void> {
    const l = fastLeadership(url, id, { rejoinDelayMs: 300 });
    const rdb = await openDatabase({ url, dataDir: 'unused', poolMax: 3 });
    await l.start();
    replicas.push({ l, db: rdb, writing: writer(l, rdb) });
  }

  const leader = () => replicas.find((r) => r.l.isLeader())?.l;
  const terminate = (where: string, args: unknown[] = []) =>
    db.knex.raw(
      `select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and ${where}`,
      args as never,
    );

  it('keeps one writer per epoch and epochs in commit order through stops, kills and restarts', async () => {
    for (const id of ['r1', 'r2', 'r3']) await addReplica(id);
    let n = 3;
    const faults = Array.from({ length: 4 }, () => ['kill-leader', 'restart', 'stop-leader']).flat();
    for (const fault of faults) {
      const current = await waitFor(() => leader(), 10000);
      const epoch = current.epoch()!;
      // Let the leader write a little in its epoch first.
      await waitFor(async () => Number((await db.knex('churn_write').where({ epoch }).count('* as c'))[0].c) >= 3, 10000);
      if (fault === 'kill-leader') await terminate('application_name = ?', [`berth:${current.id}`]);
      else if (fault === 'restart') await terminate('true');
      else {
        await current.stop();
        await addReplica(`r${++n}`);
      }
      await waitFor(
        () => (leader()?.epoch() ?? 0) > epoch,
        10000,
        () => `after ${fault} from epoch ${epoch}`,
      );
    }
    done = true;
    await Promise.all(replicas.map((r) => r.writing));

    const rows: Array<{ epoch: number; writer: string }> = await db.knex('churn_write').orderBy('id').select('epoch', 'writer');
    const elections: Array<{ epoch: number; holder_id: string }> = await db.knex('cluster_election').select('epoch', 'holder_id');
    const holder = new Map(elections.map((e) => [Number(e.epoch), e.holder_id]));
    expect(rows.length).toBeGreaterThan(faults.length * 3);
    for (const r of rows) expect(r.writer).toBe(holder.get(Number(r.epoch)));
    // Inserts happen while the fence holds the old epoch, the bump waits for them: ids follow epochs.
    const epochs = rows.map((r) => Number(r.epoch));
    expect(epochs).toEqual([...epochs].sort((a, b) => a - b));
    expect(new Set(epochs).size).toBeGreaterThanOrEqual(faults.length);
  }, 120000);
});
