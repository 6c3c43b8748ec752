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

/**
 * How the sync reports a service Nginx cannot take (the registry implements it over its problems
 * table). `clear` is called when the service goes out fine again or disappears.
 */
export interface ProblemSink {
  raise(p: Problem): Promise<void>;
  clear(code: string, appId: string): Promise<void>;
  /**
   * Optional: replace every Nginx problem at once. When present it is used instead of raise/clear
   * (first on start, so problems left by a previous process are cleared too).
   */
  replaceAll?(problems: Problem[]): Promise<void>;
}

/** A ProblemSink over the registry's `setProblems(source, problems)` under the source `nginx`. */
export function registryProblemSink(registry: { setProblems(source: string, problems: Problem[]): Promise<void> }): ProblemSink {
  const current = new Map<string, Problem>();
  const push = () => registry.setProblems('nginx', [...current.values()]);
  return {
    raise: async (p) => {
      current.set(`${p.code} ${p.appId}`, p);
      await push();
    },
    clear: async (code, appId) => {
      if (current.delete(`${code} ${appId}`)) await push();
    },
    replaceAll: async (problems) => {
      current.clear();
      for (const p of problems) current.set(`${p.code} ${p.appId}`, p);
      await push();
    },
  };
}

/** A ProblemSink keeping the current problems in a map (tests, dry runs). */
export class InMemoryProblemSink implements ProblemSink {
  readonly problems = new Map<string, Problem>();
  async raise(p: Problem): Promise<void> {
    this.problems.set(`${p.code} ${p.appId}`, p);
  }
  async clear(code: string, appId: string): Promise<void> {
    this.problems.delete(`${code} ${appId}`);
  }
}
