import { Counter, Gauge, type Registry } from 'prom-client';
import type { JournalLag, LossReason } from './types';

/** Leadership metrics (names `berth_cluster_*`). */
export interface ClusterMetrics {
  isLeader: Gauge<string>;
  epoch: Gauge<string>;
  elections: Counter<string>;
  losses: Counter<'reason'>;
  /** Failed attempts to reach the database on the leadership connection. */
  connectionErrors: Counter<string>;
  /** Unix time this replica became the leader (0 when not leading). */
  leaderSince: Gauge<string>;
  /** Reports journal lag from `source` at every scrape (main.ts wires the follower in). */
  observeJournal(source: () => JournalLag | undefined): void;
}

/** Registers the cluster metrics on `registry`. */
export function createClusterMetrics(registry: Registry): ClusterMetrics {
  const registers = [registry];
  let journal: () => JournalLag | undefined = () => undefined;
  new Gauge({
    name: 'berth_cluster_journal_lag_positions',
    help: 'Journal positions this replica was behind the database head at its last catch-up check (0 on the leader)',
    registers,
    collect() {
      this.set(journal()?.behind ?? 0);
    },
  });
  new Gauge({
    name: 'berth_cluster_journal_lag_seconds',
    help: "Seconds since this replica's registry view was last confirmed equal to the journal head (grows while catch-up fails)",
    registers,
    collect() {
      this.set(journal()?.ageSeconds ?? 0);
    },
  });
  new Gauge({
    name: 'berth_cluster_view_fresh',
    help: '1 while journal lag is within the bound (the replica answers from a fresh view), else 0',
    registers,
    collect() {
      this.set((journal()?.fresh ?? true) ? 1 : 0);
    },
  });
  const m: ClusterMetrics = {
    isLeader: new Gauge({ name: 'berth_cluster_is_leader', help: '1 while this replica is the leader (the one writer), else 0', registers }),
    epoch: new Gauge({ name: 'berth_cluster_epoch', help: 'Fencing epoch this replica leads in (0 when not leading)', registers }),
    elections: new Counter({ name: 'berth_cluster_elections_total', help: 'Times this replica became the leader', registers }),
    losses: new Counter({
      name: 'berth_cluster_leadership_losses_total',
      help: 'Times this replica stopped being the leader, by reason (connection, probe, superseded, stopped)',
      labelNames: ['reason'],
      registers,
    }),
    connectionErrors: new Counter({
      name: 'berth_cluster_connection_errors_total',
      help: 'Failed connects or queries on the leadership connection',
      registers,
    }),
    leaderSince: new Gauge({ name: 'berth_cluster_leader_since_seconds', help: 'Unix time this replica became the leader (0 when not leading)', registers }),
    observeJournal: (source) => {
      journal = source;
    },
  };
  // Expose every reason at 0 so alerts on increase() work from the first loss.
  for (const reason of ['connection', 'probe', 'superseded', 'stopped'] satisfies LossReason[]) m.losses.inc({ reason }, 0);
  return m;
}
