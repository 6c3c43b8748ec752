import type { FastifyInstance } from 'fastify';
import { BerthError } from '../../errors';
import { ENV_NAME_PATTERN } from '../../rules';
import type { Service } from '../../model/types';
import type { RegistryStatus, SnapshotOutcome } from '../../registry/registry';
import type { StoredProblem } from '../../registry/store';
import type { SyncResult } from '../../registry/sync';
import { finishPage, linkHeader, nextField, pageOfSorted, pagingQuery, readCursor, UNLIMITED, type PageKey } from '../paging';
import { errorResponses } from '../schemas';

/** What the routes read and call on the registry (`Registry` implements it). */
export interface RegistryApi {
  current(): { position: number; loaded: boolean };
  listServices(env?: string): Service[];
  findService(env: string, domain: string): Service | undefined;
  listProblems(): StoredProblem[];
  status(): RegistryStatus;
  release(): Promise<SnapshotOutcome | null>;
}

/** What the routes call on the Marathon sync (`MarathonSync` implements it); absent without Marathon. */
export interface MarathonSyncApi {
  syncNow(opts?: { force?: boolean }): Promise<SyncResult>;
  status(): { lastSuccessAt: string | null; lastError: string | null; consecutiveFailures: number };
}

const nullable = (type: string) => ({ type: [type, 'null'] });

const endpointSchema = {
  type: 'object',
  required: ['taskId', 'address', 'port', 'host'],
  properties: { taskId: { type: 'string' }, address: { type: 'string' }, port: { type: 'integer' }, host: { type: 'string' } },
} as const;

const serviceSchema = {
  type: 'object',
  required: ['env', 'appId', 'domains', 'proxy', 'listen', 'dns', 'portName', 'servicePort', 'fixedIp', 'endpoints', 'version'],
  properties: {
    env: { type: 'string' },
    appId: { type: 'string' },
    // Present only on a per-port service: the port name or index its labels use.
    port: { type: 'string' },
    domains: { type: 'array', items: { type: 'string' } },
    proxy: { type: 'string', enum: ['http', 'tcp', 'none'] },
    listen: nullable('integer'),
    dns: { type: 'string', enum: ['direct', 'proxy', 'none'] },
    portName: nullable('string'),
    servicePort: { type: 'integer' },
    fixedIp: nullable('string'),
    // Present only when the app sets proxy option labels (docs/labels.md "Proxy options").
    options: {
      type: 'object',
      properties: {
        connectTimeout: { type: 'integer', description: 'seconds (berth.timeout.connect)' },
        readTimeout: { type: 'integer', description: 'seconds (berth.timeout.read)' },
        bodyMax: { type: 'integer', description: 'bytes (berth.body.max)' },
        allow: { type: 'array', items: { type: 'string' }, description: 'addresses/CIDRs (berth.allow)' },
        sticky: { type: 'string', enum: ['cookie', 'ip'], description: 'sticky sessions (berth.sticky)' },
      },
    },
    endpoints: { type: 'array', items: endpointSchema },
    version: { type: 'string' },
    // Present only when the app asks for TLS (`berth.tls`, `berth.tls.hsts`).
    tls: { type: 'string', enum: ['on', 'redirect'] },
    hsts: { type: 'integer' },
    // Present only when the app sets `berth.path` (and `berth.path.strip=true`).
    paths: { type: 'array', items: { type: 'string' } },
    pathStrip: { type: 'boolean' },
  },
} as const;

const problemSchema = {
  type: 'object',
  required: ['code', 'appId', 'env', 'message', 'since', 'source'],
  properties: {
    code: { type: 'string', description: 'stable problem code' },
    appId: { type: 'string' },
    env: nullable('string'),
    message: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
    since: { type: 'string', format: 'date-time' },
    source: { type: 'string', description: 'who raised it: model (labels, conflicts), ipam, nginx…' },
  },
} as const;

const outcomeSchema = {
  type: 'object',
  required: ['result'],
  properties: {
    result: { type: 'string', enum: ['applied', 'unchanged', 'held', 'failed'] },
    position: { type: 'integer' },
    upserts: { type: 'integer' },
    removals: { type: 'integer' },
    reason: { type: 'string' },
    error: { type: 'string' },
  },
} as const;

const countsSchema = { type: 'object', properties: { services: { type: 'integer' }, endpoints: { type: 'integer' } } } as const;

const statusSchema = {
  type: 'object',
  required: ['loaded', 'position', 'services', 'endpoints', 'problems', 'held', 'lastSnapshot', 'marathon'],
  properties: {
    loaded: { type: 'boolean' },
    position: { type: 'integer' },
    services: { type: 'integer' },
    endpoints: { type: 'integer' },
    problems: { type: 'integer' },
    held: {
      anyOf: [
        { type: 'null' },
        {
          type: 'object',
          properties: {
            reason: { type: 'string' },
            since: { type: 'string' },
            lastAt: { type: 'string' },
            attempts: { type: 'integer' },
            current: countsSchema,
            proposed: {
              anyOf: [
                { type: 'null' },
                {
                  type: 'object',
                  properties: {
                    apps: { type: 'integer' },
                    services: { type: 'integer' },
                    endpoints: { type: 'integer' },
                    removedServices: { type: 'integer' },
                  },
                },
              ],
            },
            error: { type: 'string' },
          },
        },
      ],
    },
    lastSnapshot: {
      anyOf: [{ type: 'null' }, { type: 'object', properties: { at: { type: 'string' }, result: { type: 'string' }, durationMs: { type: 'number' } } }],
    },
    marathon: {
      anyOf: [
        { type: 'null' },
        { type: 'object', properties: { lastSuccessAt: nullable('string'), lastError: nullable('string'), consecutiveFailures: { type: 'integer' } } },
      ],
    },
  },
} as const;

const envPattern = ENV_NAME_PATTERN;

/**
 * Registry routes: the published services per environment, problems, the held-snapshot state and
 * its release, and `POST /v1/sync` (a fresh Marathon snapshot; `force` bypasses the removal guard).
 */
export function registerServicesRoutes(app: FastifyInstance, deps: { registry: RegistryApi; sync?: MarathonSyncApi }): void {
  const { registry, sync } = deps;

  app.get<{ Querystring: { env?: string; limit?: number; cursor?: string } }>(
    '/v1/services',
    {
      schema: {
        tags: ['services'],
        summary: 'Published services, optionally of one environment, ordered by environment and app id; paged when limit is given',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { env: { type: 'string', pattern: envPattern }, ...pagingQuery(null, 10000) },
        },
        response: {
          200: {
            type: 'object',
            required: ['position', 'loaded', 'services', 'next'],
            properties: {
              position: { type: 'integer', description: 'journal position of the view this page was read from' },
              loaded: { type: 'boolean' },
              services: { type: 'array', items: serviceSchema },
              next: nextField,
            },
            headers: linkHeader,
          },
          ...errorResponses(400),
        },
      },
    },
    async (req, reply) => {
      const { position, loaded } = registry.current();
      const key = (s: Service): PageKey => [s.env, s.appId];
      const limit = req.query.limit ?? UNLIMITED;
      const sorted = registry.listServices(req.query.env); // sorted by (env, app id), codepoint order
      const page = finishPage(req, reply, pageOfSorted(sorted, key, readCursor(req, req.query.cursor, ['string', 'string']), limit), limit, key);
      return { position, loaded, services: page.items, next: page.next };
    },
  );

  app.get<{ Params: { env: string; domain: string } }>(
    '/v1/services/:env/:domain',
    {
      schema: {
        tags: ['services'],
        summary: 'The service that owns a domain in an environment',
        params: {
          type: 'object',
          required: ['env', 'domain'],
          properties: { env: { type: 'string', pattern: envPattern }, domain: { type: 'string', minLength: 1, maxLength: 254 } },
        },
        response: { 200: serviceSchema, ...errorResponses(400, 404) },
      },
    },
    async (req) => {
      const s = registry.findService(req.params.env, req.params.domain);
      if (!s) throw new BerthError('SERVICE_NOT_FOUND', `no service for ${req.params.domain} in environment ${req.params.env}`, { ...req.params });
      return s;
    },
  );

  app.get<{ Querystring: { code?: string; appId?: string; env?: string; source?: string; limit?: number; cursor?: string } }>(
    '/v1/problems',
    {
      schema: {
        tags: ['services'],
        summary: 'Open problems (invalid labels, conflicts, IPAM and Nginx rejections), ordered by app id and code; paged when limit is given',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            code: { type: 'string' },
            appId: { type: 'string' },
            env: { type: 'string' },
            source: { type: 'string' },
            ...pagingQuery(null, 10000),
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['problems', 'next'],
            properties: { problems: { type: 'array', items: problemSchema }, next: nextField },
            headers: linkHeader,
          },
          ...errorResponses(400),
        },
      },
    },
    async (req, reply) => {
      const q = req.query;
      // listProblems is sorted by (app id, code), codepoint order; one problem per pair.
      const matching = registry
        .listProblems()
        .filter(
          (p) => (!q.code || p.code === q.code) && (!q.appId || p.appId === q.appId) && (!q.env || p.env === q.env) && (!q.source || p.source === q.source),
        );
      const key = (p: StoredProblem): PageKey => [p.appId, p.code];
      const limit = q.limit ?? UNLIMITED;
      const page = finishPage(req, reply, pageOfSorted(matching, key, readCursor(req, q.cursor, ['string', 'string']), limit), limit, key);
      return { problems: page.items, next: page.next };
    },
  );

  app.get(
    '/v1/registry/status',
    { schema: { tags: ['services'], summary: 'Registry size, journal position, held snapshot, Marathon sync state', response: { 200: statusSchema } } },
    async () => ({ ...registry.status(), marathon: sync ? sync.status() : null }),
  );

  app.post(
    '/v1/registry/release',
    {
      schema: {
        tags: ['services'],
        summary: 'Apply the snapshot held by the removal guard',
        body: { type: ['object', 'null'], additionalProperties: false, properties: {} },
        response: {
          200: { type: 'object', required: ['released'], properties: { released: { type: 'boolean' }, outcome: { anyOf: [{ type: 'null' }, outcomeSchema] } } },
          ...errorResponses(401, 403, 409, 503),
        },
      },
    },
    async () => {
      const outcome = await registry.release();
      return { released: outcome !== null, outcome };
    },
  );

  if (sync) {
    app.post<{ Body: { force?: boolean } | null }>(
      '/v1/sync',
      {
        schema: {
          tags: ['services'],
          summary: 'Take a full Marathon snapshot now; force=true applies it even if the removal guard would hold it',
          body: { type: ['object', 'null'], additionalProperties: false, properties: { force: { type: 'boolean' } } },
          response: { 200: outcomeSchema, ...errorResponses(400, 401, 403, 409, 503) },
        },
      },
      async (req) => sync.syncNow({ force: req.body?.force === true }),
    );
  }
}
