/**
 * The rows a registry write sends (one rule for the transaction path in store.ts and the
 * one-statement path in endpoint-write.ts): endpoint, service and journal rows, in parts.
 */
import { BerthError } from '../errors';
import { serviceKey } from '../model/service-key';
import type { ServiceSpec } from '../model/spec';
import type { JournalStamp, StoredService, WriteSet } from './store';

/**
 * The leader row as the writer's stamp (epoch, replica id) expects it, locked FOR KEY SHARE: no row
 * when another replica leads or a later epoch began, and the next election waits for the lock.
 * Every stamped journal insert joins it (store.ts, endpoint-write.ts). Parameters: epoch, writer.
 */
export const LEADER_ROW = 'select epoch from cluster_leader where epoch = ? and holder_id = ? for key share';

/** `jsonb_to_recordset(…) as <this>`: the journal rows' columns as sent. */
export const JOURNAL_RECORD = 'x(op text, app_id text, env text, detail jsonb)';

/** `jsonb_to_recordset(…) as <this>`: the endpoint rows' columns as sent (`endpointRows`). */
export const ENDPOINT_RECORD = 'x(app_id text, task_id text, address text, port integer, host text, task jsonb)';

/** The failure of a stamped write whose leader row no longer matches. */
export function journalFenced(stamp: JournalStamp): BerthError {
  return new BerthError('NOT_LEADER', `fenced: ${stamp.writer} no longer leads in epoch ${stamp.epoch}; journal write refused`, { ...stamp });
}

/** A `registry_journal` row before it is written. */
export interface JournalRow {
  op: string;
  app_id: string | null;
  env: string | null;
  detail: unknown;
}

/** The journal rows of a write: one per changed or removed service, `loaded`, or one `problems` row for a problem-only write. */
export function journalRows(w: WriteSet): JournalRow[] {
  const journal: JournalRow[] = [
    ...w.upserts.map((u) => ({
      op: 'upsert',
      app_id: serviceKey(u.service),
      env: u.service.env,
      detail: { endpoints: u.service.endpoints.length, version: u.service.version },
    })),
    ...w.removals.map((r) => ({ op: 'remove', app_id: r.key ?? r.appId, env: r.env, detail: null })),
    ...(w.markLoaded ? [{ op: 'loaded', app_id: null, env: null, detail: null }] : []),
  ];
  // Problem-only writes still move the journal, so standby replicas re-read them.
  if (journal.length === 0 && w.raise.length + w.clear.length > 0) {
    journal.push({ op: 'problems', app_id: null, env: null, detail: { raised: w.raise.length, cleared: w.clear.length } });
  }
  return journal;
}

// Rows per statement: few round trips, but a bounded parameter (PGlite copies it into WASM memory,
// which never shrinks; 30,000 rows at once grew it by ~200 MB), and rows built and serialised a
// statement at a time, each a few ms of the event loop (5,000 endpoint rows took 30-50 ms).
export const CHUNK = 1000;

export function* chunks<T>(rows: Iterable<T>): Generator<T[]> {
  let part: T[] = [];
  for (const r of rows) {
    part.push(r);
    if (part.length === CHUNK) {
      yield part;
      part = [];
    }
  }
  if (part.length > 0) yield part;
}

/** `registry_endpoints` rows: one per endpoint, with its task record. */
export function* endpointRows(upserts: readonly StoredService[]): Generator<Record<string, unknown>> {
  for (const u of upserts) {
    const key = serviceKey(u.service);
    const byTask = new Map(u.tasks.map((t) => [t.taskId, t]));
    for (const e of u.service.endpoints) {
      yield { app_id: key, task_id: e.taskId, address: e.address, port: e.port, host: e.host, task: byTask.get(e.taskId) ?? null };
    }
  }
}

export function rowsOf(res: unknown): Array<Record<string, unknown>> {
  const r = res as { rows?: Array<Record<string, unknown>> } | Array<Record<string, unknown>>;
  return Array.isArray(r) ? r : (r.rows ?? []);
}

/** `registry_services` rows of the upserts whose spec changed. */
export function* serviceRows(upserts: readonly StoredService[]): Generator<{ app_id: string; env: string; spec: ServiceSpec; first_seen: string }> {
  for (const u of upserts) {
    if (u.specChanged === false) continue;
    yield { app_id: serviceKey(u.service), env: u.service.env, spec: u.spec, first_seen: new Date(u.firstSeen).toISOString() };
  }
}
