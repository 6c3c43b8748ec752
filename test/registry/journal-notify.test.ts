/**
 * Standbys are woken by `NOTIFY berth_journal`, which the database sends when a transaction that
 * appended journal rows commits (migration 009's trigger). PostgreSQL only: LISTEN needs a
 * connection another process could hold.
 */
import pg from 'pg';
import { openTestDb, type TestDb } from '../support/db';
import { anApp, aStatus, aTask, withDomain, withTasks } from '../support/builders';
import { applyEvent, openRegistry, resetRegistryTables } from './helpers';

let db: TestDb;
let listener: pg.Client;
const heard: number[] = [];

beforeAll(async () => {
  db = await openTestDb('postgres');
  listener = new pg.Client({ connectionString: db.url });
  await listener.connect();
  listener.on('notification', (n) => {
    if (n.channel === 'berth_journal') heard.push(Number(n.payload));
  });
  await listener.query('LISTEN berth_journal');
}, 60_000);
afterAll(async () => {
  await listener?.end();
  await db?.drop();
});

/** Resolves with the next notification's position, or rejects after 5 s. */
function nextNotification(): Promise<number> {
  const seen = heard.length;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no NOTIFY berth_journal within 5 s')), 5000);
    const check = () => {
      if (heard.length > seen) {
        clearTimeout(timer);
        listener.removeListener('notification', check);
        resolve(heard[heard.length - 1]);
      }
    };
    listener.on('notification', check);
  });
}

test('a committed registry write notifies its newest journal position', async () => {
  const { registry } = await openRegistry(db.knex);
  const notified = nextNotification();
  await registry.applySnapshot([anApp({ id: '/web' }, withDomain('web.berth.internal'), withTasks(aTask({ id: 'web.1', host: '10.0.0.1' })))]);
  expect(await notified).toBe(registry.current().position);
});

test('a write that rolls back notifies nothing', async () => {
  const before = heard.length;
  await expect(
    db.knex.transaction(async (trx) => {
      await trx.raw(`insert into registry_journal (op, app_id, env) values ('upsert', '/x', 'default')`);
      throw new Error('rolled back on purpose');
    }),
  ).rejects.toThrow('rolled back on purpose');
  // A later commit's notification arrives; none came before it for the rolled-back insert.
  const notified = nextNotification();
  await db.knex.raw(`insert into registry_journal (op, app_id, env) values ('upsert', '/y', 'default')`);
  const position = await notified;
  expect(heard.slice(before)).toEqual([position]);
});

test('a task-event write (one statement, no transaction) notifies its newest journal position too', async () => {
  await resetRegistryTables(db.knex);
  const { registry } = await openRegistry(db.knex, { eventBatchMs: 0 });
  const snapshot = nextNotification();
  await registry.applySnapshot([anApp({ id: '/api' }, withDomain('api.berth.internal'), withTasks(aTask({ id: 'api.1', host: '10.0.0.2' })))]);
  expect(await snapshot).toBe(registry.current().position);
  const notified = nextNotification();
  expect(await applyEvent(registry, aStatus('/api', 'api.2', 'TASK_RUNNING', { host: '10.0.0.3', ports: [31002] }))).toEqual({ refetch: [] });
  expect(await notified).toBe(registry.current().position);
  expect(await db.knex('registry_endpoints').where({ app_id: '/api' }).orderBy('task_id').pluck('task_id')).toEqual(['api.1', 'api.2']);
});
