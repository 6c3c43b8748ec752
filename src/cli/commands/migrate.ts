import { Command } from 'commander';
import { loadConfig } from '../../config/load';
import { openDatabase } from '../../db/knex';
import { migrateLatest } from '../../db/migrations';
import type { CliContext } from '../context';

/** `berth migrate`: apply pending migrations and exit (idempotent). */
export function migrateCommand(ctx: CliContext): Command {
  return new Command('migrate')
    .description('apply pending database migrations (idempotent)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig(ctx.env);
      const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
      try {
        const applied = await migrateLatest(db.knex);
        if (opts.json) ctx.out(JSON.stringify({ database: db.describe, applied }));
        else ctx.out(applied.length ? `applied ${applied.join(', ')} on ${db.describe}` : `up to date (${db.describe})`);
      } finally {
        await db.close();
      }
    });
}
