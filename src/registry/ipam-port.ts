/**
 * How the registry's Marathon sync hands what it saw to IPAM (docs/ipam.md "Reconciliation with Marathon").
 * The IPAM side implements it over its tables; the sync calls it only after a snapshot that was
 * fetched successfully and was not held (never from an empty or failed Marathon answer).
 */

/** A fixed IP an app is configured with (`berth.ip` or Docker `--ip`), whether or not it carries `berth.domain`. */
export interface FixedIpUse {
  appId: string;
  ip: string;
  /** At least one task is TASK_RUNNING (the address is on the wire now). */
  running: boolean;
}

/** Outcome of recording one fixed-IP use. */
export interface ClaimOutcome {
  appId: string;
  ip: string;
  /** `claimed`: recorded now; `existing`: already this app's; `conflict`: the pool says another owner; `outside`: in no pool. */
  result: 'claimed' | 'existing' | 'conflict' | 'outside';
  pool?: string;
  /** For `conflict`: the app the pool has it allocated to. */
  owner?: string;
  message?: string;
}

/** Counts from one pool's reconciliation pass (`ipam_reconcile`, docs/ipam.md "Reconciliation with Marathon"). */
export interface ReconcileOutcome {
  marked: number;
  cleared: number;
  released: number;
}

/** Implemented by IPAM; called by `MarathonSync` after each applied snapshot. */
export interface IpamReconcilePort {
  /** Names of the pools to reconcile. */
  pools(): Promise<string[]>;
  /** Record the fixed IPs apps use (claim unknown ones, report conflicts). */
  claim(uses: FixedIpUse[], snapshotAt: Date): Promise<ClaimOutcome[]>;
  /**
   * Mark/clear/release allocations whose app is not in `liveAppIds` (every app id in Marathon's
   * answer). `snapshotAt` is taken before the fetch: allocations newer than it are never candidates.
   */
  reconcile(pool: string, liveAppIds: string[], snapshotAt: Date): Promise<ReconcileOutcome>;
}
