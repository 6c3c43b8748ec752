import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { openDatabase, type Database, type Engine } from '../../src/db/knex';
import { migrateLatest } from '../../src/db/migrations';

/** Where real PostgreSQL is for tests; CI sets it, the default suits the project machine. */
export const TEST_PG_URL = process.env.BERTH_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh, migrated database of one engine; `drop()` removes it. */
export interface TestDb extends Database {
  url?: string;
  drop(): Promise<void>;
}

/** Creates a new empty PostgreSQL database (its own per test file) and returns its URL. */
export async function createPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `berth_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: TEST_PG_URL, pool: { min: 0, max: 1 } });
  await admin.raw(`create database ${name}`);
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.raw(`drop database if exists ${name} with (force)`);
      await admin.destroy();
    },
  };
}

/** Opens a fresh migrated database on the given engine. */
export async function openTestDb(engine: Engine): Promise<TestDb> {
  if (engine === 'pglite') {
    const db = await openDatabase({ dataDir: 'memory://' });
    await migrateLatest(db.knex);
    return { ...db, drop: () => db.close() };
  }
  const { url, drop } = await createPgDatabase();
  const db = await openDatabase({ url, dataDir: 'unused' });
  await migrateLatest(db.knex);
  return {
    ...db,
    url,
    drop: async () => {
      await db.close();
      await drop();
    },
  };
}

/**
 * Runs the same suite on PGlite and on real PostgreSQL, each with its own fresh database.
 * `get()` returns the open database inside tests.
 */
export function describeEachEngine(name: string, fn: (get: () => TestDb, engine: Engine) => void): void {
  for (const engine of ['pglite', 'postgres'] as const) {
    describe(`${name} [${engine}]`, () => {
      let db: TestDb | undefined;
      beforeAll(async () => {
        db = await openTestDb(engine);
      }, 60000);
      afterAll(async () => {
        await db?.drop();
      });
      fn(() => {
        if (!db) throw new Error('test database not open');
        return db;
      }, engine);
    });
  }
}

export type { Knex };
