import type { Registry as PromRegistry } from 'prom-client';
import { whileLeader, type Leadership } from '../cluster';
import type { Config } from '../config/schema';
import { BerthError } from '../errors';
import type { ReadinessCheck } from '../http/app';
import type { MarathonSyncApi } from '../http/routes/services';
import type { Logger } from '../log';
import { MarathonClient } from '../marathon/client';
import { createMarathonMetrics } from '../marathon/metrics';
import { EventStream } from '../marathon/stream';
import { appsSourceFrom, eventSourceFrom, REGISTRY_EVENT_TYPES } from '../registry/marathon-adapter';
import type { IpamReconcilePort } from '../registry/ipam-port';
import type { Registry } from '../registry/registry';
import { MarathonSync } from '../registry/sync';
import type { Part } from './part';

/** Marathon writes a bare CRLF every 10 s; the watchdog and readiness allow three missed ones. */
const STREAM_STALE_MS = 30_000;

/** The leader-only Marathon side: client, event stream and the sync that feeds the registry. */
export interface MarathonRuntime {
  sync: MarathonSync;
  stream: EventStream;
  /** When this runtime started (clock ms): the start of a failure streak that never had a success. */
  startedAt: number;
  stop(): Promise<void>;
}

/** Creates the metrics once per process: prom-client refuses duplicate names on re-election. */
function marathonMetricsOnce(registry: PromRegistry): () => ReturnType<typeof createMarathonMetrics> {
  let m: ReturnType<typeof createMarathonMetrics> | undefined;
  return () => (m ??= createMarathonMetrics(registry));
}

/** Starts talking to Marathon; `stop()` closes the stream and waits for the sync's work in flight. */
function startMarathon(
  config: Config,
  deps: { registry: Registry; ipam: IpamReconcilePort; logger: Logger; metrics: ReturnType<typeof createMarathonMetrics> },
): MarathonRuntime {
  const auth = { username: config.marathon.username, password: config.marathon.password, token: config.marathon.token };
  const logger = deps.logger.child({ component: 'marathon' });
  const client = new MarathonClient({
    urls: config.marathon.urls,
    ...auth,
    logger,
    metrics: deps.metrics,
    maxResponseBytes: config.marathon.maxResponseBytes,
    labelPrefix: config.labelPrefix,
  });
  const stream = new EventStream({
    urls: config.marathon.urls,
    ...auth,
    eventTypes: [...REGISTRY_EVENT_TYPES],
    idleTimeoutMs: STREAM_STALE_MS,
    maxEventBytes: config.marathon.maxEventBytes,
    logger,
    metrics: deps.metrics,
  });
  // Errors are logged and counted by the stream itself; a listener keeps EventEmitter from throwing.
  stream.on('error', () => undefined);
  const sync = new MarathonSync({
    registry: deps.registry,
    apps: appsSourceFrom(client),
    events: eventSourceFrom(stream),
    ipam: deps.ipam,
    logger: deps.logger.child({ component: 'marathon-sync' }),
    resyncIntervalMs: config.resyncIntervalMs,
    labelPrefix: config.labelPrefix,
  });
  sync.start();
  stream.start();
  return {
    sync,
    stream,
    startedAt: Date.now(),
    stop: async () => {
      stream.stop();
      await sync.stop();
    },
  };
}

export interface MarathonPartDeps {
  config: Config;
  registry: Registry;
  ipam: IpamReconcilePort;
  leadership: Leadership;
  logger: Logger;
  metricsRegistry: PromRegistry;
}

export interface MarathonPart extends Part {
  /** What the services routes call: refused with NOT_LEADER on a standby or without Marathon. */
  readonly api: MarathonSyncApi;
}

/**
 * The leader talks to Marathon (if configured): started on election, stopped when leadership is
 * lost. Without BERTH_MARATHON_URLS berth serves IPAM and the API only.
 */
export function marathonPart(d: MarathonPartDeps): MarathonPart {
  const { config, registry, logger } = d;
  const enabled = config.marathon.urls.length > 0;
  let runtime: MarathonRuntime | undefined;
  let stopLeaderWork: (() => Promise<void>) | undefined;
  const metrics = marathonMetricsOnce(d.metricsRegistry);
  return {
    name: 'marathon',
    api: {
      syncNow: (o) => {
        if (!runtime) throw new BerthError('NOT_LEADER', enabled ? 'this replica is not the leader; see GET /v1/cluster' : 'BERTH_MARATHON_URLS is not set');
        return runtime.sync.syncNow(o);
      },
      status: () => runtime?.sync.status() ?? { lastSuccessAt: null, lastError: null, consecutiveFailures: 0 },
    },
    start: async () => {
      if (!enabled) {
        logger.warn('BERTH_MARATHON_URLS is not set: serving IPAM and the API only (no service discovery)');
        return;
      }
      stopLeaderWork = whileLeader(d.leadership, 'marathon', logger, async () => {
        // A new leader may have followed the journal a poll behind: write on top of the latest state.
        await registry.refresh();
        runtime = startMarathon(config, { registry, ipam: d.ipam, logger, metrics: metrics() });
        const current = runtime;
        return async () => {
          runtime = undefined;
          await current.stop();
        };
      });
    },
    stop: async () => {
      await stopLeaderWork?.();
    },
    readiness: () => (enabled ? [marathonReadiness(() => (d.leadership.isLeader() ? { runtime } : null), config.marathonFailureGraceMs)] : []),
  };
}

/**
 * On the leader: ready once a snapshot was applied, while the event stream was heard from within
 * STREAM_STALE_MS, and unless snapshots have failed without a success for longer than `graceMs`
 * (Marathon's REST side down while its stream stays up). A standby does not talk to Marathon.
 */
export function marathonReadiness(
  leader: () => { runtime: Pick<MarathonRuntime, 'sync' | 'stream' | 'startedAt'> | undefined } | null,
  graceMs: number,
  now: () => number = Date.now,
): ReadinessCheck {
  return {
    name: 'marathon',
    check: async () => {
      const l = leader();
      if (!l) return { ok: true, detail: { role: 'standby' } };
      const r = l.runtime;
      const status = r?.sync.status() ?? { lastSuccessAt: null, lastError: null, consecutiveFailures: 0 };
      const age = r ? r.stream.ageSeconds() : Infinity;
      const synced = r?.sync.hasSynced() ?? false;
      const failingSince = status.consecutiveFailures > 0 ? (status.lastSuccessAt ? Date.parse(status.lastSuccessAt) : (r?.startedAt ?? now())) : null;
      const failingMs = failingSince === null ? 0 : Math.max(0, now() - failingSince);
      const detail = {
        snapshot: synced,
        streamAgeSeconds: Number.isFinite(age) ? Math.round(age) : null,
        ...status,
        failingSeconds: Math.round(failingMs / 1000),
      };
      const reason = !synced
        ? 'no Marathon snapshot applied yet'
        : age * 1000 >= STREAM_STALE_MS
          ? `the Marathon event stream was silent for ${Math.round(age)} s`
          : failingMs > graceMs
            ? `Marathon snapshots have failed for ${Math.round(failingMs / 1000)} s (bound ${Math.round(graceMs / 1000)} s): ${status.lastError}`
            : null;
      return reason ? { ok: false, detail: { ...detail, reason } } : { ok: true, detail };
    },
  };
}
