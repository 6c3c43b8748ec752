import type { Config } from '../config/schema';
import { connectWithRetry, type Database } from '../db/knex';
import { migrateLatest } from '../db/migrations';
import type { Logger } from '../log';
import type { Part } from './part';

export interface DatabasePartOptions {
  /** Give up on an unreachable database after this many attempts (default: keep trying). */
  attempts?: number;
  signal?: AbortSignal;
}

/** Connects (retrying while the database is unreachable) and migrates; ready while `select 1` answers. */
export function databasePart(config: Config, logger: Logger, opts: DatabasePartOptions = {}): Part<Database> {
  let db: Database | undefined;
  return {
    name: 'database',
    start: async () => {
      db = await connectWithRetry({ url: config.databaseUrl, dataDir: config.dataDir }, logger, { attempts: opts.attempts, signal: opts.signal });
      const applied = await migrateLatest(db.knex);
      logger.info({ db: db.describe, applied }, 'database ready');
      return db;
    },
    stop: async () => {
      await db?.close();
    },
    readiness: () => [
      {
        name: 'database',
        check: async () => ({
          ok:
            !!db &&
            (await db.knex.raw('select 1').then(
              () => true,
              () => false,
            )),
        }),
      },
    ],
  };
}
