/**
 * IPAM audit retention (issue 16): the leader prunes `ipam_event` by age and by row count, oldest
 * first, in short batches (one small transaction each, so no long locks and no long pause for the
 * allocations writing to the same table). Only the leader prunes: one replica doing it is enough,
 * and several would only contend for the same rows.
 */
import type { Knex } from 'knex';
import { Counter, type Registry } from 'prom-client';
import { whileLeader } from '../cluster/while-leader';
import type { Leadership } from '../cluster/types';
import type { Logger } from '../log';

export interface AuditRetention {
  /** Rows older than this many days go; 0: no age limit. */
  days: number;
  /** At most this many rows are kept; 0: no row limit. */
  maxRows: number;
}

export interface PruneOptions {
  /** Rows per transaction (default 5,000). */
  batch?: number;
  /** Batches per run (default 200: one run removes at most 1,000,000 rows; the next run goes on). */
  maxBatches?: number;
  signal?: AbortSignal;
}

export interface PruneResult {
  byAge: number;
  byCount: number;
}

const BATCH = 5000;
const MAX_BATCHES = 200;
export const RETENTION_INTERVAL_MS = 60_000;

// The trigger of migration 006 lets DELETE through only with this transaction-local setting.
const ALLOW = "SELECT set_config('berth.ipam_event_prune', 'on', true)";
// The head of the primary key: the oldest rows, read through the index, never a table scan.
const BY_AGE = `WITH head AS (SELECT id, at FROM ipam_event ORDER BY id LIMIT ?),
  d AS (DELETE FROM ipam_event e USING head WHERE e.id = head.id AND head.at < now() - make_interval(days => ?) RETURNING 1)
  SELECT count(*)::int AS n FROM d`;
const UP_TO = `WITH head AS (SELECT id FROM ipam_event WHERE id <= ? ORDER BY id LIMIT ?),
  d AS (DELETE FROM ipam_event e USING head WHERE e.id = head.id RETURNING 1)
  SELECT count(*)::int AS n FROM d`;

async function deleteBatch(knex: Knex, sql: string, args: Knex.RawBinding[], signal?: AbortSignal): Promise<number> {
  return knex.transaction(async (trx) => {
    await trx.raw(ALLOW);
    // Leadership may have gone while the transaction was being opened: a deposed leader issues no
    // DELETE. (One already sent runs on a snapshot taken before anything written after the loss.)
    if (signal?.aborted) return 0;
    const { rows } = await trx.raw(sql, args);
    return Number(rows[0].n);
  });
}

/** Repeats `batch()` while it removes full batches, up to `max` times; returns rows removed. */
async function drain(batch: () => Promise<number>, size: number, max: number, signal?: AbortSignal): Promise<number> {
  let total = 0;
  for (let i = 0; i < max && !signal?.aborted; i++) {
    const n = await batch();
    total += n;
    if (n < size) break;
    await new Promise((r) => setImmediate(r)); // let other work between batches
  }
  return total;
}

/** One pruning pass: by age first, then down to `maxRows`. */
export async function pruneAudit(knex: Knex, retention: AuditRetention, opts: PruneOptions = {}): Promise<PruneResult> {
  const size = opts.batch ?? BATCH;
  const max = opts.maxBatches ?? MAX_BATCHES;
  let byAge = 0;
  let byCount = 0;
  if (retention.days > 0) {
    byAge = await drain(() => deleteBatch(knex, BY_AGE, [size, retention.days], opts.signal), size, max, opts.signal);
  }
  if (retention.maxRows > 0 && !opts.signal?.aborted) {
    // Cheap upper bound first (two index lookups): ids are dense but for rolled-back inserts.
    const { rows: span } = await knex.raw('SELECT max(id) - min(id) + 1 AS n FROM ipam_event');
    if (Number(span[0].n ?? 0) > retention.maxRows) {
      const { rows } = await knex.raw('SELECT id FROM ipam_event ORDER BY id DESC OFFSET ? LIMIT 1', [retention.maxRows]);
      if (rows.length) {
        const last = Number(rows[0].id);
        byCount = await drain(() => deleteBatch(knex, UP_TO, [last, size], opts.signal), size, max, opts.signal);
      }
    }
  }
  return { byAge, byCount };
}

export interface AuditRetentionOptions {
  knex: Knex;
  leadership: Leadership;
  logger: Logger;
  metricsRegistry: Registry;
  retention: AuditRetention;
  /** Between passes (default 60 s; the first pass runs on election). */
  intervalMs?: number;
  prune?: PruneOptions;
}

function counter(registry: Registry, name: string, help: string, labelNames: string[] = []): Counter<string> {
  return (registry.getSingleMetric(name) as Counter<string> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

/** Prunes the audit trail every `intervalMs` while this replica leads; returns the function that stops it. */
export function startAuditRetention(o: AuditRetentionOptions): () => Promise<void> {
  const log = o.logger.child({ component: 'ipam-retention' });
  if (o.retention.days === 0 && o.retention.maxRows === 0) {
    log.info('IPAM audit retention is off (BERTH_AUDIT_RETENTION_DAYS=0 and BERTH_AUDIT_MAX_ROWS=0): the audit trail grows without bound');
    return async () => undefined;
  }
  const pruned = counter(o.metricsRegistry, 'berth_ipam_audit_pruned_rows_total', 'IPAM audit rows removed by retention, by reason (age, rows)', ['reason']);
  const failures = counter(o.metricsRegistry, 'berth_ipam_audit_prune_failures_total', 'IPAM audit retention passes that failed (retried next interval)');
  const interval = o.intervalMs ?? RETENTION_INTERVAL_MS;

  return whileLeader(o.leadership, 'audit-retention', o.logger, async (_epoch, signal) => {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> = Promise.resolve();
    const pass = async () => {
      const t0 = Date.now();
      try {
        const r = await pruneAudit(o.knex, o.retention, { ...o.prune, signal });
        pruned.inc({ reason: 'age' }, r.byAge);
        pruned.inc({ reason: 'rows' }, r.byCount);
        if (r.byAge || r.byCount) log.info({ ...r, ms: Date.now() - t0, retention: o.retention }, 'ipam audit pruned');
      } catch (err) {
        failures.inc();
        log.warn({ err: (err as Error).message }, 'ipam audit pruning failed; retrying next interval');
      }
    };
    const tick = () => {
      running = pass().finally(() => {
        if (!stopped && !signal.aborted) timer = setTimeout(tick, interval);
      });
    };
    tick();
    return async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    };
  });
}
