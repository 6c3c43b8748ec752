import { Registry } from 'prom-client';
import { createLeadership } from '../../src/cluster';
import { assertEpoch } from '../../src/cluster/fence';
import { createClusterMetrics } from '../../src/cluster/metrics';
import { silentLogger } from '../../src/log';
import { openTestDb, type TestDb } from '../support/db';

describe('Leadership on the embedded database (PGlite)', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await openTestDb('pglite');
  }, 60000);
  afterAll(async () => {
    await db.drop();
  });

  it('is the leader as soon as it starts, with an epoch from cluster_leader, and fences the same way', async () => {
    const registry = new Registry();
    const first = createLeadership({ engine: 'pglite', knex: db.knex, id: 'solo', logger: silentLogger, metrics: createClusterMetrics(registry) });
    const elected: number[] = [];
    first.on('elected', (e) => elected.push(e));
    await first.start();
    expect(first.isLeader()).toBe(true);
    expect(first.role()).toBe('leader');
    const epoch = first.epoch()!;
    expect(elected).toEqual([epoch]);
    expect(await db.knex('cluster_leader').first('epoch', 'holder_id')).toEqual({ epoch, holder_id: 'solo' });
    await expect(db.knex.transaction((trx) => first.assertLeader(trx))).resolves.toBe(epoch);
    expect(await registry.getSingleMetricAsString('berth_cluster_is_leader')).toMatch(/berth_cluster_is_leader 1/);
    expect(await registry.getSingleMetricAsString('berth_cluster_epoch')).toMatch(new RegExp(`berth_cluster_epoch ${epoch}`));
    expect(await registry.getSingleMetricAsString('berth_cluster_elections_total')).toMatch(/berth_cluster_elections_total 1/);

    const lost: string[] = [];
    first.on('lost', (r) => lost.push(r));
    await first.stop();
    expect(lost).toEqual(['stopped']);
    expect(await registry.getSingleMetricAsString('berth_cluster_leadership_losses_total')).toMatch(/reason="stopped"\} 1/);
    expect(await registry.getSingleMetricAsString('berth_cluster_is_leader')).toMatch(/berth_cluster_is_leader 0/);
    await expect(db.knex.transaction((trx) => first.assertLeader(trx, epoch))).rejects.toMatchObject({ code: 'NOT_LEADER' });

    // A restart (same database) leads in a higher epoch; the previous epoch is fenced in SQL too.
    const second = createLeadership({ engine: 'pglite', knex: db.knex, id: 'solo-2', logger: silentLogger });
    await second.start();
    expect(second.epoch()).toBe(epoch + 1);
    await expect(db.knex.transaction((trx) => assertEpoch(trx, epoch))).rejects.toMatchObject({ code: 'NOT_LEADER' });
    await second.stop();
  });
});
