/**
 * Readiness says which role a replica has and whether its view of the registry is fresh: a
 * standby follows the journal and measures how far behind the database head it is (positions and
 * seconds); when catch-up keeps failing past the bound it reports not fresh, in `/readyz`,
 * `/v1/cluster` and the metrics, and fresh again once it has caught up.
 */
import { Registry as PromRegistry } from 'prom-client';
import { clusterReadiness, createClusterMetrics, type Leadership } from '../../src/cluster';
import { buildApp } from '../../src/http/app';
import { registerClusterRoutes } from '../../src/http/routes/cluster';
import { silentLogger } from '../../src/log';
import { followJournal, journalHead, type JournalFollower } from '../../src/runtime/follower';
import { anApp, aTask, withDomain, withTasks } from '../support/builders';
import { openTestDb, type TestDb } from '../support/db';
import { waitFor } from '../support/wait';
import { ManualClock, openRegistry } from '../registry/helpers';

const app = (id: string) => anApp({ id }, withDomain(`${id.slice(1)}.berth.internal`), withTasks(aTask({ id: `${id.slice(1)}.1` })));

// A replica's leadership as readiness sees it; the role is switched by the test.
function fakeLeadership(role: () => 'leader' | 'standby'): Leadership {
  const startedAt = new Date();
  return {
    id: 'replica-2',
    startedAt,
    role,
    isLeader: () => role() === 'leader',
    epoch: () => (role() === 'leader' ? 7 : null),
    leaderSince: () => (role() === 'leader' ? startedAt : null),
    apiUrl: () => null,
  } as unknown as Leadership;
}

describe('journal lag and freshness', () => {
  let db: TestDb;
  let follower: JournalFollower | undefined;
  beforeAll(async () => {
    db = await openTestDb('pglite');
  }, 60000);
  afterAll(async () => {
    await follower?.stop();
    await db.drop();
  });

  test('a standby reports positions and seconds behind; stale beyond the bound → not fresh, not ready; fresh again after catching up', async () => {
    const { registry: writer } = await openRegistry(db.knex);
    const { registry: standby } = await openRegistry(db.knex);
    let broken = false;
    let role: 'leader' | 'standby' = 'standby';
    const clock = new ManualClock();
    // Catch-up that fails while `broken` (as when loading from the database fails).
    const view = { refresh: () => (broken ? Promise.reject(new Error('load failed')) : standby.refresh()), position: () => standby.position() };
    follower = followJournal(view, silentLogger, () => role === 'standby', { head: () => journalHead(db.knex), intervalMs: 1000, maxLagSeconds: 5, clock });
    const f = follower;
    const nextTick = async (ms = 1000) => {
      await waitFor(() => clock.pending() === 1, 5000); // the previous check finished and re-armed
      clock.advance(ms);
      await waitFor(() => clock.pending() === 1, 5000);
    };
    const prom = new PromRegistry();
    createClusterMetrics(prom).observeJournal(() => f.lag());
    const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await prom.getSingleMetricAsString(name))![1]);
    const leadership = fakeLeadership(() => role);
    const http = await buildApp({
      logger: silentLogger,
      metricsRegistry: prom,
      apiTokens: [],
      readiness: [clusterReadiness(leadership, () => f.lag())],
      register: (a) => registerClusterRoutes(a, { leadership, knex: db.knex, journal: () => f.lag() }),
    });
    try {
      await waitFor(() => f.lag().head !== null, 5000);
      expect(f.lag()).toMatchObject({ behind: 0, fresh: true });

      // The leader writes; the next check catches up.
      await writer.applySnapshot([app('/web')]);
      await nextTick();
      expect(f.lag()).toMatchObject({ position: await writer.position(), head: await writer.position(), behind: 0, ageSeconds: 0, fresh: true });
      let ready = await http.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json().checks.cluster).toMatchObject({ ok: true, detail: { role: 'standby', fresh: true, journal: { behind: 0 } } });

      // Catch-up fails while the leader writes on: behind by what it missed, and getting older.
      broken = true;
      await writer.applyApp('/api', app('/api'));
      await writer.applyApp('/db', app('/db'));
      const missed = (await writer.position()) - (await standby.position());
      expect(missed).toBeGreaterThan(0);
      await nextTick();
      expect(f.lag()).toMatchObject({ behind: missed, ageSeconds: 1, fresh: true });
      await nextTick(5000);
      expect(f.lag()).toMatchObject({ behind: missed, ageSeconds: 6, maxLagSeconds: 5, fresh: false });
      ready = await http.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().checks.cluster).toMatchObject({
        ok: false,
        detail: { replica: 'replica-2', role: 'standby', epoch: null, fresh: false, journal: { behind: missed } },
      });
      const cluster = (await http.inject({ method: 'GET', url: '/v1/cluster' })).json();
      expect(cluster.self).toMatchObject({ role: 'standby', fresh: false, journal: { behind: missed, ageSeconds: 6, fresh: false } });
      expect(await metric('berth_cluster_journal_lag_positions')).toBe(missed);
      expect(await metric('berth_cluster_journal_lag_seconds')).toBe(6);
      expect(await metric('berth_cluster_view_fresh')).toBe(0);

      // Catch-up works again: current, fresh, ready.
      broken = false;
      await nextTick();
      expect(f.lag()).toMatchObject({ position: await writer.position(), behind: 0, ageSeconds: 0, fresh: true });
      expect(
        standby
          .listServices()
          .map((s) => s.appId)
          .sort(),
      ).toEqual(['/api', '/db', '/web']);
      expect((await http.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      expect(await metric('berth_cluster_journal_lag_positions')).toBe(0);
      expect(await metric('berth_cluster_view_fresh')).toBe(1);

      // Leading: its own writes are the head, so its view is current by definition.
      role = 'leader';
      broken = true;
      await nextTick(10000);
      expect(f.lag()).toMatchObject({ behind: 0, ageSeconds: 0, fresh: true });
      ready = await http.inject({ method: 'GET', url: '/readyz' });
      expect(ready.json().checks.cluster).toMatchObject({ ok: true, detail: { role: 'leader', epoch: 7, fresh: true } });
    } finally {
      await http.close();
    }
  });
});
