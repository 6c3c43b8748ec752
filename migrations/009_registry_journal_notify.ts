import type { Knex } from 'knex';

/*
 * Standby replicas LISTEN on `berth_journal` to re-read the journal at once instead of at their
 * next poll. The leader used to send that NOTIFY itself, one more statement after every commit (at
 * 200 task events a second, one round trip in seven). A statement trigger on the journal sends it
 * inside the writing transaction instead: PostgreSQL delivers it at commit, never for a write
 * that rolls back, and no write path can forget it. The payload is the newest position the
 * statement appended.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION berth_journal_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('berth_journal', (SELECT max(position) FROM appended)::text);
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE TRIGGER registry_journal_notify AFTER INSERT ON registry_journal
    REFERENCING NEW TABLE AS appended FOR EACH STATEMENT EXECUTE FUNCTION berth_journal_notify()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS registry_journal_notify ON registry_journal');
  await knex.raw('DROP FUNCTION IF EXISTS berth_journal_notify()');
}
