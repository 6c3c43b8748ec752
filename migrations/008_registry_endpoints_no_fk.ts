import type { Knex } from 'knex';

/*
 * Drops the foreign key from registry_endpoints to registry_services. PostgreSQL checks it row by
 * row: the 30,000 endpoint rows of a 10,000-app first snapshot took about twice as long with it, and
 * every task event paid one lookup per endpoint row. It guarded nothing the store does not do
 * itself: every write replaces a service's endpoints in the same transaction as the service, and a
 * removal deletes the endpoints by key before the service (src/registry/store.ts). Readers join
 * endpoints to services, so even a stray endpoint row would publish nothing.
 */
export async function up(knex: Knex): Promise<void> {
  // The name PostgreSQL gave the inline `references` of migration 002 (the same on PGlite).
  await knex.raw('ALTER TABLE registry_endpoints DROP CONSTRAINT IF EXISTS registry_endpoints_app_id_fkey');
}

export async function down(knex: Knex): Promise<void> {
  // Orphans (possible only without the constraint) would make the restore fail: remove them first.
  await knex.raw('DELETE FROM registry_endpoints e WHERE NOT EXISTS (SELECT 1 FROM registry_services s WHERE s.app_id = e.app_id)');
  await knex.raw(
    'ALTER TABLE registry_endpoints ADD CONSTRAINT registry_endpoints_app_id_fkey FOREIGN KEY (app_id) REFERENCES registry_services (app_id) ON DELETE CASCADE',
  );
}
