import type { Knex } from 'knex';
import type pg from 'pg';
import type { LeaderRecord, MemberRecord, Role } from './types';

/** Runs one statement and returns its rows; adapts knex (embedded, reads) and the dedicated pg Client. */
export type Query = (sql: string, values?: unknown[]) => Promise<Array<Record<string, unknown>>>;

export function knexQuery(k: Knex | Knex.Transaction): Query {
  return async (sql, values = []) => ((await k.raw(sql, values as Knex.RawBinding[])) as { rows: Array<Record<string, unknown>> }).rows;
}

/**
 * Queries on the dedicated connection with a client-side deadline, so a hung server or network
 * fails the query instead of hanging. The deadline is judged after pending I/O has been read: when
 * the timer fires late because the event loop was busy (a big snapshot), an answer that already
 * arrived still counts, instead of being mistaken for a dead connection (which would depose a
 * healthy leader). Timers run before I/O in a loop turn; setImmediate runs after it.
 */
export function clientQuery(client: pg.Client, timeoutMs: number): Query {
  return (sql, values = []) => {
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`);
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(
        () =>
          setImmediate(() => {
            if (settled) return;
            settled = true;
            reject(new Error(`query on the leadership connection timed out after ${timeoutMs} ms`));
          }),
        timeoutMs,
      );
      client.query({ text, values }).then(
        (r) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(r.rows);
        },
        (err: Error) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  };
}

// One statement, so atomic on its own: bump the epoch (a key update: waits for every fence held
// in the old epoch) and append the election to the history.
const ELECT = `
WITH e AS (
  UPDATE cluster_leader SET epoch = epoch + 1, holder_id = ?, holder_url = ?, acquired_at = now()
  RETURNING epoch, holder_id, holder_url, acquired_at),
h AS (
  INSERT INTO cluster_election (epoch, holder_id, holder_url, elected_at)
  SELECT epoch, holder_id, holder_url, acquired_at FROM e)
SELECT epoch, acquired_at FROM e`;

/** Records this replica as the leader in a new epoch; returns the epoch and the election time. */
export async function elect(q: Query, id: string, url: string | null): Promise<{ epoch: number; acquiredAt: Date }> {
  const rows = await q(ELECT, [id, url]);
  if (rows.length !== 1) throw new Error('cluster_leader row missing (migration 004 not applied?)');
  return { epoch: Number(rows[0].epoch), acquiredAt: new Date(rows[0].acquired_at as string) };
}

const HEARTBEAT = `
WITH m AS (
  INSERT INTO cluster_member (id, url, role, epoch, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, now())
  ON CONFLICT (id) DO UPDATE
    SET url = excluded.url, role = excluded.role, epoch = excluded.epoch, heartbeat_at = now())
SELECT epoch FROM cluster_leader`;

export interface Self {
  id: string;
  url: string | null;
  startedAt: Date;
}

/** Writes this replica's heartbeat; returns the epoch currently recorded in cluster_leader. */
export async function heartbeat(q: Query, self: Self, role: Role, epoch: number | null): Promise<number> {
  const rows = await q(HEARTBEAT, [self.id, self.url, role, epoch, self.startedAt]);
  return Number(rows[0]?.epoch ?? 0);
}

/** Forgets replicas that have not been heard of for a day (restarted replicas get new ids). */
export async function pruneMembers(q: Query): Promise<void> {
  await q(`DELETE FROM cluster_member WHERE heartbeat_at < now() - interval '1 day'`);
}

/** The recorded leader (null before the first election) and every known replica. */
export async function readCluster(q: Query): Promise<{ leader: LeaderRecord | null; members: MemberRecord[]; now: Date }> {
  const [l] = await q('SELECT epoch, holder_id, holder_url, acquired_at, now() AS now FROM cluster_leader');
  const members = await q('SELECT id, url, role, epoch, started_at, heartbeat_at FROM cluster_member ORDER BY started_at, id');
  return {
    now: new Date((l?.now as string) ?? Date.now()),
    leader:
      l && l.holder_id
        ? { epoch: Number(l.epoch), holderId: String(l.holder_id), holderUrl: (l.holder_url as string) ?? null, acquiredAt: new Date(l.acquired_at as string) }
        : null,
    members: members.map((m) => ({
      id: String(m.id),
      url: (m.url as string) ?? null,
      role: m.role as Role,
      epoch: m.epoch === null ? null : Number(m.epoch),
      startedAt: new Date(m.started_at as string),
      heartbeatAt: new Date(m.heartbeat_at as string),
    })),
  };
}
