import type { Registry as PromRegistry } from 'prom-client';
import { clusterReadiness, createClusterMetrics, createLeadership, type ClusterMetrics, type Leadership } from '../cluster';
import type { JournalLag } from '../cluster/types';
import type { Config } from '../config/schema';
import type { Database } from '../db/knex';
import type { Logger } from '../log';
import type { Registry } from '../registry/registry';
import { followJournal, journalHead, type JournalFollower } from './follower';
import { listenJournal } from './notify';
import type { Part } from './part';

export interface LeadershipPart extends Part {
  readonly leadership: Leadership;
  readonly metrics: ClusterMetrics;
}

/**
 * Leadership among replicas sharing the database. Created first (the registry's writes are fenced
 * by it) and started once the API listens, so the URL it announces answers.
 */
export function leadershipPart(d: {
  config: Config;
  db: Database;
  logger: Logger;
  metricsRegistry: PromRegistry;
  replicaId?: string;
  apiUrl(): string;
}): LeadershipPart {
  const metrics = createClusterMetrics(d.metricsRegistry);
  const leadership = createLeadership({
    engine: d.db.engine,
    knex: d.db.knex,
    databaseUrl: d.config.databaseUrl,
    id: d.replicaId, // absent: the leadership's own default (host-pid-random)
    logger: d.logger,
    metrics,
  });
  return {
    name: 'leadership',
    leadership,
    metrics,
    start: async () => {
      leadership.setApiUrl(d.apiUrl());
      await leadership.start();
    },
    stop: () => leadership.stop(),
  };
}

export interface JournalPart extends Part {
  /** How far this replica's view is behind the journal; undefined until started (the view was just loaded). */
  lag(): JournalLag | undefined;
}

/**
 * A standby follows the leader's journal (poll, and at once on LISTEN/NOTIFY with PostgreSQL);
 * the leader announces its positions. Its readiness: the replica's role and view freshness.
 */
export function journalPart(d: {
  config: Config;
  db: Database;
  registry: Registry;
  leadership: Leadership;
  metrics: ClusterMetrics;
  logger: Logger;
}): JournalPart {
  let follower: JournalFollower | undefined;
  let unlisten: (() => Promise<void>) | undefined;
  const lag = () => follower?.lag();
  d.metrics.observeJournal(lag);
  return {
    name: 'journal',
    lag,
    start: async () => {
      const f = followJournal(d.registry, d.logger, () => !d.leadership.isLeader(), { head: () => journalHead(d.db.knex) });
      follower = f;
      if (d.config.databaseUrl) unlisten = listenJournal(d.config.databaseUrl, () => f.poke(), d.logger);
    },
    stop: async () => {
      await unlisten?.();
      await follower?.stop();
    },
    readiness: () => [clusterReadiness(d.leadership, lag)],
  };
}
