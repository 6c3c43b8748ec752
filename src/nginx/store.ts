import type { Problem } from '../model/types';

export type SyncTrigger = 'interval' | 'forced' | 'release' | 'retry';
/** `applied`: files changed (and reloaded if a reload command is set); `unchanged`: disk already matched. */
export type SyncStatus = 'applied' | 'unchanged' | 'held' | 'failed';

/** One recorded sync run (API: `GET /v1/sync/runs`). */
export interface SyncRun {
  id?: number;
  startedAt: string;
  finishedAt: string;
  trigger: SyncTrigger;
  status: SyncStatus;
  /** Registry journal position the run rendered. */
  position: number;
  filesWritten: number;
  filesRemoved: number;
  reloaded: boolean;
  /** Output of the failed test (or reload) command. */
  testOutput: string | null;
  heldReason: string | null;
  error: string | null;
  /** Services rejected by `nginx -t` in this run, excluded until their definition changes. */
  offenders: Array<{ env: string; appId: string }>;
}

/** Where sync runs are kept. */
export interface SyncRunStore {
  record(run: SyncRun): Promise<SyncRun>;
  /** Newest first; `beforeId` pages backwards. */
  list(opts: { limit: number; beforeId?: number }): Promise<SyncRun[]>;
  /** Deletes all but the newest `keep` runs. */
  prune?(keep: number): Promise<number>;
}

/** Runs kept in memory (unit tests, `render --dry-run`), newest `max` only. */
export class InMemorySyncRunStore implements SyncRunStore {
  private runs: SyncRun[] = [];
  private nextId = 1;
  constructor(private readonly max = 1000) {}

  async record(run: SyncRun): Promise<SyncRun> {
    const stored = { ...run, id: this.nextId++ };
    this.runs.push(stored);
    if (this.runs.length > this.max) this.runs.shift();
    return stored;
  }

  async list(opts: { limit: number; beforeId?: number }): Promise<SyncRun[]> {
    const older = this.runs.filter((r) => opts.beforeId === undefined || (r.id as number) < opts.beforeId);
    return older.reverse().slice(0, opts.limit);
  }
}

/** Where the sync puts the Nginx problems: the whole current set at once (one path, see `leaderProblemSink`). */
export interface ProblemSink {
  replace(problems: readonly Problem[]): Promise<void>;
}

export interface LeaderProblemSinkOptions {
  registry: { setProblems(source: string, problems: Problem[]): Promise<void> };
  /** Only the leader writes the registry (default: always, for a single process without leadership). */
  isLeader?: () => boolean;
}

/**
 * The registry's problems under the source `nginx`, written by the leader only: a standby's
 * registry is read-only, so it keeps the latest set (its own Nginx found them) and `publish()`
 * writes it once this replica is elected.
 */
export function leaderProblemSink(o: LeaderProblemSinkOptions): ProblemSink & { publish(): Promise<void> } {
  let latest: Problem[] = [];
  const publish = () => ((o.isLeader?.() ?? true) ? o.registry.setProblems('nginx', latest) : Promise.resolve());
  return {
    replace: async (problems) => {
      latest = [...problems];
      await publish();
    },
    publish,
  };
}

/** A ProblemSink keeping the current problems in a map keyed `code appId` (tests, dry runs). */
export class InMemoryProblemSink implements ProblemSink {
  readonly problems = new Map<string, Problem>();
  async replace(problems: readonly Problem[]): Promise<void> {
    this.problems.clear();
    for (const p of problems) this.problems.set(`${p.code} ${p.appId}`, p);
  }
}
