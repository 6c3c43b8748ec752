/**
 * Task-event writes go to the database as one statement (src/registry/endpoint-write.ts): one round
 * trip instead of a six-statement transaction. They must leave exactly the rows the transaction
 * path leaves, after any sequence of task events, and be fenced as it is: a stamp that no longer
 * leads changes nothing at all.
 */
import type { Knex } from 'knex';
import { createLeadership, writerFence, type Leadership } from '../../src/cluster';
import { silentLogger } from '../../src/log';
import type { App } from '../../src/marathon/types';
import type { WriteFence } from '../../src/registry/store';
import { anApp, aStatus, aTask, withDomain, withTasks } from '../support/builders';
import { describeEachEngine } from '../support/db';
import { applyEvent, openRegistry, resetRegistryTables } from './helpers';

const APPS = 12;
const fleet = (): App[] =>
  Array.from({ length: APPS }, (_, i) =>
    anApp(
      { id: `/e${i}` },
      withDomain(`e${i}.berth.internal`),
      withTasks(aTask({ id: `e${i}.1`, host: `10.1.0.${i}`, ports: [31000] }), aTask({ id: `e${i}.2`, host: `10.1.1.${i}`, ports: [31001] })),
    ),
  );

/** A fixed-seed sequence of task events: new tasks running, tasks killed, tasks moving to another port. */
function events(count: number, seed: number): Array<ReturnType<typeof aStatus>> {
  let x = seed;
  const next = (n: number) => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x % n;
  };
  const live = new Map<string, string[]>(Array.from({ length: APPS }, (_, i) => [`/e${i}`, [`e${i}.1`, `e${i}.2`]]));
  const out: Array<ReturnType<typeof aStatus>> = [];
  for (let k = 0; k < count; k++) {
    const i = next(APPS);
    const app = `/e${i}`;
    const tasks = live.get(app)!;
    const what = next(3);
    if (what === 0 || tasks.length === 0) {
      const id = `e${i}.n${k}`;
      tasks.push(id);
      out.push(aStatus(app, id, 'TASK_RUNNING', { host: `10.2.${k & 255}.${i}`, ports: [32000 + k] }));
    } else if (what === 1) {
      const [id] = tasks.splice(next(tasks.length), 1);
      out.push(aStatus(app, id, 'TASK_KILLED', { host: '10.9.9.9', ports: [1] }));
    } else {
      const id = tasks[next(tasks.length)];
      out.push(aStatus(app, id, 'TASK_RUNNING', { host: `10.3.${k & 255}.${i}`, ports: [33000 + k] }));
    }
  }
  return out;
}

/** The registry tables as an operator would read them (journal without positions and times). */
async function tables(knex: Knex): Promise<unknown> {
  return {
    endpoints: await knex('registry_endpoints').select('app_id', 'task_id', 'address', 'port', 'host', 'task').orderBy(['app_id', 'task_id']),
    services: await knex('registry_services').select('app_id', 'env', 'spec').orderBy('app_id'),
    journal: await knex('registry_journal').select('op', 'app_id', 'env', 'detail').orderBy('position'),
  };
}

/** Statements sent per call of `fn`. */
async function statements(knex: Knex, fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const on = (q: { sql: string }) => seen.push(q.sql);
  knex.on('query', on);
  try {
    await fn();
  } finally {
    knex.removeListener('query', on);
  }
  return seen;
}

describeEachEngine('task-event writes as one statement', (db, engine) => {
  const started: Leadership[] = [];
  const lead = async (id: string) => {
    const l = createLeadership({ engine, knex: db().knex, databaseUrl: db().url, id, logger: silentLogger });
    started.push(l);
    await l.start();
    expect(l.isLeader()).toBe(true);
    return l;
  };
  beforeEach(async () => resetRegistryTables(db().knex));
  afterEach(async () => {
    for (const l of started.splice(0)) await l.stop();
  });

  test('leave the same rows as the transaction path after a random sequence of task events', async () => {
    const { knex } = db();
    const leader = await lead('replica-one');
    const fast = writerFence(leader);
    // The same fence without `current`: every write is a transaction.
    const slow: WriteFence = (trx) => fast(trx);
    const outcome = async (fence: WriteFence) => {
      await resetRegistryTables(knex);
      const { registry } = await openRegistry(knex, { fence, eventBatchMs: 0 });
      await registry.applySnapshot(fleet());
      const sent: string[][] = [];
      for (const e of events(150, 7)) sent.push(await statements(knex, () => applyEvent(registry, e)));
      return { rows: await tables(knex), writes: sent.filter((s) => s.some((q) => q.includes('registry_journal'))) };
    };
    const viaTransaction = await outcome(slow);
    const viaStatement = await outcome(fast);
    expect(viaStatement.rows).toEqual(viaTransaction.rows);
    // Every event write was a change (the sequence always changes something), each one statement against several.
    expect(viaStatement.writes.length).toBe(viaTransaction.writes.length);
    expect(viaStatement.writes.length).toBeGreaterThan(100);
    expect(viaStatement.writes.every((s) => s.length === 1)).toBe(true);
    expect(viaTransaction.writes.every((s) => s.length >= 5)).toBe(true);
  });

  test('a stamp that no longer leads changes nothing, and the write is refused as fenced', async () => {
    const { knex } = db();
    const a = await lead('replica-a');
    const epochA = a.epoch()!;
    const { registry: byA } = await openRegistry(knex, { fence: writerFence(a), eventBatchMs: 0 });
    await byA.applySnapshot(fleet());
    await a.stop();
    const b = await lead('replica-b');
    const before = await tables(knex);
    for (const stamp of [
      { epoch: epochA, writer: 'replica-a' }, // deposed, and does not know it yet
      { epoch: epochA + 1, writer: 'replica-a' }, // the current epoch, held by another replica
    ]) {
      const stale: WriteFence = async () => {
        throw new Error('the transaction path is not taken by a task-event write');
      };
      stale.current = () => stamp;
      const { registry } = await openRegistry(knex, { fence: stale, eventBatchMs: 0 });
      const outcome = await applyEvent(registry, aStatus('/e1', 'e1.9', 'TASK_RUNNING', { host: '10.7.7.7', ports: [31999] }));
      expect(outcome.error).toBe(`fenced: replica-a no longer leads in epoch ${stamp.epoch}; journal write refused`);
      expect(await tables(knex)).toEqual(before);
    }
    // The leader's own event write goes through, stamped with its epoch.
    const { registry: byB } = await openRegistry(knex, { fence: writerFence(b), eventBatchMs: 0 });
    await applyEvent(byB, aStatus('/e1', 'e1.9', 'TASK_RUNNING', { host: '10.7.7.7', ports: [31999] }));
    const [last] = await knex('registry_journal').orderBy('position', 'desc').limit(1).select('op', 'app_id', 'epoch', 'writer');
    expect({ ...last, epoch: Number(last.epoch) }).toEqual({ op: 'upsert', app_id: '/e1', epoch: epochA + 1, writer: 'replica-b' });
    expect(await knex('registry_endpoints').where({ app_id: '/e1', task_id: 'e1.9' }).pluck('address')).toEqual(['10.7.7.7']);
  });
});
