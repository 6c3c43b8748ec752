/**
 * A task-event write as one statement.
 *
 * At 200 task events a second the registry commits about 170 writes a second, each a service or
 * two whose endpoints changed. As a transaction that is six round trips to the database (BEGIN,
 * the fence, delete the endpoints, insert them, the journal rows, COMMIT), and the writer was busy
 * three quarters of the time, so an event that arrived during a write waited for it, and queued
 * behind others, for tens of milliseconds. One statement is one round trip and commits on its own:
 *
 * - The fence is in the statement: the leader row is read FOR KEY SHARE with the writer's epoch and
 *   id (as the transaction's fence and the journal insert do), every change joins it, so a replica
 *   that no longer leads changes nothing, and the next election waits for the statement to end.
 * - The endpoints of the changed services are upserted and those no longer present deleted; the
 *   two touch different rows, so neither sees the other (all parts of one statement share one
 *   snapshot). Rows whose values did not change are left alone.
 * - The journal rows are appended with their positions returned, as in the transaction path.
 *
 * Only writes that change endpoints alone take this path (`endpointsOnly`); anything else (a spec,
 * a removal, problems, the first snapshot) is a transaction in store.ts.
 */
import type { Knex } from 'knex';
import type { JournalStamp, WriteSet } from './store';
import { ENDPOINT_RECORD, endpointRows, JOURNAL_RECORD, journalFenced, journalRows, LEADER_ROW, rowsOf } from './store-rows';

/** Whether `w` changes only the endpoints of services whose spec is unchanged, in at most `max` rows per table. */
export function endpointsOnly(w: WriteSet, max: number): boolean {
  if (w.upserts.length === 0 || w.upserts.length > max) return false;
  if (w.removals.length + w.raise.length + w.clear.length > 0 || w.markLoaded) return false;
  let endpoints = 0;
  for (const u of w.upserts) {
    if (u.specChanged !== false) return false;
    endpoints += u.service.endpoints.length;
  }
  return endpoints <= max;
}

/**
 * `fence` yields the epoch to stamp on the journal rows: the leader row when fenced (no row: no
 * longer the leader, nothing happens), a null epoch without a fence.
 */
function statement(fence: string): string {
  return `with fence as (${fence}),
    rows as (select * from jsonb_to_recordset(?::jsonb) as ${ENDPOINT_RECORD}),
    gone as (
      delete from registry_endpoints e using fence
      where e.app_id = any(?::text[])
        and not exists (select 1 from rows r where r.app_id = e.app_id and r.task_id = e.task_id)),
    put as (
      insert into registry_endpoints as e (app_id, task_id, address, port, host, task)
      select r.app_id, r.task_id, r.address, r.port, r.host, coalesce(r.task, '{}'::jsonb) from rows r cross join fence
      on conflict (app_id, task_id) do update
        set address = excluded.address, port = excluded.port, host = excluded.host, task = excluded.task
        where (e.address, e.port, e.host, e.task) is distinct from (excluded.address, excluded.port, excluded.host, excluded.task)),
    journal as (
      insert into registry_journal (op, app_id, env, detail, epoch, writer)
      select x.op, x.app_id, x.env, x.detail, fence.epoch, ? from jsonb_to_recordset(?::jsonb) as ${JOURNAL_RECORD} cross join fence
      returning position)
    select position from journal`;
}

const FENCED = statement(LEADER_ROW);
const UNFENCED = statement('select null::bigint as epoch');

/**
 * Writes an `endpointsOnly` set in one statement; returns the journal positions written. A stamp
 * that no longer leads writes nothing and throws NOT_LEADER, as the transaction path does.
 */
export async function writeEndpointsOnly(knex: Knex, w: WriteSet, stamp: JournalStamp | null): Promise<number[]> {
  const journal = journalRows(w);
  const keys = journal.map((j) => j.app_id as string);
  const data = [JSON.stringify([...endpointRows(w.upserts)]), keys, stamp?.writer ?? null, JSON.stringify(journal)];
  const res = stamp ? await knex.raw(FENCED, [stamp.epoch, stamp.writer, ...data]) : await knex.raw(UNFENCED, data);
  const positions = rowsOf(res).map((r) => Number(r.position));
  if (stamp && positions.length === 0) throw journalFenced(stamp);
  return positions;
}
