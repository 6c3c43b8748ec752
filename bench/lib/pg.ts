/** A scratch PostgreSQL database for one benchmark run, or null when no server is reachable. */
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';

export const BENCH_PG_URL = process.env.BERTH_BENCH_DATABASE_URL ?? process.env.BERTH_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function scratchPg(tag: string): Promise<{ url: string; drop: () => Promise<void> } | null> {
  const admin = knexFactory({ client: 'pg', connection: BENCH_PG_URL, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 5000 });
  const name = `berth_bench_${tag}_${randomBytes(3).toString('hex')}`;
  try {
    await admin.raw(`create database ${name}`);
  } catch {
    await admin.destroy();
    return null;
  }
  const url = new URL(BENCH_PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.raw(`drop database if exists ${name} with (force)`).catch(() => undefined);
      await admin.destroy();
    },
  };
}
