import type { Knex } from 'knex';
import type { Engine } from '../db/knex';
import type { LeadershipBaseOptions } from './base';
import { EmbeddedLeadership } from './embedded-leadership';
import { PgLeadership, type PgLeadershipOptions } from './pg-leadership';
import type { Leadership } from './types';

export type LeadershipOptions = LeadershipBaseOptions &
  Partial<Omit<PgLeadershipOptions, keyof LeadershipBaseOptions>> & {
    engine: Engine;
    /** The knex of the open database (the embedded implementation writes through it). */
    knex: Knex;
  };

/** The leadership for an open database: PostgreSQL competes through `databaseUrl`; PGlite leads alone. */
export function createLeadership(opts: LeadershipOptions): Leadership {
  if (opts.engine === 'pglite') return new EmbeddedLeadership(opts);
  if (!opts.databaseUrl) throw new Error('createLeadership: databaseUrl is needed for the leadership connection');
  return new PgLeadership({ ...opts, databaseUrl: opts.databaseUrl });
}

export { PgLeadership, EmbeddedLeadership };
export { assertEpoch, writerFence } from './fence';
export { createClusterMetrics, type ClusterMetrics } from './metrics';
export { readCluster, knexQuery } from './sql';
export { whileLeader, type LeaderWork } from './while-leader';
export { clusterReadiness } from './readiness';
export type { Leadership, LeaderRecord, MemberRecord, LossReason, Role } from './types';
