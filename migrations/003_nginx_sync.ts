import type { Knex } from 'knex';

// One row per Nginx sync run (docs/nginx.md "Run records": start, end, files changed, reloaded, error).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sync_run', (t) => {
    t.bigIncrements('id').primary();
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.timestamp('finished_at', { useTz: true }).notNullable();
    t.text('trigger').notNullable();
    t.text('status').notNullable();
    t.bigInteger('position').notNullable();
    t.integer('files_written').notNullable().defaultTo(0);
    t.integer('files_removed').notNullable().defaultTo(0);
    t.boolean('reloaded').notNullable().defaultTo(false);
    t.text('test_output');
    t.text('held_reason');
    t.text('error');
    t.jsonb('offenders').notNullable().defaultTo('[]');
  });
  await knex.raw(`alter table sync_run add constraint sync_run_status_check check (status in ('applied', 'unchanged', 'held', 'failed'))`);
  await knex.raw('create index sync_run_started_at_idx on sync_run (started_at desc)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('sync_run');
}
