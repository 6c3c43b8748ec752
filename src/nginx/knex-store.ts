import type { Knex } from 'knex';
import type { SyncRun, SyncRunStore } from './store';

const TABLE = 'sync_run';

interface Row {
  id: number;
  started_at: Date | string;
  finished_at: Date | string;
  trigger: string;
  status: string;
  position: number | string;
  files_written: number;
  files_removed: number;
  reloaded: boolean;
  test_output: string | null;
  held_reason: string | null;
  error: string | null;
  offenders: unknown;
}

const iso = (v: Date | string) => (v instanceof Date ? v.toISOString() : new Date(v).toISOString());

function fromRow(r: Row): SyncRun {
  const offenders = typeof r.offenders === 'string' ? JSON.parse(r.offenders) : r.offenders;
  return {
    id: Number(r.id),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    trigger: r.trigger as SyncRun['trigger'],
    status: r.status as SyncRun['status'],
    position: Number(r.position),
    filesWritten: r.files_written,
    filesRemoved: r.files_removed,
    reloaded: r.reloaded,
    testOutput: r.test_output,
    heldReason: r.held_reason,
    error: r.error,
    offenders: Array.isArray(offenders) ? offenders : [],
  };
}

/** Sync runs in the `sync_run` table (migration 003). */
export class KnexSyncRunStore implements SyncRunStore {
  constructor(private readonly knex: Knex) {}

  async record(run: SyncRun): Promise<SyncRun> {
    const [row] = await this.knex<Row>(TABLE)
      .insert({
        started_at: run.startedAt,
        finished_at: run.finishedAt,
        trigger: run.trigger,
        status: run.status,
        position: run.position,
        files_written: run.filesWritten,
        files_removed: run.filesRemoved,
        reloaded: run.reloaded,
        test_output: run.testOutput,
        held_reason: run.heldReason,
        error: run.error,
        offenders: JSON.stringify(run.offenders),
      } as Partial<Row>)
      .returning('*');
    return fromRow(row as Row);
  }

  async list(opts: { limit: number; beforeId?: number }): Promise<SyncRun[]> {
    const q = this.knex<Row>(TABLE).select('*').orderBy('id', 'desc').limit(opts.limit);
    if (opts.beforeId !== undefined) q.where('id', '<', opts.beforeId);
    return ((await q) as Row[]).map(fromRow);
  }

  /** Deletes all but the newest `keep` runs; returns how many were deleted. */
  async prune(keep: number): Promise<number> {
    const cutoff = await this.knex(TABLE).select('id').orderBy('id', 'desc').offset(keep).limit(1).first();
    if (!cutoff) return 0;
    // `returning` because knex-pglite reports a delete's count differently from pg.
    const deleted = await this.knex(TABLE).where('id', '<=', cutoff.id).delete().returning('id');
    return deleted.length;
  }
}
