import os from 'node:os';
import type { FastifyInstance } from 'fastify';
import { Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';
import { clusterReadiness, createClusterMetrics, createLeadership, whileLeader, writerFence, type Leadership } from './cluster';
import { modelPolicyOf } from './config/model-policy';
import type { Config } from './config/schema';
import type { Problem } from './model/types';
import { connectWithRetry, type Database } from './db/knex';
import { migrateLatest } from './db/migrations';
import { DnsServer } from './dns/server';
import { BerthError } from './errors';
import { buildApp, type ReadinessCheck } from './http/app';
import { registerClusterRoutes } from './http/routes/cluster';
import { registerIpamRoutes } from './http/routes/ipam';
import { registerServicesRoutes, type MarathonSyncApi } from './http/routes/services';
import { registerSyncRoutes } from './http/routes/sync';
import { createIpam } from './ipam';
import { createLogger, type Logger } from './log';
import { KnexSyncRunStore } from './nginx/knex-store';
import { registryProblemSink, type ProblemSink } from './nginx/store';
import { NginxSync } from './nginx/sync';
import { createRegistryMetrics } from './registry/metrics';
import { Registry } from './registry/registry';
import { CachingHostResolver } from './registry/resolver';
import { followJournal, journalHead, type JournalFollower } from './runtime/follower';
import { listenJournal, publishJournal } from './runtime/notify';
import { marathonMetricsOnce, startMarathon, STREAM_STALE_MS, type MarathonRuntime } from './runtime/marathon';
import { reverseNetworksFollower } from './runtime/reverse';

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
  /** This replica's name in `/v1/cluster` (default: host-pid). */
  replicaId?: string;
}

/**
 * The composition root: the one place that constructs real adapters. Starts in dependency order
 * (database → registry → DNS/Nginx → API → leadership → Marathon) and returns `stop()`, which tears
 * down in reverse.
 */
export async function start(config: Config, opts: StartOptions = {}): Promise<Berth> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch((err) => logger.error({ err }, 'error during shutdown'));
  };
  try {
    const metricsRegistry = new PromRegistry();
    collectDefaultMetrics({ register: metricsRegistry, prefix: 'berth_process_' });

    const db = await connectWithRetry({ url: config.databaseUrl, dataDir: config.dataDir }, logger, { attempts: opts.dbAttempts, signal: opts.signal });
    stops.push(() => db.close());
    const applied = await migrateLatest(db.knex);
    logger.info({ db: db.describe, applied }, 'database ready');

    const clusterMetrics = createClusterMetrics(metricsRegistry);
    // Created once the API listens and leadership runs (below); until then the view was just loaded.
    let follower: JournalFollower | undefined = undefined;
    const journalLag = () => follower?.lag();
    clusterMetrics.observeJournal(journalLag);
    const leadership = createLeadership({
      engine: db.engine,
      knex: db.knex,
      databaseUrl: config.databaseUrl,
      id: opts.replicaId ?? `${os.hostname()}-${process.pid}`,
      logger,
      metrics: clusterMetrics,
    });

    const ipam = createIpam({ knex: db.knex, logger, metricsRegistry, labelPrefix: config.labelPrefix });
    const registry = await Registry.open({
      knex: db.knex,
      logger: logger.child({ component: 'registry' }),
      defaultEnv: config.defaultEnv,
      labelPrefix: config.labelPrefix,
      modelPolicy: modelPolicyOf(config),
      maxRemovalRatio: config.maxRemovalRatio,
      resolver: new CachingHostResolver(),
      metrics: createRegistryMetrics(metricsRegistry),
      // Only the leader writes the registry; a deposed leader's late transaction is refused.
      // Journal rows carry the writer's epoch and id (fenced again in the insert).
      fence: writerFence(leadership),
    });

    const dns = new DnsServer(
      {
        host: config.dns.host,
        port: config.dns.port,
        zones: [...config.dns.zones],
        ttl: config.dns.ttl,
        environments: config.environments,
        defaultEnv: config.defaultEnv,
        forwarders: [...config.dns.forwarders],
        reverseNetworks: (await ipam.service.listPools()).map((p) => p.cidr),
        logger: logger.child({ component: 'dns' }),
        metricsRegistry,
      },
      registry,
    );
    await dns.start();
    stops.push(() => dns.stop());
    stops.push(reverseNetworksFollower(ipam.service, dns, logger));

    // Problems Nginx finds are published through the registry by the leader; a standby's own
    // Nginx problems are logged (its registry is read-only). The latest set is kept so a standby
    // that becomes leader publishes what it found.
    const registrySink = registryProblemSink(registry);
    let nginxProblems: Problem[] = [];
    const publishProblems = () => (leadership.isLeader() ? registrySink.replaceAll!(nginxProblems) : Promise.resolve());
    const problems: ProblemSink = {
      raise: async (p) => {
        nginxProblems = [...nginxProblems.filter((x) => x.code !== p.code || x.appId !== p.appId), p];
        if (!leadership.isLeader()) logger.warn({ problem: p }, 'nginx problem');
        await publishProblems();
      },
      clear: async (code, appId) => {
        nginxProblems = nginxProblems.filter((x) => x.code !== code || x.appId !== appId);
        await publishProblems();
      },
      replaceAll: async (all) => {
        nginxProblems = all;
        await publishProblems();
      },
    };
    leadership.on('elected', () => void publishProblems().catch((err: Error) => logger.warn({ err: err.message }, 'publishing nginx problems failed')));
    const syncRuns = new KnexSyncRunStore(db.knex);
    const nginx = new NginxSync({
      dir: config.nginx.dir,
      templatesDir: config.nginx.templates,
      httpListen: config.nginx.httpListen,
      testCmd: config.nginx.testCmd,
      reloadCmd: config.nginx.reloadCmd,
      intervalMs: config.syncIntervalMs,
      commandTimeoutMs: 30_000,
      maxRemovalRatio: config.maxRemovalRatio,
      logger: logger.child({ component: 'nginx' }),
      metricsRegistry,
      view: registry,
      store: syncRuns,
      problems,
    });
    await nginx.start();
    stops.push(() => nginx.stop());

    let marathon: MarathonRuntime | undefined;
    const marathonApi: MarathonSyncApi = {
      syncNow: (o) => {
        if (!marathon) throw new BerthError('NOT_LEADER', config.marathon.urls.length ? 'this replica is not the leader; see GET /v1/cluster' : 'BERTH_MARATHON_URLS is not set');
        return marathon.sync.syncNow(o);
      },
      status: () => marathon?.sync.status() ?? { lastSuccessAt: null, lastError: null, consecutiveFailures: 0 },
    };

    const readiness: ReadinessCheck[] = [
      { name: 'database', check: async () => ({ ok: await db.knex.raw('select 1').then(() => true, () => false) }) },
      clusterReadiness(leadership, journalLag),
    ];
    if (config.marathon.urls.length) {
      // Without Marathon there is nothing to publish: readiness is the database alone.
      readiness.push(
        { name: 'registry', check: async () => ({ ok: registry.current().loaded, detail: { position: registry.current().position } }) },
        { name: 'nginx', check: async () => ({ ok: nginx.hasSynced(), detail: { lastRun: nginx.status().lastRun?.status ?? null, held: nginx.status().held } }) },
      );
      readiness.push({
        name: 'marathon',
        check: async () => {
          if (!leadership.isLeader()) return { ok: true, detail: { role: 'standby' } };
          const age = marathon ? marathon.stream.ageSeconds() : Infinity;
          const synced = marathon?.sync.hasSynced() ?? false;
          return { ok: synced && age * 1000 < STREAM_STALE_MS, detail: { snapshot: synced, streamAgeSeconds: Number.isFinite(age) ? Math.round(age) : null } };
        },
      });
    } else {
      logger.warn('BERTH_MARATHON_URLS is not set: serving IPAM and the API only (no service discovery)');
    }

    const app = await buildApp({
      logger,
      metricsRegistry,
      apiTokens: config.apiTokens,
      readiness,
      register: (a) => {
        registerIpamRoutes(a, { ipam: ipam.service });
        registerServicesRoutes(a, { registry, sync: marathonApi });
        registerSyncRoutes(a, { nginxSync: nginx, syncRuns });
        registerClusterRoutes(a, { leadership, knex: db.knex, journal: journalLag });
      },
      info: () => ({ db: db.engine, role: leadership.role() }),
    });
    stops.push(() => app.close());
    await app.listen({ host: config.http.host, port: config.http.port });
    const url = listeningUrl(app, config.http.host);
    logger.info({ url }, 'API listening');

    leadership.setApiUrl(url);
    await leadership.start();
    stops.push(() => leadership.stop());

    // A standby follows the leader's journal; the leader also talks to Marathon (if configured).
    const marathonMetrics = marathonMetricsOnce(metricsRegistry);
    stops.push(
      whileLeader(leadership, 'marathon', logger, async () => {
        if (!config.marathon.urls.length) return async () => undefined;
        // A new leader may have followed the journal a poll behind: write on top of the latest state.
        await registry.refresh();
        marathon = startMarathon(config, { registry, ipam: ipam.reconciler, logger, metrics: marathonMetrics() });
        const current = marathon;
        return async () => {
          marathon = undefined;
          await current.stop();
        };
      }),
    );
    const following = followJournal(registry, logger, () => !leadership.isLeader(), { head: () => journalHead(db.knex) });
    follower = following;
    stops.push(() => following.stop());
    const unpublish = publishJournal(registry, db.knex, () => leadership.isLeader(), logger);
    stops.push(async () => unpublish());
    if (config.databaseUrl) stops.push(listenJournal(config.databaseUrl, () => following.poke(), logger));

    let stopped: Promise<void> | undefined;
    return { config, db, app, registry, leadership, dns, nginx, url, dnsAddress: dns.address(), stop: () => (stopped ??= stopAll()) };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function listeningUrl(app: FastifyInstance, configuredHost: string): string {
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const host = configuredHost === '0.0.0.0' ? '127.0.0.1' : configuredHost === '::' ? '::1' : configuredHost;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
