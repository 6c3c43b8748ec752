import type { FastifyInstance } from 'fastify';
import type { Registry as PromRegistry } from 'prom-client';
import type { Leadership } from '../cluster';
import type { Config } from '../config/schema';
import type { Database } from '../db/knex';
import { buildApp, type ReadinessCheck } from '../http/app';
import { registerClusterRoutes } from '../http/routes/cluster';
import { registerIpamRoutes } from '../http/routes/ipam';
import { registerServicesRoutes } from '../http/routes/services';
import { registerSyncRoutes } from '../http/routes/sync';
import { registerDashboardRoutes } from '../http/routes/ui';
import type { DnsServer } from '../dns/server';
import type { IpamService } from '../ipam/service';
import type { Logger } from '../log';
import type { Registry } from '../registry/registry';
import type { JournalPart } from './cluster';
import type { MarathonPart } from './marathon';
import type { NginxPart } from './nginx';
import type { Part } from './part';

const API_LISTEN_BACKLOG = 4096;

export interface ApiPartDeps {
  config: Config;
  logger: Logger;
  metricsRegistry: PromRegistry;
  /** Live list of the parts' checks. */
  readiness: readonly ReadinessCheck[];
  db: Database;
  ipam: IpamService;
  registry: Registry;
  nginx: NginxPart;
  marathon: MarathonPart;
  leadership: Leadership;
  journal: JournalPart;
  dns: DnsServer;
}

/** The HTTP API, listening on BERTH_HTTP_ADDR; resolves to the app and the URL it is reached at. */
export function apiPart(d: ApiPartDeps): Part<{ app: FastifyInstance; url: string }> {
  const { config, leadership, db } = d;
  let app: FastifyInstance | undefined;
  return {
    name: 'api',
    start: async () => {
      app = await buildApp({
        logger: d.logger,
        metricsRegistry: d.metricsRegistry,
        apiTokens: config.apiTokens,
        allowedOrigins: config.apiAllowedOrigins,
        allowedHosts: [...config.apiAllowedHosts, config.http.host],
        readiness: d.readiness,
        register: (a) => {
          registerIpamRoutes(a, { ipam: d.ipam });
          registerServicesRoutes(a, { registry: d.registry, sync: d.marathon.api });
          registerSyncRoutes(a, { nginxSync: d.nginx.sync, syncRuns: d.nginx.runs });
          registerClusterRoutes(a, { leadership, knex: db.knex, journal: d.journal.lag });
          registerDashboardRoutes(a, {
            tokensRequired: config.apiTokens.length > 0,
            labelPrefix: config.labelPrefix,
            live: { registry: d.registry, nginx: d.nginx.sync, knex: db.knex },
            dns: d.dns,
            metricsRegistry: d.metricsRegistry,
          });
        },
        info: () => ({ db: db.engine, role: leadership.role() }),
      });
      // A release burst opens hundreds of connections at once. Past Node's default backlog (511) the
      // kernel drops handshakes it already answered, and after ~15 s of SYN-ACK retries those clients
      // get ECONNRESET for a request berth never saw. The kernel caps this at net.core.somaxconn.
      await app.listen({ host: config.http.host, port: config.http.port, backlog: API_LISTEN_BACKLOG });
      const url = listeningUrl(app, config.http.host);
      d.logger.info({ url }, 'API listening');
      return { app, url };
    },
    stop: async () => {
      await app?.close();
    },
  };
}

function listeningUrl(app: FastifyInstance, configuredHost: string): string {
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const host = configuredHost === '0.0.0.0' ? '127.0.0.1' : configuredHost === '::' ? '::1' : configuredHost;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
