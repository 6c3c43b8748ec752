import type { FastifyInstance } from 'fastify';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from './config/schema';
import { connectWithRetry, type Database } from './db/knex';
import { migrateLatest } from './db/migrations';
import { buildApp, type ReadinessCheck } from './http/app';
import { createLogger, type Logger } from './log';

/** A running berth: what `berth run` and tests hold on to. */
export interface Berth {
  config: Config;
  db: Database;
  app: FastifyInstance;
  /** Base URL of the API once listening. */
  url: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Give up on an unreachable database after this many attempts (default: keep trying). */
  dbAttempts?: number;
  signal?: AbortSignal;
}

/**
 * The composition root: the one place that constructs real adapters. Starts in dependency
 * order and returns `stop()`, which tears down in reverse.
 */
export async function start(config: Config, opts: StartOptions = {}): Promise<Berth> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch((err) => logger.error({ err }, 'error during shutdown'));
  };
  try {
    const metricsRegistry = new Registry();
    collectDefaultMetrics({ register: metricsRegistry, prefix: 'berth_process_' });

    const db = await connectWithRetry({ url: config.databaseUrl, dataDir: config.dataDir }, logger, {
      attempts: opts.dbAttempts,
      signal: opts.signal,
    });
    stops.push(() => db.close());
    const applied = await migrateLatest(db.knex);
    logger.info({ db: db.describe, applied }, 'database ready');

    const readiness: ReadinessCheck[] = [
      { name: 'database', check: async () => ({ ok: await db.knex.raw('select 1').then(() => true, () => false) }) },
    ];
    if (config.marathon.urls.length === 0) {
      logger.warn('BERTH_MARATHON_URLS is not set: serving IPAM and the API only (no service discovery)');
    }

    const app = await buildApp({
      logger,
      metricsRegistry,
      apiTokens: config.apiTokens,
      readiness,
      register: () => undefined,
      info: () => ({ db: db.engine }),
    });
    stops.push(() => app.close());
    await app.listen({ host: config.http.host, port: config.http.port });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.http.port;
    const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
    const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
    logger.info({ url }, 'API listening');

    let stopped: Promise<void> | undefined;
    return { config, db, app, url, stop: () => (stopped ??= stopAll()) };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
