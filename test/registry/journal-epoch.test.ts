/**
 * Every journal row records the fencing epoch and the replica that wrote it, and the insert itself
 * is fenced: a stamp whose epoch is no longer the leader's (a deposed leader that has not noticed,
 * or a write path that skipped `assertLeader`) writes nothing at all.
 */
import { createLeadership, writerFence, type Leadership } from '../../src/cluster';
import { silentLogger } from '../../src/log';
import { anApp, aTask, withDomain, withTasks } from '../support/builders';
import { describeEachEngine } from '../support/db';
import { openRegistry } from './helpers';

const app = (id: string) => anApp({ id }, withDomain(`${id.slice(1)}.berth.internal`), withTasks(aTask({ id: `${id.slice(1)}.1` })));

describeEachEngine('journal rows carry the writer and its epoch', (get, engine) => {
  const started: Leadership[] = [];
  const lead = async (id: string) => {
    const l = createLeadership({ engine, knex: get().knex, databaseUrl: get().url, id, logger: silentLogger });
    started.push(l);
    await l.start();
    expect(l.isLeader()).toBe(true);
    return l;
  };
  afterAll(async () => {
    for (const l of started) await l.stop();
  });

  test('stamped by the leader; a stale epoch (or a writer that does not hold it) is refused in the insert', async () => {
    const { knex } = get();
    const a = await lead('replica-a');
    const epochA = a.epoch()!;
    const { registry: byA } = await openRegistry(knex, { fence: writerFence(a) });
    await byA.applySnapshot([app('/web')]);
    const rowsA = await knex('registry_journal').select('op', 'epoch', 'writer').orderBy('position');
    expect(rowsA.length).toBeGreaterThan(0);
    expect(rowsA.map((r) => [Number(r.epoch), r.writer])).toEqual(rowsA.map(() => [epochA, 'replica-a']));

    // A is deposed: the next leader's election bumps the epoch.
    await a.stop();
    const b = await lead('replica-b');
    expect(b.epoch()).toBe(epochA + 1);
    const head = async () => Number((await knex('registry_journal').max({ p: 'position' }))[0].p);
    const before = await head();

    // The stamp alone (no assertLeader): the journal insert is the fence that refuses it.
    for (const stamp of [
      { epoch: epochA, writer: 'replica-a' }, // deposed leader, old epoch
      { epoch: epochA + 1, writer: 'replica-a' }, // current epoch, but not its holder
    ]) {
      const { registry } = await openRegistry(knex, { fence: async () => stamp });
      await expect(registry.applyApp('/api', app('/api'))).rejects.toMatchObject({ code: 'NOT_LEADER' });
      expect(await head()).toBe(before);
      expect(await knex('registry_services').pluck('app_id')).toEqual(['/web']); // the whole transaction rolled back
    }
    // Through the leadership, the deposed replica is refused before it writes anything.
    await expect(byA.applyApp('/api', app('/api'))).rejects.toMatchObject({ code: 'NOT_LEADER' });

    const { registry: byB } = await openRegistry(knex, { fence: writerFence(b) });
    await byB.applyApp('/api', app('/api'));
    const rowsB = await knex('registry_journal').where('position', '>', before).select('epoch', 'writer');
    expect(rowsB.map((r) => [Number(r.epoch), r.writer])).toEqual([[epochA + 1, 'replica-b']]);
  });

  test('a registry without a fence (single process, tools) writes rows with neither', async () => {
    const { knex } = get();
    const { registry } = await openRegistry(knex);
    await registry.applyApp('/solo', app('/solo'));
    const [row] = await knex('registry_journal').orderBy('position', 'desc').limit(1).select('epoch', 'writer');
    expect(row).toEqual({ epoch: null, writer: null });
  });
});
