import type { FastifyInstance } from 'fastify';
import { Registry as PromRegistry } from 'prom-client';
import type { Leadership } from './cluster';
import type { Config } from './config/schema';
import type { Database } from './db/knex';
import type { DnsServer } from './dns/server';
import { createIpam } from './ipam';
import { createLogger, type Logger } from './log';
import type { NginxSync } from './nginx/sync';
import type { Registry } from './registry/registry';
import { apiPart } from './runtime/api';
import { journalPart, leadershipPart } from './runtime/cluster';
import { databasePart } from './runtime/database';
import { dnsFirst, dnsPart } from './runtime/dns';
import { auditRetentionPart } from './runtime/ipam';
import { marathonPart } from './runtime/marathon';
import { nginxPart } from './runtime/nginx';
import { registerProcessMetrics } from './runtime/process-metrics';
import { Parts } from './runtime/part';
import { registryPart, servedView } from './runtime/registry';

/** A running berth: what `berth run`, `berth demo` and tests hold on to. */
export interface Berth {
  config: Config;
  db: Database;
  app: FastifyInstance;
  registry: Registry;
  leadership: Leadership;
  dns: DnsServer;
  nginx: NginxSync;
  /** Base URL of the API once listening. */
  url: string;
  /** Where DNS listens (UDP and TCP), with the real port when 0 was asked. */
  dnsAddress: { host: string; port: number };
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Give up on an unreachable database after this many attempts (default: keep trying). */
  dbAttempts?: number;
  signal?: AbortSignal;
  /** This replica's name in `/v1/cluster` (default: host-pid-random). */
  replicaId?: string;
}

/**
 * The composition root: the one place that constructs real adapters. Starts the parts in
 * dependency order (database → registry → DNS/Nginx → API → leadership → Marathon → journal) and
 * returns `stop()`, which tears the started ones down in reverse.
 */
export async function start(config: Config, opts: StartOptions = {}): Promise<Berth> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const metricsRegistry = new PromRegistry();
  registerProcessMetrics(metricsRegistry);
  const deps = { config, logger, metricsRegistry };
  const parts = new Parts(logger);
  try {
    const db = await parts.start(databasePart(config, logger, { attempts: opts.dbAttempts, signal: opts.signal }));
    let url = '';
    const cluster = leadershipPart({ ...deps, db, replicaId: opts.replicaId, apiUrl: () => url });
    const { leadership } = cluster;
    const ipam = createIpam({ knex: db.knex, logger, metricsRegistry, labelPrefix: config.labelPrefix });
    const registry = await parts.start(registryPart({ ...deps, db, leadership }));
    const view = servedView(config, registry);
    const dns = await parts.start(dnsPart({ ...deps, view, ipam: ipam.service }));
    dns.onSwap((index) => registry.reached('dns', index.position));
    const nginx = nginxPart({ ...deps, db, registry, view, leadership, beforeRender: dnsFirst(dns, logger.child({ component: 'nginx' })) });
    await parts.start(nginx);
    registry.onWriting((services) => nginx.sync.renderAhead(services));
    const marathon = marathonPart({ ...deps, registry, ipam: ipam.reconciler, leadership });
    const journal = journalPart({ ...deps, db, registry, leadership, metrics: cluster.metrics });
    const api = await parts.start(
      apiPart({ ...deps, readiness: parts.readiness, db, ipam: ipam.service, registry, nginx, marathon, leadership, journal, dns }),
    );
    url = api.url;
    for (const part of [cluster, marathon, journal, auditRetentionPart({ ...deps, db, leadership })]) await parts.start(part);
    return { config, db, app: api.app, registry, leadership, dns, nginx: nginx.sync, url, dnsAddress: dns.address(), stop: () => parts.stop() };
  } catch (err) {
    await parts.stop();
    throw err;
  }
}
