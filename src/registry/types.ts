/** Options and results of the Registry (kept apart so routes and main.ts import types only). */
import type { Knex } from 'knex';
import type { Clock } from '../clock';
import type { PoolHolderLookup, SpecOptions } from '../model/spec';
import type { Logger } from '../log';
import type { HeldStatus } from './held';
import type { RegistryMetrics } from './metrics';
import type { HostResolver } from './resolver';
import type { WriteFence } from './store';

export interface RegistryOptions {
  knex: Knex;
  logger: Logger;
  /** `BERTH_DEFAULT_ENV`. */
  defaultEnv: string;
  /** `BERTH_LABEL_PREFIX` (default `berth.`). */
  labelPrefix?: string;
  /** Reserved names, address policy, Nginx scope for the model (model/spec.ts `SpecOptions`). */
  modelPolicy?: Omit<SpecOptions, 'defaultEnv' | 'labelPrefix'>;
  /**
   * IPAM's holders of the given fixed IPs, read before every plan that parses apps (snapshot, app
   * refetch) so the pool-ownership rule sees allocations made a moment ago. Absent: not checked
   * (unless `modelPolicy.poolHolder` is set). A failure fails the plan: nothing is written.
   */
  poolHolders?: (ips: string[]) => Promise<PoolHolderLookup>;
  /** `BERTH_MAX_REMOVAL_RATIO` (default 0.5). */
  maxRemovalRatio?: number;
  clock?: Clock;
  /** Resolves agent host names for host-networked apps; default: none (IP-literal hosts only). */
  resolver?: HostResolver;
  metrics?: RegistryMetrics;
  /**
   * Least time (ms) between the starts of two event writes. Default 0: an event is written as soon
   * as the writer is free, and the events that arrive during a write go together in the next one
   * (the batch grows with the load, with no fixed wait). A positive value trades latency for fewer
   * transactions; tests use it to hold a batch open.
   */
  eventBatchMs?: number;
  /** Runs first in every write transaction; throw to refuse the write (cluster fencing). Its stamp goes on the journal rows; see `WriteFence`. */
  fence?: WriteFence;
}

/** What a full snapshot did. */
export interface SnapshotOutcome {
  result: 'applied' | 'unchanged' | 'held';
  position: number;
  upserts: number;
  removals: number;
  reason?: string;
}

/** What a batch of events did: apps to refetch (unknown app, newer version, definition changed). */
export interface EventOutcome {
  refetch: string[];
  error?: string;
}

/** Registry status for the API. */
export interface RegistryStatus {
  loaded: boolean;
  position: number;
  services: number;
  endpoints: number;
  problems: number;
  held: HeldStatus | null;
  lastSnapshot: { at: string; result: string; durationMs: number } | null;
}
