import type { Registry as PromRegistry } from 'prom-client';
import type { Config } from '../config/schema';
import type { Logger } from '../log';
import { MarathonClient } from '../marathon/client';
import { createMarathonMetrics } from '../marathon/metrics';
import { EventStream } from '../marathon/stream';
import { appsSourceFrom, eventSourceFrom, REGISTRY_EVENT_TYPES } from '../registry/marathon-adapter';
import type { IpamReconcilePort } from '../registry/ipam-port';
import type { Registry } from '../registry/registry';
import { MarathonSync } from '../registry/sync';

/** Marathon writes a bare CRLF every 10 s; the watchdog and readiness allow three missed ones. */
export const STREAM_STALE_MS = 30_000;

/** The leader-only Marathon side: client, event stream and the sync that feeds the registry. */
export interface MarathonRuntime {
  sync: MarathonSync;
  stream: EventStream;
  stop(): Promise<void>;
}

/** Creates the metrics once per process: prom-client refuses duplicate names on re-election. */
export function marathonMetricsOnce(registry: PromRegistry): () => ReturnType<typeof createMarathonMetrics> {
  let m: ReturnType<typeof createMarathonMetrics> | undefined;
  return () => (m ??= createMarathonMetrics(registry));
}

/** Starts talking to Marathon; `stop()` closes the stream and waits for the sync's work in flight. */
export function startMarathon(
  config: Config,
  deps: { registry: Registry; ipam: IpamReconcilePort; logger: Logger; metrics: ReturnType<typeof createMarathonMetrics> },
): MarathonRuntime {
  const auth = { username: config.marathon.username, password: config.marathon.password, token: config.marathon.token };
  const logger = deps.logger.child({ component: 'marathon' });
  const client = new MarathonClient({
    urls: config.marathon.urls, ...auth, logger, metrics: deps.metrics,
    maxResponseBytes: config.marathon.maxResponseBytes, labelPrefix: config.labelPrefix,
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
    stop: async () => {
      stream.stop();
      await sync.stop();
    },
  };
}
