import { describeEachEngine } from '../support/db';
import { PROBLEM_CODES as C } from '../../src/model/problems';
import type { App } from '../../src/marathon/types';
import { aHealthChange, anApp, aStatus, aTask, healthy, withDomain, withHealthChecks, withTasks, withVersion, V2 } from '../support/builders';
import { applyEvent, openRegistry, resetRegistryTables } from './helpers';

const web = (...tasks: ReturnType<typeof aTask>[]): App => anApp({ id: '/web' }, withDomain('web.berth.internal'), withTasks(...tasks));
const api = (...tasks: ReturnType<typeof aTask>[]): App => anApp({ id: '/api' }, withDomain('api.berth.internal'), withTasks(...tasks));
const fleet = (n: number): App[] =>
  Array.from({ length: n }, (_, i) =>
    anApp({ id: `/s${i}` }, withDomain(`s${i}.berth.internal`), withTasks(aTask({ id: `s${i}.1`, host: `10.0.1.${i + 1}` }))),
  );

describeEachEngine('registry', (db) => {
  beforeEach(async () => resetRegistryTables(db().knex));

  describe('snapshots converge', () => {
    test('a fresh registry is not loaded until the first snapshot; then it serves the catalog', async () => {
      const { registry } = await openRegistry(db().knex);
      expect(registry.current()).toMatchObject({ loaded: false, position: 0, services: [] });
      const out = await registry.applySnapshot([web(aTask({ id: 'web.1', host: '10.0.0.1', ports: [31000] })), anApp({ id: '/not-ours' })]);
      expect(out).toMatchObject({ result: 'applied', upserts: 1, removals: 0 });
      const snap = await registry.snapshot();
      expect(snap.loaded).toBe(true);
      expect(snap.position).toBeGreaterThan(0);
      expect(snap.services).toEqual([
        expect.objectContaining({
          appId: '/web',
          env: 'default',
          domains: ['web.berth.internal'],
          endpoints: [{ taskId: 'web.1', address: '10.0.0.1', port: 31000, host: '10.0.0.1' }],
        }),
      ]);
      expect(registry.findService('default', 'WEB.berth.internal.')).toMatchObject({ appId: '/web' });
    });

    test('an empty Marathon on an empty registry is applied (nothing to lose) and marks it loaded', async () => {
      const { registry } = await openRegistry(db().knex);
      expect(await registry.applySnapshot([])).toMatchObject({ result: 'applied' });
      expect(registry.current().loaded).toBe(true);
    });

    test('the same snapshot twice writes nothing the second time', async () => {
      const { registry } = await openRegistry(db().knex);
      const apps = [web(aTask({ id: 'web.1' })), api(aTask({ id: 'api.1' }))];
      await registry.applySnapshot(apps);
      const pos = await registry.position();
      const rows = await db().knex('registry_journal').count({ n: '*' });
      expect(await registry.applySnapshot(apps)).toMatchObject({ result: 'unchanged', upserts: 0, removals: 0, position: pos });
      expect(await db().knex('registry_journal').count({ n: '*' })).toEqual(rows);
    });

    test('one changed app writes one journal row and advances the position', async () => {
      const { registry } = await openRegistry(db().knex);
      await registry.applySnapshot([web(aTask({ id: 'web.1' })), api(aTask({ id: 'api.1' }))]);
      const pos = await registry.position();
      const seen: number[] = [];
      registry.onChange((p) => seen.push(p));
      const out = await registry.applySnapshot([web(aTask({ id: 'web.1' }), aTask({ id: 'web.2', host: '10.0.0.2' })), api(aTask({ id: 'api.1' }))]);
      expect(out).toMatchObject({ result: 'applied', upserts: 1, removals: 0 });
      const journal = await db().knex('registry_journal').where('position', '>', pos).select('op', 'app_id');
      expect(journal).toEqual([{ op: 'upsert', app_id: '/web' }]);
      expect(seen).toEqual([await registry.position()]);
      expect(registry.findService('default', 'web.berth.internal')?.endpoints.map((e) => e.taskId)).toEqual(['web.1', 'web.2']);
    });

    test('an app that disappears is removed (within the removal ratio)', async () => {
      const { registry } = await openRegistry(db().knex);
      await registry.applySnapshot(fleet(4));
      const out = await registry.applySnapshot(fleet(4).slice(0, 3));
      expect(out).toMatchObject({ result: 'applied', removals: 1 });
      expect(registry.listServices().map((s) => s.appId)).toEqual(['/s0', '/s1', '/s2']);
      expect(await db().knex('registry_services').count({ n: '*' })).toEqual([{ n: 3 }]);
      // No foreign key cascades any more: the store itself deletes a removed service's endpoints.
      expect(await db().knex('registry_endpoints').where({ app_id: '/s3' }).count({ n: '*' })).toEqual([{ n: 0 }]);
      expect(await db().knex('registry_endpoints').count({ n: '*' })).toEqual([{ n: 3 }]);
    });

    test('a label change moves a service to another environment', async () => {
      const { registry } = await openRegistry(db().knex);
      await registry.applySnapshot([web(aTask({ id: 'web.1' })), api(aTask({ id: 'api.1' }))]);
      const moved = anApp({ id: '/web' }, withDomain('web.berth.internal', { 'berth.env': 'qa' }), withTasks(aTask({ id: 'web.1' })));
      await registry.applySnapshot([moved, api(aTask({ id: 'api.1' }))]);
      expect(registry.listServices('qa').map((s) => s.appId)).toEqual(['/web']);
      expect(registry.findService('default', 'web.berth.internal')).toBeUndefined();
    });
  });

  describe('events update incrementally', () => {
    test('status events add and remove one endpoint; KILLING leaves at once', async () => {
      const { registry } = await openRegistry(db().knex);
      await registry.applySnapshot([web(aTask({ id: 'web.1', host: '10.0.0.1' }))]);
      await applyEvent(registry, aStatus('/web', 'web.2', 'TASK_STAGING', { host: '10.0.0.2', ports: [31002] }));
      expect(registry.findService('default', 'web.berth.internal')?.endpoints).toHaveLength(1);
      await applyEvent(registry, aStatus('/web', 'web.2', 'TASK_RUNNING', { host: '10.0.0.2', ports: [31002] }));
      expect(registry.findService('default', 'web.berth.internal')?.endpoints.map((e) => `${e.address}:${e.port}`)).toEqual([
        '10.0.0.1:31000',
        '10.0.0.2:31002',
      ]);
      await applyEvent(registry, aStatus('/web', 'web.1', 'TASK_KILLING'));
      expect(registry.findService('default', 'web.berth.internal')?.endpoints.map((e) => e.taskId)).toEqual(['web.2']);
      const stored = await db().knex('registry_endpoints').select('task_id');
      expect(stored).toEqual([{ task_id: 'web.2' }]);
    });

    test('events for unknown apps and newer versions ask for a refetch', async () => {
      const { registry } = await openRegistry(db().knex);
      await registry.applySnapshot([web(aTask({ id: 'web.1' }))]);
      expect(await applyEvent(registry, aStatus('/new', 'new.1', 'TASK_RUNNING'))).toEqual({ refetch: ['/new'] });
      expect(await applyEvent(registry, aStatus('/web', 'web.3', 'TASK_STAGING', { version: V2 }))).toEqual({ refetch: ['/web'] });
    });

    test('events that arrive together are written in one transaction', async () => {
      const { registry } = await openRegistry(db().knex);
      await registry.applySnapshot([web()]);
      const before = await registry.position();
      const outs = await Promise.all([1, 2, 3, 4].map((i) => applyEvent(registry, aStatus('/web', `web.${i}`, 'TASK_RUNNING', { host: `10.0.0.${i}` }))));
      expect(outs).toHaveLength(4);
      expect(registry.findService('default', 'web.berth.internal')?.endpoints).toHaveLength(4);
      // At most two writes: the first event may go alone, the other three are batched.
      expect((await registry.position()) - before).toBeLessThanOrEqual(2);
    });

    test('events in a steady stream are batched: a write starts at most once per batch interval', async () => {
      const { registry, metrics } = await openRegistry(db().knex, { eventBatchMs: 200 });
      await registry.applySnapshot([web()]);
      const writes = async () => (await metrics.writes.get()).values.find((v) => v.labels.kind === 'events')?.value ?? 0;
      await applyEvent(registry, aStatus('/web', 'web.1', 'TASK_RUNNING', { host: '10.0.0.1' })); // after a quiet spell: at once
      const t0 = performance.now();
      // Paced input (not synchronisation): 5 events 30 ms apart, each finding the writer idle —
      // without batching that is 5 more writes.
      const pending: Array<Promise<unknown>> = [];
      for (let i = 2; i <= 6; i++) {
        await new Promise((r) => setTimeout(r, 30));
        pending.push(applyEvent(registry, aStatus('/web', `web.${i}`, 'TASK_RUNNING', { host: `10.0.0.${i}` })));
      }
      await Promise.all(pending);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(150); // waited for the interval…
      expect(performance.now() - t0).toBeLessThan(2000); // …and no longer
      expect(await writes()).toBe(2);
      expect(registry.findService('default', 'web.berth.internal')?.endpoints).toHaveLength(6);
    });

    test('an event waiting for its batch is applied before a write queued after it', async () => {
      const { registry } = await openRegistry(db().knex, { eventBatchMs: 60_000 });
      await registry.applySnapshot([web(aTask({ id: 'web.1', host: '10.0.0.1' }))]);
      await applyEvent(registry, aStatus('/web', 'web.2', 'TASK_RUNNING', { host: '10.0.0.2' })); // at once
      const waiting = applyEvent(registry, aStatus('/web', 'web.3', 'TASK_RUNNING', { host: '10.0.0.3' })); // waits for the interval
      // A refetch answered after that event: Marathon's fresher word wins, whatever the batch interval.
      await registry.applyApp('/web', web(aTask({ id: 'web.1', host: '10.0.0.1' })));
      await waiting;
      expect(registry.findService('default', 'web.berth.internal')?.endpoints.map((e) => e.taskId)).toEqual(['web.1']);
    });

    test('task events rewrite endpoints only, not the service row', async () => {
      const { registry } = await openRegistry(db().knex);
      await registry.applySnapshot([web(aTask({ id: 'web.1', host: '10.0.0.1' }))]);
      const [before] = await db().knex('registry_services').select('spec', 'updated_at');
      await applyEvent(registry, aStatus('/web', 'web.2', 'TASK_RUNNING', { host: '10.0.0.2', ports: [31002] }));
      expect(await db().knex('registry_services').select('spec', 'updated_at')).toEqual([before]);
      expect((await db().knex('registry_endpoints').select('task_id').orderBy('task_id')).map((r) => r.task_id)).toEqual(['web.1', 'web.2']);
      const reopened = (await openRegistry(db().knex)).registry; // what a restart would serve
      expect(reopened.findService('default', 'web.berth.internal')?.endpoints.map((e) => e.taskId)).toEqual(['web.1', 'web.2']);
    });

    test('changesSince names the apps changed after a position, as they are now; null when it cannot tell', async () => {
      const { registry } = await openRegistry(db().knex);
      await registry.applySnapshot([web(aTask({ id: 'web.1' })), api(aTask({ id: 'api.1' }))]);
      const p0 = await registry.position();
      expect((await registry.changesSince(p0))?.changed.size).toBe(0);
      await applyEvent(registry, aStatus('/web', 'web.2', 'TASK_RUNNING', { host: '10.0.0.2' }));
      const p1 = await registry.position();
      await registry.applyApp('/api', null, { terminated: true });
      const since0 = await registry.changesSince(p0);
      expect(since0?.position).toBe(await registry.position());
      expect([...since0!.changed.keys()].sort()).toEqual(['/api', '/web']);
      expect(since0!.changed.get('/api')).toBeNull();
      expect(since0!.changed.get('/web')?.endpoints.map((e) => e.taskId)).toEqual(['web.1', 'web.2']);
      expect([...(await registry.changesSince(p1))!.changed.keys()]).toEqual(['/api']);
      expect(await registry.changesSince(p0 - 1)).toBeNull(); // inside the snapshot's write, or before
      await db().knex('registry_journal').insert({ op: 'problems' }); // another writer moved the journal
      await registry.refresh();
      // Caught up through the journal: still answerable from p1.
      expect([...(await registry.changesSince(p1))!.changed.keys()]).toEqual(['/api']);
      // A journal pruned past our position cannot tell: reloaded wholesale, read a snapshot.
      const head = await registry.position();
      await db().knex('registry_journal').insert({ op: 'problems' });
      await db().knex('registry_journal').insert({ op: 'problems' });
      await db()
        .knex('registry_journal')
        .where('position', '<=', head + 1)
        .del();
      await registry.refresh();
      expect(await registry.changesSince(p1)).toBeNull();
      expect((await registry.changesSince(await registry.position()))?.changed.size).toBe(0);
    });

    test('health events: a health-checked task joins after healthy, leaves after unhealthy', async () => {
      const { registry } = await openRegistry(db().knex);
      const id = 'web.00000000-0000-4000-8000-00000000beef';
      await registry.applySnapshot([anApp({ id: '/web' }, withDomain('web.berth.internal'), withHealthChecks(), withTasks(aTask({ id })))]);
      expect(registry.findService('default', 'web.berth.internal')?.endpoints).toEqual([]);
      await applyEvent(registry, aHealthChange('/web', id, true));
      expect(registry.findService('default', 'web.berth.internal')?.endpoints.map((e) => e.taskId)).toEqual([id]);
      await applyEvent(registry, aHealthChange('/web', id, false));
      expect(registry.findService('default', 'web.berth.internal')?.endpoints).toEqual([]);
    });

    test('applyApp replaces one app; a 404 removes it only when Marathon announced its end', async () => {
      const { registry } = await openRegistry(db().knex);
      await registry.applySnapshot([web(aTask({ id: 'web.1' }))]);
      await registry.applyApp('/api', api(aTask({ id: 'api.1' })));
      expect(registry.listServices().map((s) => s.appId)).toEqual(['/api', '/web']);
      // A Marathon that lost its state answers 404 for every app: that alone removes nothing.
      expect(await registry.applyApp('/web', null)).toBe('deferred');
      expect(registry.listServices().map((s) => s.appId)).toEqual(['/api', '/web']);
      expect(await registry.applyApp('/web', null, { terminated: true })).toBe('applied');
      expect(registry.listServices().map((s) => s.appId)).toEqual(['/api']);
      // A 404 for an app that publishes nothing (a pod, say) is remembered as such at once.
      expect(await registry.applyApp('/pod', null)).toBe('applied');
      expect(registry.appRecords().get('/pod')?.spec).toBeNull();
    });
  });

  describe('the removal guard', () => {
    test('an empty answer is held, reported, and released only on request', async () => {
      const { registry, prom } = await openRegistry(db().knex);
      await registry.applySnapshot(fleet(4));
      const pos = await registry.position();
      expect(await registry.applySnapshot([])).toMatchObject({ result: 'held', reason: 'empty' });
      expect(registry.listServices()).toHaveLength(4);
      expect(await registry.position()).toBe(pos);
      expect(registry.status().held).toMatchObject({
        reason: 'empty',
        attempts: 1,
        current: { services: 4, endpoints: 4 },
        proposed: { apps: 0, services: 0 },
      });
      expect(await prom.getSingleMetricAsString('berth_registry_snapshot_held')).toMatch(/ 1$/m);
      await registry.applySnapshot([]);
      expect(registry.status().held?.attempts).toBe(2);
      expect(await registry.release()).toMatchObject({ result: 'applied', removals: 4 });
      expect(registry.listServices()).toEqual([]);
      expect(registry.status().held).toBeNull();
    });

    test('removing more than the ratio is held; a sane snapshot afterwards clears the hold', async () => {
      const { registry } = await openRegistry(db().knex);
      await registry.applySnapshot(fleet(10));
      const partial = fleet(10).slice(0, 4);
      expect(await registry.applySnapshot(partial)).toMatchObject({ result: 'held', reason: 'endpoint-removal-ratio' });
      expect(registry.listServices()).toHaveLength(10);
      expect(await registry.applySnapshot(fleet(10).slice(0, 6))).toMatchObject({ result: 'applied', removals: 4 });
      expect(registry.status().held).toBeNull();
    });

    test('all endpoints vanishing is held even when apps remain (health wipe elsewhere, agent loss)', async () => {
      const { registry } = await openRegistry(db().knex);
      await registry.applySnapshot([web(aTask({ id: 'web.1' })), api(aTask({ id: 'api.1' }))]);
      expect(await registry.applySnapshot([web(), api()])).toMatchObject({ result: 'held', reason: 'all-endpoints-removed' });
      expect(await registry.applySnapshot([web(), api()], { force: true })).toMatchObject({ result: 'applied' });
      expect(registry.status().endpoints).toBe(0);
    });

    test('a rolling restart (every task id replaced) is not a removal', async () => {
      const { registry } = await openRegistry(db().knex);
      await registry.applySnapshot([web(aTask({ id: 'web.1' }), aTask({ id: 'web.2' }))]);
      expect(await registry.applySnapshot([web(aTask({ id: 'web.3' }), aTask({ id: 'web.4' }))])).toMatchObject({ result: 'applied' });
    });

    test('a failed fetch is reported as held/failed and changes nothing', async () => {
      const { registry } = await openRegistry(db().knex);
      await registry.applySnapshot(fleet(2));
      registry.reportFailedSnapshot(new Error('502 from marathon'));
      expect(registry.status().held).toMatchObject({ reason: 'failed', error: '502 from marathon', proposed: null });
      expect(registry.status().lastSnapshot).toMatchObject({ result: 'failed' });
      expect(registry.listServices()).toHaveLength(2);
      expect(await registry.release()).toMatchObject({ result: 'unchanged' });
      expect(await registry.release()).toBeNull();
    });
  });

  describe('problems', () => {
    test('raised with since, kept while unchanged, cleared when fixed', async () => {
      const { registry, prom } = await openRegistry(db().knex);
      const bad = anApp({ id: '/bad' }, withDomain('a.com; include /etc/passwd'));
      await registry.applySnapshot([web(aTask({ id: 'web.1' })), bad]);
      const [p] = registry.listProblems();
      expect(p).toMatchObject({ code: C.LABEL_DOMAIN_INVALID, appId: '/bad', source: 'model' });
      expect(Date.parse(p.since)).not.toBeNaN();
      expect(await prom.getSingleMetricAsString('berth_registry_problems')).toContain('code="LABEL_DOMAIN_INVALID"} 1');
      await registry.applySnapshot([web(aTask({ id: 'web.1' })), bad]);
      expect(registry.listProblems()[0].since).toBe(p.since);
      const fixed = anApp({ id: '/bad' }, withDomain('bad.berth.internal'));
      await registry.applySnapshot([web(aTask({ id: 'web.1' })), fixed]);
      expect(registry.listProblems()).toEqual([]);
      expect(await db().knex('registry_problems').count({ n: '*' })).toEqual([{ n: 0 }]);
    });

    test('a bad app never blocks the others', async () => {
      const { registry } = await openRegistry(db().knex);
      const apps = [web(aTask({ id: 'web.1' })), anApp({ id: '/p' }, withDomain('p.com', { 'berth.port': '99999' })), api(aTask({ id: 'api.1' }))];
      await registry.applySnapshot(apps);
      expect(registry.listServices().map((s) => s.appId)).toEqual(['/api', '/web']);
      expect(registry.listProblems().map((p) => p.code)).toEqual([C.LABEL_PORT_INVALID]);
    });

    test('domain conflict: the published app keeps it; the loser takes over when the owner goes', async () => {
      const { registry } = await openRegistry(db().knex);
      await registry.applySnapshot([web(aTask({ id: 'web.1' }))]);
      const rival = anApp(
        { id: '/rival', versionInfo: { lastConfigChangeAt: '2000-01-01T00:00:00.000Z' } },
        withDomain('web.berth.internal'),
        withTasks(aTask({ id: 'rival.1' })),
      );
      await registry.applyApp('/rival', rival);
      expect(registry.findService('default', 'web.berth.internal')?.appId).toBe('/web');
      expect(registry.listProblems()).toEqual([expect.objectContaining({ code: C.DOMAIN_CONFLICT, appId: '/rival' })]);
      await registry.applyApp('/web', null, { terminated: true });
      expect(registry.findService('default', 'web.berth.internal')?.appId).toBe('/rival');
      expect(registry.listProblems()).toEqual([]);
    });

    test('setProblems replaces one source only', async () => {
      const { registry } = await openRegistry(db().knex);
      await registry.applySnapshot([anApp({ id: '/bad' }, withDomain('x..com'))]);
      await registry.setProblems('ipam', [{ code: C.FIXED_IP_CONFLICT, appId: '/db', env: null, message: 'taken' }]);
      expect(registry.listProblems().map((p) => `${p.source}:${p.code}`)).toEqual(['model:LABEL_DOMAIN_INVALID', 'ipam:FIXED_IP_CONFLICT']);
      await registry.setProblems('ipam', []);
      expect(registry.listProblems().map((p) => p.source)).toEqual(['model']);
    });
  });

  describe('durability', () => {
    test('a restarted registry serves the last state at once, with serving decisions kept', async () => {
      const first = await openRegistry(db().knex);
      const hc = (results: boolean) =>
        anApp(
          { id: '/web' },
          withDomain('web.berth.internal'),
          withHealthChecks(),
          withTasks(aTask({ id: 'web.1', ...(results ? { healthCheckResults: [healthy()] } : {}) })),
        );
      await first.registry.applySnapshot([hc(true), anApp({ id: '/bad' }, withDomain('-x'))]);
      const before = first.registry.current();

      const second = await openRegistry(db().knex);
      const after = second.registry.current();
      expect(after).toEqual({ ...before, services: before.services });
      expect(second.registry.listProblems()).toHaveLength(1);
      // After a Marathon leader change the results are gone: the task keeps serving.
      expect(await second.registry.applySnapshot([hc(false), anApp({ id: '/bad' }, withDomain('-x'))])).toMatchObject({ result: 'unchanged' });
      expect(second.registry.findService('default', 'web.berth.internal')?.endpoints).toHaveLength(1);
    });

    test('a failed write leaves database and mirror as they were', async () => {
      const { registry } = await openRegistry(db().knex);
      await registry.applySnapshot([web(aTask({ id: 'web.1' }))]);
      const before = registry.current();
      await db().knex.raw('alter table registry_journal rename to registry_journal_x');
      try {
        await expect(registry.applySnapshot([web(aTask({ id: 'web.1' })), api(aTask({ id: 'api.1' }))])).rejects.toThrow();
        const out = await applyEvent(registry, aStatus('/web', 'web.2', 'TASK_RUNNING'));
        expect(out.error).toBeDefined();
      } finally {
        await db().knex.raw('alter table registry_journal_x rename to registry_journal');
      }
      expect(registry.current()).toBe(before);
      expect(await db().knex('registry_services').pluck('app_id')).toEqual(['/web']);
      expect(await registry.applySnapshot([web(aTask({ id: 'web.1' })), api(aTask({ id: 'api.1' }))])).toMatchObject({ result: 'applied', upserts: 1 });
    });

    test('version changes are stored (a redeploy with the same tasks is a change)', async () => {
      const { registry } = await openRegistry(db().knex);
      await registry.applySnapshot([web(aTask({ id: 'web.1' }))]);
      const redeployed = anApp({ id: '/web' }, withDomain('web.berth.internal'), withVersion(V2), withTasks(aTask({ id: 'web.1' })));
      expect(await registry.applySnapshot([redeployed])).toMatchObject({ upserts: 1 });
      expect(registry.findService('default', 'web.berth.internal')?.version).toBe(V2);
    });
  });
});

describeEachEngine('registry: group changes', (db) => {
  beforeEach(async () => resetRegistryTables(db().knex));
  test('a group change names the known apps under that group', async () => {
    const { registry } = await openRegistry(db().knex);
    await registry.applySnapshot([anApp({ id: '/shop/a' }), anApp({ id: '/shop/b' }), anApp({ id: '/shopping/c' })]);
    expect(registry.appIdsUnder('/shop').sort()).toEqual(['/shop/a', '/shop/b']);
    expect(registry.appIdsUnder('/shop/').sort()).toEqual(['/shop/a', '/shop/b']);
  });
});

describeEachEngine('registry: replicas', (db) => {
  beforeEach(async () => resetRegistryTables(db().knex));

  test('a standby follows the writer with refresh(), and notifies its consumers', async () => {
    const writer = (await openRegistry(db().knex)).registry;
    const standby = (await openRegistry(db().knex)).registry;
    const seen: number[] = [];
    standby.onChange((p) => seen.push(p));
    expect(await standby.refresh()).toBe(false);
    await writer.applySnapshot([web(aTask({ id: 'web.1' }))]);
    expect(await standby.refresh()).toBe(true);
    expect(standby.current()).toEqual(writer.current());
    expect(seen).toEqual([await writer.position()]);
    await writer.setProblems('nginx', [{ code: 'NGINX_REJECTED', appId: '/web', env: 'default', message: 'nginx -t failed' }]);
    expect(await standby.refresh()).toBe(true);
    expect(standby.listProblems().map((p) => p.code)).toEqual(['NGINX_REJECTED']);
  });

  test('a standby catches up through the journal: only the apps named since its position are re-read, and reported as changed', async () => {
    const writer = (await openRegistry(db().knex)).registry;
    await writer.applySnapshot([
      web(aTask({ id: 'web.1' })),
      api(aTask({ id: 'api.1' })),
      anApp({ id: '/db' }, withDomain('db.berth.internal'), withTasks(aTask({ id: 'db.1' }))),
    ]);
    const standby = (await openRegistry(db().knex)).registry;
    const p0 = await standby.position();
    await applyEvent(writer, aStatus('/web', 'web.2', 'TASK_RUNNING', { host: '10.0.0.2' }));
    await writer.applyApp('/db', null, { terminated: true });
    await writer.setProblems('nginx', [{ code: 'NGINX_REJECTED', appId: '/api', env: 'default', message: 'nginx -t failed' }]);
    expect(await standby.refresh()).toBe(true);
    const changes = await standby.changesSince(p0);
    expect(changes?.position).toBe(await writer.position());
    expect([...changes!.changed.keys()].sort()).toEqual(['/db', '/web']);
    expect(changes!.changed.get('/db')).toBeNull();
    expect(standby.current()).toEqual(writer.current());
    expect(standby.listProblems()).toEqual(writer.listProblems());
  });

  test('the fence runs first in every write; a refused write changes nothing', async () => {
    let leader = true;
    const { registry } = await openRegistry(db().knex, {
      fence: async () => {
        if (!leader) throw new Error('fenced: not the leader');
      },
    });
    await registry.applySnapshot([web(aTask({ id: 'web.1' }))]);
    leader = false;
    await expect(registry.applyApp('/api', api(aTask({ id: 'api.1' })))).rejects.toThrow('fenced');
    expect(registry.listServices().map((s) => s.appId)).toEqual(['/web']);
    expect(await db().knex('registry_services').pluck('app_id')).toEqual(['/web']);
  });
});
