/** Registry metrics (`berth_registry_*`), defined in one place. */
import { Counter, Gauge, Histogram, type Registry as PromRegistry } from 'prom-client';

/** Sizes read at scrape time (never recomputed per write: at 200 events/s that would cost more than the writes). */
export interface RegistryGaugeData {
  servicesByEnv: Map<string, number>;
  endpointsByEnv: Map<string, number>;
  problemsByCode: Map<string, number>;
  position: number;
  held: boolean;
}

export interface RegistryMetrics {
  snapshotDuration: Histogram<'result'>;
  snapshots: Counter<'result'>;
  writes: Counter<'kind'>;
  writeErrors: Counter<'kind'>;
  /** Seconds each committed write took in the database; its sum over a window is the writer's busy share. */
  writeDuration: Histogram<'kind'>;
  /** Marathon events by the change the intake classified them as (task, health, apps, group, ignored). */
  changes: Counter<'kind'>;
  /** Whole-state reads from the database by why (`FollowReason`): start-up, or a journal a follower could not apply. */
  followerReloads: Counter<'reason'>;
  /** Journal rows a follower applied as deltas (without a full reload). */
  followerApplied: Counter;
  /** Seconds from a leader's journaled write to a follower applying it (one sample per write). */
  followerLag: Histogram;
  /** Seconds from a Marathon task or health event's arrival to its commit (`registry`) and to DNS serving it (`dns`). */
  eventVisible: Histogram<'stage'>;
  /** Where the gauges read from; the Registry attaches itself. */
  attach(source: () => RegistryGaugeData): void;
}

/** Create and register the registry metrics on `reg`. */
export function createRegistryMetrics(reg: PromRegistry): RegistryMetrics {
  const registers = [reg];
  let source: (() => RegistryGaugeData) | null = null;
  const byLabel = (g: Gauge<string>, label: string, pick: (d: RegistryGaugeData) => Map<string, number>) => {
    g.reset();
    if (!source) return;
    for (const [k, v] of pick(source())) g.set({ [label]: k }, v);
  };
  new Gauge({
    name: 'berth_registry_services',
    help: 'Published services per environment',
    labelNames: ['env'],
    registers,
    collect() {
      byLabel(this, 'env', (d) => d.servicesByEnv);
    },
  });
  new Gauge({
    name: 'berth_registry_endpoints',
    help: 'Published endpoints per environment',
    labelNames: ['env'],
    registers,
    collect() {
      byLabel(this, 'env', (d) => d.endpointsByEnv);
    },
  });
  new Gauge({
    name: 'berth_registry_problems',
    help: 'Open problems by code',
    labelNames: ['code'],
    registers,
    collect() {
      byLabel(this, 'code', (d) => d.problemsByCode);
    },
  });
  new Gauge({
    name: 'berth_registry_journal_position',
    help: 'Latest change journal position',
    registers,
    collect() {
      this.set(source ? source().position : 0);
    },
  });
  new Gauge({
    name: 'berth_registry_snapshot_held',
    help: '1 while a Marathon snapshot is held by the removal guard (or failed)',
    registers,
    collect() {
      this.set(source?.().held ? 1 : 0);
    },
  });
  return {
    snapshotDuration: new Histogram({
      name: 'berth_registry_snapshot_duration_seconds',
      help: 'Time to fetch and apply a full Marathon snapshot',
      labelNames: ['result'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    snapshots: new Counter({
      name: 'berth_registry_snapshots_total',
      help: 'Full snapshots by result (applied, unchanged, held, failed)',
      labelNames: ['result'],
      registers,
    }),
    writes: new Counter({ name: 'berth_registry_writes_total', help: 'Registry write transactions by kind', labelNames: ['kind'], registers }),
    writeErrors: new Counter({
      name: 'berth_registry_write_errors_total',
      help: 'Failed registry write transactions by kind',
      labelNames: ['kind'],
      registers,
    }),
    writeDuration: new Histogram({
      name: 'berth_registry_write_seconds',
      help: 'Seconds each committed registry write took in the database, by kind; the rate of its sum is the share of time the writer was busy',
      labelNames: ['kind'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    }),
    changes: new Counter({
      name: 'berth_registry_changes_total',
      help: 'Marathon events by the change they were classified as (task, health, apps, group, ignored)',
      labelNames: ['kind'],
      registers,
    }),
    followerReloads: new Counter({
      name: 'berth_registry_follower_full_reloads_total',
      help: 'Whole registry reads from the database by reason (start, retention, backlog, regressed, unapplicable)',
      labelNames: ['reason'],
      registers,
    }),
    followerApplied: new Counter({
      name: 'berth_registry_follower_applied_entries_total',
      help: 'Journal entries a standby applied to its view as deltas',
      registers,
    }),
    followerLag: new Histogram({
      name: 'berth_registry_follower_lag_seconds',
      help: "Seconds from the leader's journaled write to a standby applying it",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    eventVisible: new Histogram({
      name: 'berth_registry_event_visible_seconds',
      help: 'Seconds from a Marathon task or health event arriving to its registry commit (stage=registry) and to DNS serving it (stage=dns)',
      labelNames: ['stage'],
      buckets: [0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    attach(fn) {
      source = fn;
    },
  };
}
