/**
 * The web dashboard: its static files under `/ui/` (built by `npm run build` into dist/ui), what
 * the page needs to know before it shows anything (`/v1/ui/config`, `/v1/ui/verify`), the DNS
 * figures of the overview (`/v1/dns/status`) and the live stream (`/v1/live`, see ./live.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import type { Registry as PromRegistry } from 'prom-client';
import { LiveHub } from '../../live/hub';
import { ipamVersion, type LiveSources } from '../../live/fingerprint';
import { registerLiveRoutes } from './live';
import { registerStaticUi } from './ui-static';
import { registerDnsStatusRoute, type DnsStatusSource } from './dns-status';

export interface DashboardDeps {
  /** True when BERTH_API_TOKENS is set: the page then shows nothing but a token prompt until verified. */
  tokensRequired: boolean;
  /** BERTH_LABEL_PREFIX, so the page writes the labels a service came from as the operator does. */
  labelPrefix?: string;
  live: Omit<LiveSources, 'poolsVersion'> & { knex: Knex };
  dns: DnsStatusSource;
  metricsRegistry: PromRegistry;
  /** Folder of the built page (default: dist/ui of the package). */
  uiDir?: string;
}

const tags = ['dashboard'];

/** Registers every dashboard route; the live stream ends when the API closes. */
export function registerDashboardRoutes(app: FastifyInstance, deps: DashboardDeps): void {
  registerStaticUi(app, { dir: deps.uiDir });

  app.get(
    '/v1/ui/config',
    {
      schema: {
        tags,
        summary: 'What the dashboard needs before it shows anything: whether a token is required, where the live stream is',
        response: {
          200: {
            type: 'object',
            required: ['tokensRequired', 'live', 'labelPrefix'],
            properties: { tokensRequired: { type: 'boolean' }, live: { type: 'string' }, labelPrefix: { type: 'string' } },
          },
        },
      },
    },
    async () => ({ tokensRequired: deps.tokensRequired, live: '/v1/live', labelPrefix: deps.labelPrefix ?? 'berth.' }),
  );

  // A POST so the API's write guard judges the token exactly as for every other write: 200 means
  // the bearer token would be accepted, 401 that it would not (the page keeps showing the prompt).
  app.post(
    '/v1/ui/verify',
    {
      preValidation: async (request) => {
        if (request.body === undefined || request.body === null) request.body = {};
      },
      schema: {
        tags,
        summary: 'Check a bearer token without changing anything (200: accepted; 401: not)',
        body: { type: 'object', additionalProperties: false, properties: {} },
        response: { 200: { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } } },
      },
    },
    async () => ({ ok: true }),
  );

  registerDnsStatusRoute(app, { dns: deps.dns, metricsRegistry: deps.metricsRegistry });

  const hub = new LiveHub({ sources: { ...deps.live, poolsVersion: ipamVersion(deps.live.knex) }, logger: app.log });
  registerLiveRoutes(app, hub);
}
