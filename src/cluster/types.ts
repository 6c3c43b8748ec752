import type { Knex } from 'knex';

/** Why a replica stopped being the leader (also the `reason` label of the losses metric). */
export type LossReason = 'connection' | 'probe' | 'superseded' | 'stopped';

/** This replica's role. */
export type Role = 'leader' | 'standby';

/** The elected leader as recorded in `cluster_leader`. */
export interface LeaderRecord {
  epoch: number;
  holderId: string;
  holderUrl: string | null;
  acquiredAt: Date;
}

/** One replica as recorded in `cluster_member` (heartbeat written by the replica itself). */
export interface MemberRecord {
  id: string;
  url: string | null;
  role: Role;
  epoch: number | null;
  startedAt: Date;
  heartbeatAt: Date;
}

export interface LeadershipEvents {
  /** Became the leader with this fencing epoch; leader-only work may start. */
  elected: [epoch: number];
  /** No longer the leader: stop writing at once (the epoch is already fenced or about to be). */
  lost: [reason: LossReason];
}

/**
 * Exactly one writer among replicas sharing a database. Writers capture `epoch()` when they start
 * and call `assertLeader(trx, epoch)` first inside each write transaction.
 */
export interface Leadership {
  /** This replica's id (stable for the life of the process). */
  readonly id: string;
  /** When this replica (process) started. */
  readonly startedAt: Date;
  /** Where this replica's API is reached, as shown to operators (null: not announced). */
  apiUrl(): string | null;
  /** Sets the announced API URL (known only once the API listens); call before `start()`. */
  setApiUrl(url: string | null): void;
  /** Starts competing (PostgreSQL) or takes leadership at once (embedded database). */
  start(): Promise<void>;
  /** Stops competing and gives leadership up (emits `lost('stopped')` when leading). */
  stop(): Promise<void>;
  isLeader(): boolean;
  role(): Role;
  /** The fencing epoch while leader, else null. */
  epoch(): number | null;
  /** When this replica last became leader, else null. */
  leaderSince(): Date | null;
  /**
   * The fence: inside a write transaction, throws BerthError NOT_LEADER unless this replica leads
   * in `epoch` (default: the current one), and holds a lock that keeps the next election waiting
   * until the transaction ends. Returns the epoch.
   */
  assertLeader(trx: Knex.Transaction, epoch?: number | null): Promise<number>;
  on<E extends keyof LeadershipEvents>(event: E, listener: (...args: LeadershipEvents[E]) => void): this;
  once<E extends keyof LeadershipEvents>(event: E, listener: (...args: LeadershipEvents[E]) => void): this;
  off<E extends keyof LeadershipEvents>(event: E, listener: (...args: LeadershipEvents[E]) => void): this;
}

/** How current a replica's registry view is compared with the journal in the database. */
export interface JournalLag {
  /** Journal position this replica's view is at (null until the first check). */
  position: number | null;
  /** The database's journal head at the last successful check (null until then). */
  head: number | null;
  /** Positions the view was behind the head at the last successful check. */
  behind: number | null;
  /** Seconds since the view was last confirmed equal to the database head (grows while catch-up fails). */
  ageSeconds: number;
  /** The bound on `ageSeconds` beyond which the view is not fresh. */
  maxLagSeconds: number;
  fresh: boolean;
}
