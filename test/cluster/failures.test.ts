import net from 'node:net';
import pg from 'pg';
import { Registry } from 'prom-client';
import type { Database } from '../../src/db/knex';
import { createClusterMetrics } from '../../src/cluster/metrics';
import type { PgLeadership } from '../../src/cluster/pg-leadership';
import type { LossReason } from '../../src/cluster/types';
import { waitFor } from '../support/wait';
import { fastLeadership, firstEvent, freezableProxy, nextEvent, pgDatabase } from './helpers';

describe('Leadership through database failures', () => {
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

  const leaders = () => replicas.filter((r) => r.isLeader());

  it('recovers after every connection is terminated (a restart), never two leaders in one epoch', async () => {
    const elections: Array<{ id: string; epoch: number; othersLeading: Array<number | null> }> = [];
    const losses: Array<{ id: string; reason: LossReason }> = [];
    for (const id of ['a', 'b', 'c']) {
      const r = fastLeadership(url, id, { rejoinDelayMs: 200 });
      r.on('elected', (epoch) => elections.push({ id, epoch, othersLeading: replicas.filter((o) => o !== r && o.isLeader()).map((o) => o.epoch()) }));
      r.on('lost', (reason) => losses.push({ id, reason }));
      replicas.push(r);
    }
    await Promise.all(replicas.map((r) => r.start()));
    const first = await waitFor(() => leaders().length === 1 && leaders()[0], 5000);
    const firstEpoch = first.epoch()!;

    for (let round = 0; round < 3; round++) {
      const before = Math.max(...elections.map((e) => e.epoch));
      const lost = nextEvent(leaders()[0], 'lost', 2000);
      // What a PostgreSQL restart does to clients: every backend of this database goes away.
      await db.knex.raw('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
      expect(await lost).toEqual(['connection']);
      await waitFor(
        () => leaders().length === 1 && (leaders()[0].epoch() ?? 0) > before,
        5000,
        () => JSON.stringify(elections),
      );
    }

    const epochs = elections.map((e) => e.epoch);
    expect(new Set(epochs).size).toBe(epochs.length);
    expect([...epochs].sort((x, y) => x - y)).toEqual(epochs);
    expect(epochs.at(-1)).toBeGreaterThanOrEqual(firstEpoch + 3);
    // Whoever else still thought it led at an election held an older epoch, never the same one.
    for (const e of elections) for (const other of e.othersLeading) expect(other).toBeLessThan(e.epoch);
    // Every loss was noticed as a lost connection (a replica elected just before its own backend
    // was terminated may lose once more within a round: legitimate, and fenced by its epoch).
    expect(losses.length).toBeGreaterThanOrEqual(3);
    expect(new Set(losses.map((l) => l.reason))).toEqual(new Set(['connection']));
    // The history has one holder per epoch (primary key) and agrees with what the replicas saw.
    // (Retried: the test's own pooled connections were terminated too.)
    const history = await waitFor(async () => {
      const rows: Array<{ epoch: number; holder_id: string }> = await db
        .knex('cluster_election')
        .where('epoch', '>=', firstEpoch)
        .orderBy('epoch')
        .select('epoch', 'holder_id');
      return rows;
    }, 5000);
    expect(history.map((h) => [h.epoch, h.holder_id])).toEqual(elections.map((e) => [e.epoch, e.id]));
  }, 30000);

  it('gives up leadership when its probe hangs (network partition); the server frees the lock for a standby', async () => {
    const proxy = await freezableProxy(url);
    try {
      const metricsRegistry = new Registry();
      const metrics = createClusterMetrics(metricsRegistry);
      const cut = fastLeadership(proxy.url, 'partitioned', { queryTimeoutMs: 300, idleSessionTimeoutMs: 1000, metrics });
      replicas.push(cut);
      await cut.start();
      expect(cut.isLeader()).toBe(true);
      const standby = fastLeadership(url, 'standby');
      replicas.push(standby);
      await standby.start();
      expect(standby.isLeader()).toBe(false);

      const lost = nextEvent(cut, 'lost', 2000);
      const elected = nextEvent(standby, 'elected', 5000);
      proxy.freeze();
      expect(await lost).toEqual(['probe']);
      // The server still holds the partitioned session (and the lock) until idle_session_timeout ends it.
      const [epoch] = await elected;
      expect(epoch).toBeGreaterThan(0);
      expect(leaders()).toEqual([standby]);
      expect(await metricsRegistry.getSingleMetricAsString('berth_cluster_leadership_losses_total')).toMatch(/reason="probe"\} 1/);
      expect((await metricsRegistry.getSingleMetric('berth_cluster_is_leader')!.get()).values[0].value).toBe(0);
    } finally {
      await proxy.close();
    }
  }, 20000);

  it('waits out a database outage and recovers leadership with a higher epoch', async () => {
    const proxy = await freezableProxy(url);
    try {
      const rs = ['a', 'b'].map((id) => fastLeadership(proxy.url, id, { rejoinDelayMs: 200, maxRetryMs: 400 }));
      replicas.push(...rs);
      await Promise.all(rs.map((r) => r.start()));
      const first = await waitFor(() => leaders().length === 1 && leaders()[0], 5000);
      const firstEpoch = first.epoch()!;
      const lost = nextEvent(first, 'lost', 2000);
      proxy.down();
      expect(await lost).toEqual(['connection']);
      // While the database is away nobody can lead; the replicas keep retrying with backoff.
      await waitFor(async () => (await db.knex('cluster_leader').first('epoch')).epoch === firstEpoch && leaders().length === 0, 2000);
      const elected = firstEvent(rs, 'elected', 10000);
      proxy.up();
      const [epoch] = (await elected).args;
      expect(epoch).toBeGreaterThan(firstEpoch);
      expect(leaders()).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  }, 20000);

  it('does not mistake a blocked event loop for a dead connection while a probe is in flight', async () => {
    const leader = fastLeadership(url, 'busy', { queryTimeoutMs: 300 });
    replicas.push(leader);
    await leader.start();
    expect(leader.isLeader()).toBe(true);
    const losses: LossReason[] = [];
    leader.on('lost', (r) => losses.push(r));

    // Block the event loop right after the next probe is sent (a long synchronous task, e.g. a big
    // snapshot): its answer arrives meanwhile but is read only after the probe's deadline passed.
    const original = pg.Client.prototype.query;
    let blocked = false;
    const spy = jest.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
      const result = (original as (...a: unknown[]) => unknown).apply(this, args);
      const text = (args[0] as { text?: string })?.text ?? '';
      if (!blocked && text.includes('cluster_member')) {
        blocked = true;
        // Some other callback hogs the loop after the probe went out (its answer arrives meanwhile).
        setImmediate(() => {
          const until = Date.now() + 800;
          while (Date.now() < until); // deliberate busy block, not a wait
        });
      }
      return result;
    } as never);
    try {
      await waitFor(() => blocked, 5000);
      const before = (await db.knex('cluster_member').where({ id: 'busy' }).first('heartbeat_at')).heartbeat_at as Date;
      // Later probes keep succeeding: heartbeats advance and the replica still leads.
      await waitFor(async () => ((await db.knex('cluster_member').where({ id: 'busy' }).first('heartbeat_at')).heartbeat_at as Date) > before, 5000);
      expect(losses).toEqual([]);
      expect(leader.isLeader()).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  it('refuses an idle session timeout shorter than its own quiet time between queries', () => {
    expect(() => fastLeadership(url, 'x', { probeIntervalMs: 1000, idleSessionTimeoutMs: 1500 })).toThrow(/idleSessionTimeoutMs/);
  });

  it('starts as a standby while the database is unreachable, without throwing', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise((r) => srv.close(r));
    const metricsRegistry = new Registry();
    const r = fastLeadership(`postgres://postgres@127.0.0.1:${port}/nothing`, 'lonely', { metrics: createClusterMetrics(metricsRegistry) });
    replicas.push(r);
    await r.start();
    expect(r.role()).toBe('standby');
    // It keeps trying (with backoff) rather than giving up.
    await waitFor(async () => (await metricsRegistry.getSingleMetric('berth_cluster_connection_errors_total')!.get()).values[0].value >= 2, 5000);
    await r.stop();
  });
});
