import type { Knex } from 'knex';
import * as m001 from '../../migrations/001_ipam';
import * as m002 from '../../migrations/002_registry';
import * as m003 from '../../migrations/003_nginx_sync';
import * as m004 from '../../migrations/004_cluster';
import * as m005 from '../../migrations/005_journal_writer';
import * as m006 from '../../migrations/006_ipam_event_retention';
import * as m007 from '../../migrations/007_registry_app_index';
import * as m008 from '../../migrations/008_registry_endpoints_no_fk';
import * as m009 from '../../migrations/009_registry_journal_notify';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

// Listed statically so the same code runs from TypeScript (tests, tsx) and from dist/ (npm bin).
const MIGRATIONS: Record<string, Migration> = {
  '001_ipam': m001,
  '002_registry': m002,
  '003_nginx_sync': m003,
  '004_cluster': m004,
  '005_journal_writer': m005,
  '006_ipam_event_retention': m006,
  '007_registry_app_index': m007,
  '008_registry_endpoints_no_fk': m008,
  '009_registry_journal_notify': m009,
};

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name],
};

const CONFIG: Knex.MigratorConfig = { migrationSource: source, tableName: 'berth_migrations' };

/** Runs pending migrations; idempotent. Returns the names applied now. */
export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest(CONFIG)) as [number, string[]];
  return applied;
}

/** Names of migrations not yet applied. */
export async function pendingMigrations(knex: Knex): Promise<string[]> {
  const [, pending] = (await knex.migrate.list(CONFIG)) as [unknown, Array<string | { file: string }>];
  return pending.map((p) => (typeof p === 'string' ? p : p.file));
}
