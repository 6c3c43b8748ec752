import path from 'node:path';
import fs from 'node:fs';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Logger } from '../log';

export type Engine = 'postgres' | 'pglite';

/** An open database: knex plus which engine is behind it. */
export interface Database {
  knex: Knex;
  engine: Engine;
  /** A human description without secrets, for logs and `berth check`. */
  describe: string;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL URL; when absent, the embedded PGlite database is used. */
  url?: string;
  /** For PGlite: the folder holding `db/`; `memory://` keeps it in memory (tests). */
  dataDir: string;
  /** Pool size for PostgreSQL. */
  poolMax?: number;
}

// knex prints pool errors with console.log; they surface as thrown errors anyway, so keep stdout clean.
const quietLog = { warn: () => undefined, error: () => undefined, debug: () => undefined, deprecate: () => undefined };

// int8 (count(*), bigint ids) as JS numbers: our ids and counts stay far below 2^53.
pg.types.setTypeParser(20, (v: string) => Number(v));

/** Opens the database (does not run migrations). */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.url) {
    const knex = knexFactory({
      client: 'pg',
      connection: { connectionString: opts.url, connectionTimeoutMillis: 5000, statement_timeout: 30000 },
      pool: { min: 0, max: opts.poolMax ?? 20, acquireTimeoutMillis: 10000 },
      acquireConnectionTimeout: 10000,
      log: quietLog,
    });
    return { knex, engine: 'postgres', describe: redactUrl(opts.url), close: () => knex.destroy() };
  }
  return openPglite(opts.dataDir);
}

async function openPglite(dataDir: string): Promise<Database> {
  // PGlite ships as ESM+CJS; loaded lazily so PostgreSQL deployments never pay for the WASM image.
  const { PGlite } = await import('@electric-sql/pglite');
  const { btree_gist } = await import('@electric-sql/pglite/contrib/btree_gist');
  const ClientPgLite = (await import('knex-pglite')).default;
  const memory = dataDir === 'memory://';
  const dbDir = memory ? undefined : path.resolve(dataDir, 'db');
  if (dbDir) fs.mkdirSync(dbDir, { recursive: true });
  const instance = new PGlite(dbDir, { extensions: { btree_gist } });
  await instance.waitReady;
  const knex = knexFactory({
    client: ClientPgLite as unknown as typeof knexFactory.Client,
    dialect: 'postgres',
    log: quietLog,
    connection: () => ({ pglite: instance }) as unknown as Knex.StaticConnectionConfig,
  });
  return {
    knex,
    engine: 'pglite',
    describe: memory ? 'embedded PGlite (in memory)' : `embedded PGlite in ${dbDir}`,
    close: async () => {
      await knex.destroy();
      if (!instance.closed) await instance.close();
    },
  };
}

/** postgres://user:secret@host/db → postgres://user:***@host/db */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** Opens and checks the database, retrying with capped exponential backoff while it is down. */
export async function connectWithRetry(
  opts: DatabaseOptions,
  logger: Logger,
  { attempts = Infinity, baseMs = 500, maxMs = 10000, signal }: { attempts?: number; baseMs?: number; maxMs?: number; signal?: AbortSignal } = {},
): Promise<Database> {
  for (let attempt = 1; ; attempt++) {
    const db = await openDatabase(opts);
    try {
      await db.knex.raw('select 1');
      if (attempt > 1) logger.info({ attempt, db: db.describe }, 'database reachable');
      return db;
    } catch (err) {
      await db.close().catch(() => undefined);
      if (attempt >= attempts || signal?.aborted) throw err;
      const delay = Math.min(maxMs, baseMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
      logger.warn({ attempt, retryInMs: Math.round(delay), err: (err as Error).message, db: db.describe }, 'database unreachable, retrying');
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
