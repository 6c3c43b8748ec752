/**
 * Issue 16: the IPAM audit trail has a retention (age and row count) that the leader enforces,
 * oldest first and in small batches; the trail stays append-only for everything else.
 */
import { Registry } from 'prom-client';
import { BaseLeadership } from '../../src/cluster/base';
import { pruneAudit, startAuditRetention } from '../../src/ipam/retention';
import { silentLogger } from '../../src/log';
import { describeEachEngine, type Knex } from '../support/db';
import { waitFor } from '../support/wait';
import { serviceFor } from './helpers';

/** Leadership driven by hand. */
class HandLeadership extends BaseLeadership {
  async start(): Promise<void> {}
  async stop(): Promise<void> {
    this.loseLeadership('stopped');
  }
  elect(epoch: number): void {
    this.becomeLeader(epoch, new Date());
  }
  lose(): void {
    this.loseLeadership('connection');
  }
}

/** Appends `n` audit rows dated `daysAgo` days back; returns their ids. */
async function addEvents(knex: Knex, n: number, daysAgo: number, tag: string): Promise<number[]> {
  const { rows } = await knex.raw(
    `INSERT INTO ipam_event (pool_id, pool_name, action, actor, at)
     SELECT 0, ?, 'allocate', 'test', now() - make_interval(days => ?) FROM generate_series(1, ?) RETURNING id`,
    [tag, daysAgo, n],
  );
  return rows.map((r: { id: string | number }) => Number(r.id));
}

const ids = async (knex: Knex, tag: string): Promise<number[]> =>
  (await knex.raw('SELECT id FROM ipam_event WHERE pool_name = ? ORDER BY id', [tag])).rows.map((r: { id: string | number }) => Number(r.id));
const total = async (knex: Knex): Promise<number> => Number((await knex.raw('SELECT count(*) AS n FROM ipam_event')).rows[0].n);

/** Empties the trail between tests, the one way it can be. */
async function clear(knex: Knex): Promise<void> {
  await knex.transaction(async (trx) => {
    await trx.raw("SELECT set_config('berth.ipam_event_prune', 'on', true)");
    await trx.raw('DELETE FROM ipam_event');
  });
}

describeEachEngine('IPAM audit retention', (get) => {
  beforeEach(() => clear(get().knex));

  it('prunes rows older than the retention, in batches, and keeps recent ones', async () => {
    const { knex } = get();
    await addEvents(knex, 23, 120, 'old');
    await addEvents(knex, 5, 91, 'old');
    const recent = await addEvents(knex, 9, 89, 'recent');
    expect(await pruneAudit(knex, { days: 90, maxRows: 0 }, { batch: 7 })).toEqual({ byAge: 28, byCount: 0 });
    expect(await ids(knex, 'old')).toEqual([]);
    expect(await ids(knex, 'recent')).toEqual(recent);
    // Nothing left to do: a second pass removes nothing.
    expect(await pruneAudit(knex, { days: 90, maxRows: 0 }, { batch: 7 })).toEqual({ byAge: 0, byCount: 0 });
  });

  it('prunes excess rows by count, oldest first', async () => {
    const { knex } = get();
    const all = await addEvents(knex, 50, 1, 'many');
    expect(await pruneAudit(knex, { days: 0, maxRows: 20 }, { batch: 8 })).toEqual({ byAge: 0, byCount: 30 });
    expect(await ids(knex, 'many')).toEqual(all.slice(30));
    expect(await pruneAudit(knex, { days: 0, maxRows: 20 }, { batch: 8 })).toEqual({ byAge: 0, byCount: 0 });
  });

  it('applies both limits in one pass and stops after maxBatches (the next pass goes on)', async () => {
    const { knex } = get();
    await addEvents(knex, 10, 200, 'old');
    const fresh = await addEvents(knex, 30, 0, 'fresh');
    // One batch each: 5 old rows by age, then the count removes the oldest 5 of what is left (old too).
    expect(await pruneAudit(knex, { days: 90, maxRows: 25 }, { batch: 5, maxBatches: 1 })).toEqual({ byAge: 5, byCount: 5 });
    expect(await ids(knex, 'old')).toEqual([]);
    // The next pass takes the 30 fresh rows down to 25, oldest first.
    expect(await pruneAudit(knex, { days: 90, maxRows: 25 }, { batch: 5 })).toEqual({ byAge: 0, byCount: 5 });
    expect(await ids(knex, 'fresh')).toEqual(fresh.slice(5));
  });

  it('stays append-only for everything but the pruning transaction', async () => {
    const { knex } = get();
    await addEvents(knex, 3, 0, 'keep');
    await expect(knex.raw('DELETE FROM ipam_event')).rejects.toThrow(/append-only \(DELETE refused\)/);
    await expect(knex.raw("UPDATE ipam_event SET actor = 'x'")).rejects.toThrow(/append-only \(UPDATE refused\)/);
    await expect(knex.raw('TRUNCATE ipam_event')).rejects.toThrow(/append-only \(TRUNCATE refused\)/);
    // The permission is transaction-local: it does not outlive the pruning transaction.
    await pruneAudit(knex, { days: 1, maxRows: 0 });
    await expect(knex.raw('DELETE FROM ipam_event')).rejects.toThrow(/append-only/);
    expect(await total(knex)).toBe(3);
  });

  it('runs on the leader only: a standby keeps every row, the elected leader prunes, reports a metric, allocations go on, and a deposed leader stops', async () => {
    const { knex } = get();
    const ipam = serviceFor(get());
    await ipam.createPool({ name: 'ret', cidr: '10.77.0.0/24', quarantineSeconds: 0 });
    const old = await addEvents(knex, 40, 365, 'ancient');
    const leadership = new HandLeadership({ id: 'r1', logger: silentLogger });
    const metricsRegistry = new Registry();
    const stop = startAuditRetention({
      knex,
      leadership,
      logger: silentLogger,
      metricsRegistry,
      retention: { days: 30, maxRows: 1000 },
      intervalMs: 50,
      prune: { batch: 16 },
    });
    try {
      // Standby: absence can only be observed over time; six intervals pass and nothing is pruned.
      await new Promise((r) => setTimeout(r, 300));
      expect(await ids(knex, 'ancient')).toEqual(old);

      leadership.elect(1);
      await waitFor(async () => (await ids(knex, 'ancient')).length === 0, 10_000);
      const metric = await metricsRegistry.getSingleMetricAsString('berth_ipam_audit_pruned_rows_total');
      expect(metric).toMatch(/berth_ipam_audit_pruned_rows_total\{reason="age"\} 40/);
      // Allocations (and their audit rows) keep working alongside.
      for (let i = 0; i < 5; i++) await ipam.allocate('ret', `/ret/app-${i}`);
      expect((await ipam.events('ret')).filter((e) => e.action === 'allocate')).toHaveLength(5);

      // Deposed: pruning stops with the leadership.
      leadership.lose();
      const later = await addEvents(knex, 10, 365, 'after-loss');
      await new Promise((r) => setTimeout(r, 300));
      expect(await ids(knex, 'after-loss')).toEqual(later);
    } finally {
      await stop();
    }
  });
});
