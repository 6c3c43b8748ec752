import type { Knex } from 'knex';

/*
 * Who wrote each journal row (issue 8): `epoch` is the fencing epoch of the leader that wrote it and
 * `writer` that replica's id. With them the journal itself shows that every epoch had one writer
 * and that a deposed leader wrote nothing after its successor began. Rows written before this
 * migration (or by a registry without a fence) keep both null.
 */
// One statement per query: PGlite refuses several in one (prepared) statement.
const STATEMENTS = ['ALTER TABLE registry_journal ADD COLUMN epoch bigint', 'ALTER TABLE registry_journal ADD COLUMN writer text'];

export async function up(knex: Knex): Promise<void> {
  for (const sql of STATEMENTS) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE registry_journal DROP COLUMN IF EXISTS writer');
  await knex.raw('ALTER TABLE registry_journal DROP COLUMN IF EXISTS epoch');
}
