/**
 * `onWriting`: a large snapshot write is announced as it starts, with the service objects the
 * registry serves once it commits (the Nginx sync renders them in a worker thread meanwhile). The
 * announcement is not the commit: nothing is served from it, a failed write leaves the registry as
 * it was, small writes and event writes are not announced, and a failing listener stops nothing.
 */
import type { App } from '../../src/marathon/types';
import type { Service } from '../../src/model/types';
import { ANNOUNCE_MIN } from '../../src/registry/registry';
import { describeEachEngine } from '../support/db';
import { anApp, aStatus, aTask, withDomain, withTasks } from '../support/builders';
import { applyEvent, openRegistry, resetRegistryTables } from './helpers';

const fleet = (n: number, port = 31000): App[] =>
  Array.from({ length: n }, (_, i) =>
    anApp({ id: `/s${i}` }, withDomain(`s${i}.berth.internal`), withTasks(aTask({ id: `s${i}.1`, host: `10.0.${i >> 8}.${i & 255}`, ports: [port] }))),
  );

describeEachEngine('registry: large writes are announced before they commit', (db) => {
  beforeEach(async () => resetRegistryTables(db().knex));

  test('with the very service objects the registry serves once the write commits', async () => {
    const { registry } = await openRegistry(db().knex);
    const heard: Array<{ services: readonly Service[]; servedThen: number; loadedThen: boolean }> = [];
    registry.onWriting((services) => heard.push({ services, servedThen: registry.current().services.length, loadedThen: registry.current().loaded }));
    await registry.applySnapshot(fleet(ANNOUNCE_MIN));
    expect(heard).toHaveLength(1);
    expect(heard[0]).toMatchObject({ servedThen: 0, loadedThen: false });
    expect(heard[0].services).toHaveLength(ANNOUNCE_MIN);
    const served = new Map(registry.current().services.map((s) => [s.appId, s]));
    expect(heard[0].services.every((s) => served.get(s.appId) === s)).toBe(true);

    // A snapshot that changes a few apps, and task events: written without an announcement.
    const next = fleet(ANNOUNCE_MIN);
    next[3] = anApp({ id: '/s3' }, withDomain('s3.berth.internal'), withTasks(aTask({ id: 's3.2', host: '10.0.0.99', ports: [31001] })));
    expect(await registry.applySnapshot(next)).toMatchObject({ result: 'applied', upserts: 1 });
    const before = await registry.position();
    await applyEvent(registry, aStatus('/s4', 's4.2', 'TASK_RUNNING', { host: '10.0.0.98', ports: [31002] }));
    expect(await registry.position()).toBeGreaterThan(before);
    expect(heard).toHaveLength(1);
  });

  test('a write that fails after the announcement leaves the registry as it was', async () => {
    const { registry } = await openRegistry(db().knex, {
      fence: async () => {
        throw new Error('not the leader any more');
      },
    });
    const heard: number[] = [];
    registry.onWriting((services) => heard.push(services.length));
    await expect(registry.applySnapshot(fleet(ANNOUNCE_MIN))).rejects.toThrow(/not the leader/);
    expect(heard).toEqual([ANNOUNCE_MIN]);
    expect(registry.current()).toMatchObject({ loaded: false, services: [] });
    expect(await db().knex('registry_services').count({ n: '*' })).toEqual([{ n: 0 }]);
  });

  test('a listener that throws does not stop the write', async () => {
    const { registry } = await openRegistry(db().knex);
    registry.onWriting(() => {
      throw new Error('listener broke');
    });
    expect(await registry.applySnapshot(fleet(ANNOUNCE_MIN))).toMatchObject({ result: 'applied', upserts: ANNOUNCE_MIN });
    expect(registry.current().services).toHaveLength(ANNOUNCE_MIN);
  });
});
