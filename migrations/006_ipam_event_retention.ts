import type { Knex } from 'knex';

/*
 * Audit retention (issue 16): the IPAM audit trail grew without bound (122k rows in 3 minutes of
 * churn). It stays append-only for everyone except the leader's pruning job, which deletes the
 * oldest rows in short batches after `set_config('berth.ipam_event_prune', 'on', true)` in the
 * same transaction (transaction-local, so it cannot leak to other work on a pooled connection).
 * UPDATE and TRUNCATE stay refused. This guards against mistakes, not against someone with SQL
 * access, which it never did.
 *
 * No index on `at`: rows are pruned oldest-first by primary key (ids follow insertion order, and
 * `at` is the inserting transaction's start), so each batch reads the head of the primary key and
 * the allocation hot path keeps writing one index.
 */
const PRUNABLE = `
CREATE OR REPLACE FUNCTION ipam_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('berth.ipam_event_prune', true) = 'on' THEN RETURN OLD; END IF;
  RAISE EXCEPTION 'ipam_event is append-only (% refused)', TG_OP USING ERRCODE = 'BE403';
END $$`;

const APPEND_ONLY = `
CREATE OR REPLACE FUNCTION ipam_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ipam_event is append-only (% refused)', TG_OP USING ERRCODE = 'BE403';
END $$`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(PRUNABLE.trim());
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(APPEND_ONLY.trim());
}
