import { Counter, Gauge, type Registry } from 'prom-client';
import type { LossReason } from './types';

/** Leadership metrics (names `berth_cluster_*`). */
export interface ClusterMetrics {
  isLeader: Gauge<string>;
  epoch: Gauge<string>;
  elections: Counter<string>;
  losses: Counter<'reason'>;
  /** Failed attempts to reach the database on the leadership connection. */
  connectionErrors: Counter<string>;
}

/** Registers the cluster metrics on `registry`. */
export function createClusterMetrics(registry: Registry): ClusterMetrics {
  const registers = [registry];
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
    connectionErrors: new Counter({ name: 'berth_cluster_connection_errors_total', help: 'Failed connects or queries on the leadership connection', registers }),
  };
  // Expose every reason at 0 so alerts on increase() work from the first loss.
  for (const reason of ['connection', 'probe', 'superseded', 'stopped'] satisfies LossReason[]) m.losses.inc({ reason }, 0);
  return m;
}
