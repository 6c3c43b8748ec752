import type { Knex } from 'knex';

/*
 * Leadership among replicas sharing one database (issue 8). The advisory lock decides WHO leads;
 * these tables record it and carry the fencing epoch.
 *
 * cluster_leader is a single row that changes only at an election. `epoch` has a unique index on
 * purpose: PostgreSQL then treats it as a key column, so the election's `epoch = epoch + 1` takes
 * a FOR UPDATE row lock, which waits for every writer's `FOR KEY SHARE` fence (and makes later
 * fences with the old epoch find no row). Heartbeats live in cluster_member, not here, so that a
 * fenced writer never contends with (or, under REPEATABLE READ, fails on) a heartbeat update.
 *
 * cluster_election is the append-only history: one row per epoch, so two leaders can never share
 * one (primary key), and operators can read who led when.
 */
// One statement per query: PGlite refuses several in one (prepared) statement.
const STATEMENTS = [
  `CREATE TABLE cluster_leader (
  singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  epoch       bigint  NOT NULL UNIQUE CHECK (epoch >= 0),
  holder_id   text,
  holder_url  text,
  acquired_at timestamptz
)`,
  `INSERT INTO cluster_leader (singleton, epoch) VALUES (true, 0)`,
  `CREATE TABLE cluster_election (
  epoch      bigint PRIMARY KEY,
  holder_id  text   NOT NULL,
  holder_url text,
  elected_at timestamptz NOT NULL DEFAULT now()
)`,
  `CREATE TABLE cluster_member (
  id           text PRIMARY KEY,
  url          text,
  role         text NOT NULL CHECK (role IN ('leader', 'standby')),
  epoch        bigint,
  started_at   timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL DEFAULT now()
)`,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of STATEMENTS) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['cluster_member', 'cluster_election', 'cluster_leader']) await knex.raw(`DROP TABLE IF EXISTS ${t}`);
}
