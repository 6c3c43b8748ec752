/**
 * The registry tables (migration 002) behind knex. One `write` = one transaction: services and
 * endpoints change, journal rows are appended, problems are raised/cleared, all or nothing. A
 * write of task events alone is one statement instead, as atomic and fenced (endpoint-write.ts).
 * Bulk rows travel as one JSON parameter (`jsonb_to_recordset`): one round trip however many rows,
 * and no 65535-parameter limit.
 */
import type { Knex } from 'knex';
import { serviceWith } from '../model/endpoints';
import { appIdOfKey, serviceKey } from '../model/service-key';
import type { ServiceSpec } from '../model/spec';
import type { TaskRecord } from '../model/tasks';
import type { Endpoint, Problem, Service } from '../model/types';
import { endpointsOnly, writeEndpointsOnly } from './endpoint-write';
import {
  CHUNK,
  chunks,
  ENDPOINT_RECORD,
  endpointRows,
  JOURNAL_RECORD,
  journalFenced,
  journalRows,
  LEADER_ROW,
  rowsOf,
  serviceRows,
  type JournalRow,
} from './store-rows';

/** A service as stored: the spec it came from, its endpoints with their task records. */
export interface StoredService {
  spec: ServiceSpec;
  service: Service;
  /** Task record per endpoint task id (restores serving decisions after a restart). */
  tasks: TaskRecord[];
  firstSeen: number;
  /** False when only endpoints changed (task events): the stored spec row is left alone. */
  specChanged?: boolean;
}

/** A problem with the source that owns it. */
export interface StoredProblem extends Problem {
  source: string;
  since: string;
}

/** Everything `load` returns. */
export interface StoredState {
  position: number;
  services: StoredService[];
  problems: StoredProblem[];
}

/** What `loadSince` read: the journal's position, the services named after the given one, every problem. */
export interface StoredDelta {
  position: number;
  /** A `loaded` row was among them (the registry's first snapshot). */
  loaded: boolean;
  /** Service keys the rows name; those not in `services` publish nothing now. */
  apps: string[];
  /** Every stored service of the apps those keys belong to (a record is rebuilt from all of them). */
  services: StoredService[];
  problems: StoredProblem[];
  /** Journal rows read. */
  entries: number;
  /** Per write read (rows sharing a transaction time), seconds from that write to this read, on the database's clock. */
  ages: number[];
}

/**
 * Why a follower must read the whole state instead of the journal since its position:
 * `retention`: rows it needs were pruned; `backlog`: more rows than a full load costs;
 * `regressed`: the journal is behind the follower (a restored or replaced database);
 * `unapplicable`: a row it cannot apply (an unknown op, a change without its app).
 */
export type JournalGap = 'retention' | 'backlog' | 'regressed' | 'unapplicable';

/** Journal ops a follower applies; anything else was written by a newer berth and means a full reload. */
const KNOWN_OPS = new Set(['upsert', 'remove', 'loaded', 'problems']);

/** One transaction's worth of changes. */
export interface WriteSet {
  upserts: StoredService[];
  /** `key`: the service's `serviceKey` (absent: the app's main service, keyed by its app id). */
  removals: Array<{ appId: string; env: string; key?: string }>;
  raise: StoredProblem[];
  /** (appId, code) keys to delete. */
  clear: Array<{ appId: string; code: string }>;
  /** Append a `loaded` journal row (first successful snapshot of an empty registry). */
  markLoaded: boolean;
}

/** Who writes: the fence's answer, recorded on every journal row (cluster: leader epoch and replica id). */
export interface JournalStamp {
  epoch: number;
  writer: string;
}

/**
 * Called first in every write transaction (cluster: `leadership.assertLeader(trx)`); the stamp it
 * returns goes on the journal rows. `current`: the stamp this replica would write now, known
 * without a query (null when it does not lead), so that a task-event write can be one statement
 * fenced in itself (endpoint-write.ts); without it every write is a transaction.
 */
export interface WriteFence {
  (trx: Knex.Transaction): Promise<JournalStamp | void>;
  current?: () => JournalStamp | null;
}

// Keep this many journal rows; consumers only need recent positions (they re-read snapshots).
const JOURNAL_KEEP = 100_000;
const PRUNE_EVERY = 500;

/** Knex access to the registry tables. */
export class RegistryStore {
  private writes = 0;
  /** The last journal position this store wrote. */
  private own: number | null = null;
  private foreign = false;

  /**
   * @param fence called first in every write transaction (cluster: `leadership.assertLeader(trx)`),
   *   so a replica that lost leadership can never commit a registry write. The stamp it returns is
   *   written on the journal rows, whose insert is fenced again (see `insertJournal`).
   */
  constructor(
    private readonly knex: Knex,
    private readonly fence?: WriteFence,
  ) {}

  /** Read the whole published state (start-up, or a follower too far behind to catch up by the journal). */
  async load(): Promise<StoredState> {
    return this.knex.transaction(async (trx) => {
      await trx.raw('set transaction isolation level repeatable read');
      const [posRow] = await trx('registry_journal').max({ p: 'position' });
      return { position: Number(posRow?.p ?? 0), services: await servicesOf(trx, null), problems: await problemsOf(trx) };
    });
  }

  /**
   * What changed after `position`, read from the journal: the apps its rows name (with their stored
   * state now; an app without one was removed) and every problem. One repeatable-read transaction,
   * so the state matches the position returned; re-reading the state (not replaying the rows) makes
   * applying it idempotent, and the whole range is applied at once, so order within it is moot.
   * A `JournalGap` when the journal cannot tell (see there).
   */
  async loadSince(position: number, limit = 10_000): Promise<StoredDelta | { gap: JournalGap; detail: string }> {
    return this.knex.transaction(async (trx) => {
      await trx.raw('set transaction isolation level repeatable read');
      const [lo] = rowsOf(await trx.raw('select min(position) as p, max(position) as hi, extract(epoch from clock_timestamp()) as now from registry_journal'));
      const [min, max] = [lo?.p, lo?.hi].map((v) => (v === null || v === undefined ? null : Number(v)));
      if (max !== null && max < position) return { gap: 'regressed', detail: `journal head ${max} is behind position ${position}` };
      if (max === null && position > 0) return { gap: 'regressed', detail: `journal is empty, position was ${position}` };
      // A writer that rolled back leaves a gap in the sequence too; only a full reload is safe either way.
      if (min !== null && min > position + 1) return { gap: 'retention', detail: `journal starts at ${min}, position is ${position}` };
      const rows: Array<{ position: unknown; op: string; app_id: string | null; at: unknown }> = await trx('registry_journal')
        .select('position', 'op', 'app_id', trx.raw('extract(epoch from at) as at'))
        .where('position', '>', position)
        .orderBy('position')
        .limit(limit + 1);
      if (rows.length > limit) return { gap: 'backlog', detail: `more than ${limit} journal rows after ${position}` };
      const bad = rows.find((r) => !KNOWN_OPS.has(r.op) || ((r.op === 'upsert' || r.op === 'remove') && !r.app_id));
      if (bad) return { gap: 'unapplicable', detail: `journal row ${String(bad.position)}: op ${JSON.stringify(bad.op)}, app ${JSON.stringify(bad.app_id)}` };
      const apps = [...new Set(rows.filter((r) => r.op === 'upsert' || r.op === 'remove').map((r) => r.app_id as string))];
      return {
        position: rows.reduce((m, r) => Math.max(m, Number(r.position)), position),
        loaded: rows.some((r) => r.op === 'loaded'),
        apps,
        services: apps.length > 0 ? await servicesOf(trx, apps, true) : [],
        problems: await problemsOf(trx),
        entries: rows.length,
        ages: [...new Set(rows.map((r) => Number(r.at)))].map((at) => Math.max(0, Number(lo?.now) - at)),
      };
    });
  }

  /**
   * Apply one write set in one transaction; returns the last journal position written (or null if none).
   * `after`: the position the writer's view is at; journal rows between it and this write that the
   * writer did not write itself (a previous leader's last ones) are reported by `takeForeign`.
   */
  async write(w: WriteSet, after?: number): Promise<number | null> {
    const stamp = endpointsOnly(w, CHUNK) ? this.stampNow() : undefined;
    const last = stamp !== undefined ? await this.writeEndpoints(w, stamp, after) : await this.writeAll(w, after);
    if (last !== null) this.own = last;
    if (last !== null && ++this.writes % PRUNE_EVERY === 0) {
      await this.knex('registry_journal')
        .where('position', '<', last - JOURNAL_KEEP)
        .del();
    }
    return last;
  }

  /**
   * The stamp for a one-statement write: null without a fence, the fence's `current()` with one
   * that knows it without a query; undefined when neither (the write takes the transaction path).
   */
  private stampNow(): JournalStamp | null | undefined {
    if (!this.fence) return null;
    if (!this.fence.current) return undefined;
    return this.fence.current() ?? undefined;
  }

  /** Task events: one statement, fenced in itself (endpoint-write.ts), the foreign check after it. */
  private async writeEndpoints(w: WriteSet, stamp: JournalStamp | null, after?: number): Promise<number | null> {
    const positions = await writeEndpointsOnly(this.knex, w, stamp);
    if (positions.length === 0) return null;
    if (await this.foreignBelow(this.knex, Math.min(...positions), after)) this.foreign = true;
    return Math.max(...positions);
  }

  /**
   * Whether journal rows lie between the writer's view (`after`, or its own last write) and the
   * first row it just wrote (`first`) that it did not write: contiguous is the rule; a gap is a
   * rolled-back write's sequence values or another writer's rows.
   */
  private async foreignBelow(q: Knex | Knex.Transaction, first: number | null, after?: number): Promise<boolean> {
    if (after === undefined || first === null) return false;
    const floor = Math.max(after, this.own ?? after);
    if (first === floor + 1) return false;
    const [n] = rowsOf(await q.raw('select count(*) as n from registry_journal where position > ? and position < ?', [floor, first]));
    return Number(n?.n) > 0;
  }

  /** Any write set, in one transaction with the fence first. */
  private async writeAll(w: WriteSet, after?: number): Promise<number | null> {
    return this.knex.transaction(async (trx) => {
      const stamp = this.fence ? await this.fence(trx) : undefined;
      // Rows are keyed by `serviceKey` (the app id for an app's main service; see model/service-key).
      const ids = [...w.upserts.map((u) => serviceKey(u.service)), ...w.removals.map((r) => r.key ?? r.appId)];
      if (ids.length > 0) {
        // Endpoints of changed services are replaced wholesale; cheaper than a per-row diff.
        await trx.raw('delete from registry_endpoints where app_id = any(?::text[])', [ids]);
      }
      if (w.removals.length > 0) {
        await trx.raw('delete from registry_services where app_id = any(?::text[])', [w.removals.map((r) => r.key ?? r.appId)]);
      }
      if (w.upserts.length > 0) {
        for (const part of chunks(serviceRows(w.upserts))) {
          await trx.raw(
            `insert into registry_services (app_id, env, spec, first_seen)
             select app_id, env, spec, first_seen from jsonb_to_recordset(?::jsonb)
               as x(app_id text, env text, spec jsonb, first_seen timestamptz)
             on conflict (app_id) do update set env = excluded.env, spec = excluded.spec, updated_at = now()`,
            [JSON.stringify(part)],
          );
        }
        for (const part of chunks(endpointRows(w.upserts))) {
          await trx.raw(
            `insert into registry_endpoints (app_id, task_id, address, port, host, task)
             select app_id, task_id, address, port, host, coalesce(task, '{}'::jsonb) from jsonb_to_recordset(?::jsonb)
               as ${ENDPOINT_RECORD}`,
            [JSON.stringify(part)],
          );
        }
      }
      const journal = journalRows(w);
      let position: number | null = null;
      let first: number | null = null;
      for (const part of chunks(journal)) {
        for (const p of await insertJournal(trx, part, stamp || null)) {
          position = Math.max(position ?? 0, p);
          first = Math.min(first ?? p, p);
        }
      }
      if (await this.foreignBelow(trx, first, after)) this.foreign = true;
      for (const part of chunks(w.clear)) {
        await trx.raw(
          `delete from registry_problems p using jsonb_to_recordset(?::jsonb) as x(app_id text, code text)
           where p.app_id = x.app_id and p.code = x.code`,
          [JSON.stringify(part.map((c) => ({ app_id: c.appId, code: c.code })))],
        );
      }
      for (const part of chunks(w.raise)) {
        const rows = part.map((p) => ({
          app_id: p.appId,
          code: p.code,
          source: p.source,
          env: p.env,
          message: p.message,
          details: p.details ?? null,
          since: p.since,
        }));
        await trx.raw(
          `insert into registry_problems (app_id, code, source, env, message, details, since)
           select app_id, code, source, env, message, details, since from jsonb_to_recordset(?::jsonb)
             as x(app_id text, code text, source text, env text, message text, details jsonb, since timestamptz)
           on conflict (app_id, code) do update set source = excluded.source, env = excluded.env,
             message = excluded.message, details = excluded.details`,
          [JSON.stringify(rows)],
        );
      }
      return position;
    });
  }

  /** Whether a write since the last call found another writer's journal rows below its own (and clears it). */
  takeForeign(): boolean {
    const f = this.foreign;
    this.foreign = false;
    return f;
  }

  /** The journal's latest position straight from the database. */
  async position(): Promise<number> {
    const [row] = await this.knex('registry_journal').max({ p: 'position' });
    return Number(row?.p ?? 0);
  }
}

/**
 * Appends journal rows stamped with the writer's epoch. Stamped rows are fenced in the statement
 * itself: they are written only while `cluster_leader` still holds that epoch for that writer (and
 * FOR KEY SHARE keeps the next election waiting until this transaction ends, as cluster/fence.ts
 * does), so even a write path that skipped the fence cannot journal under a stale epoch.
 */
async function insertJournal(trx: Knex.Transaction, rows: JournalRow[], stamp: JournalStamp | null): Promise<number[]> {
  const recordset = `jsonb_to_recordset(?::jsonb) as ${JOURNAL_RECORD}`;
  const res = stamp
    ? await trx.raw(
        `with fence as (${LEADER_ROW})
         insert into registry_journal (op, app_id, env, detail, epoch, writer)
         select x.op, x.app_id, x.env, x.detail, fence.epoch, ? from ${recordset} cross join fence
         returning position`,
        [stamp.epoch, stamp.writer, stamp.writer, JSON.stringify(rows)],
      )
    : await trx.raw(`insert into registry_journal (op, app_id, env, detail) select op, app_id, env, detail from ${recordset} returning position`, [
        JSON.stringify(rows),
      ]);
  const positions = rowsOf(res).map((r) => Number(r.position));
  if (stamp && positions.length < rows.length) throw journalFenced(stamp);
  return positions;
}

/**
 * Stored services (all, or those of the service keys `ids`) with their endpoints and task records.
 * `siblings`: also every other service of the same apps (keys `<appId>#<port>`).
 */
async function servicesOf(q: Knex | Knex.Transaction, ids: string[] | null, siblings = false): Promise<StoredService[]> {
  const apps = ids && siblings ? [...new Set(ids.map(appIdOfKey))] : null;
  const services = await (
    !ids
      ? q('registry_services')
      : apps
        ? // Every key's app is in `apps`: one condition, which the expression index (migration 007) serves.
          q('registry_services').whereRaw(`split_part(app_id, '#', 1) = any(?::text[])`, [apps])
        : q('registry_services').whereRaw('app_id = any(?::text[])', [ids])
  ).select('app_id', 'spec', 'first_seen');
  // Endpoints by the exact keys found: their primary key serves it.
  const keys = services.map((r: { app_id: string }) => r.app_id);
  const endpoints = await (ids ? q('registry_endpoints').whereRaw('app_id = any(?::text[])', [keys]) : q('registry_endpoints')).select(
    'app_id',
    'task_id',
    'address',
    'port',
    'host',
    'task',
  );
  const byApp = new Map<string, Array<{ e: Endpoint; t: TaskRecord }>>();
  for (const r of endpoints) {
    const list = byApp.get(r.app_id) ?? [];
    list.push({ e: { taskId: r.task_id, address: r.address, port: Number(r.port), host: r.host }, t: json<TaskRecord>(r.task) });
    byApp.set(r.app_id, list);
  }
  return services.map((r: { app_id: string; spec: unknown; first_seen: string | Date }) => {
    const spec = json<ServiceSpec>(r.spec);
    const eps = (byApp.get(r.app_id) ?? []).sort((a, b) => (a.e.taskId < b.e.taskId ? -1 : 1));
    return {
      spec,
      service: serviceWith(
        spec,
        eps.map((x) => x.e),
      ),
      tasks: eps.map((x) => x.t),
      firstSeen: new Date(r.first_seen).getTime(),
    };
  });
}

async function problemsOf(q: Knex | Knex.Transaction): Promise<StoredProblem[]> {
  const problems = await q('registry_problems').select('*');
  return problems.map((r) => ({
    code: r.code,
    appId: r.app_id,
    env: r.env,
    message: r.message,
    ...(r.details ? { details: json<Record<string, unknown>>(r.details) } : {}),
    source: r.source,
    since: new Date(r.since).toISOString(),
  }));
}

// pg returns parsed jsonb; be tolerant of drivers that hand back strings.
function json<T>(v: unknown): T {
  return (typeof v === 'string' ? JSON.parse(v) : v) as T;
}
