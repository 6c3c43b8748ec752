import type { Knex } from 'knex';

/**
 * Registry: published services and their endpoints, the change journal consumers follow, and
 * problems. Same SQL on PostgreSQL 15 and PGlite.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table registry_services (
      app_id      text primary key,
      env         text not null,
      -- model/spec ServiceSpec: what the app asked for (domains, ports, modes, version…)
      spec        jsonb not null,
      -- when berth first published the app: "the older app keeps the domain" survives restarts
      first_seen  timestamptz not null,
      updated_at  timestamptz not null default now()
    )`);
  await knex.raw('create index registry_services_env on registry_services (env)');
  await knex.raw(`
    create table registry_endpoints (
      app_id   text not null references registry_services (app_id) on delete cascade,
      task_id  text not null,
      address  text not null,
      port     integer not null check (port between 1 and 65535),
      host     text not null,
      -- model/tasks TaskRecord, so a restarted berth keeps each task's serving decision
      task     jsonb not null,
      primary key (app_id, task_id)
    )`);
  await knex.raw(`
    create table registry_journal (
      position  bigserial primary key,
      at        timestamptz not null default now(),
      -- upsert/remove: one service changed; loaded: first snapshot; problems: problems only changed
      op        text not null check (op in ('upsert', 'remove', 'loaded', 'problems')),
      app_id    text,
      env       text,
      detail    jsonb
    )`);
  await knex.raw(`
    create table registry_problems (
      app_id   text not null,
      code     text not null,
      -- who raised it ('model' for labels and conflicts, 'ipam', 'nginx'…); each source replaces its own
      source   text not null default 'model',
      env      text,
      message  text not null,
      details  jsonb,
      since    timestamptz not null default now(),
      primary key (app_id, code)
    )`);
  await knex.raw('create index registry_problems_source on registry_problems (source)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists registry_problems');
  await knex.raw('drop table if exists registry_journal');
  await knex.raw('drop table if exists registry_endpoints');
  await knex.raw('drop table if exists registry_services');
}
