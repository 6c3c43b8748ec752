import type { FastifyInstance } from 'fastify';
import type { SyncStatusView } from '../../nginx/sync-run';
import type { SyncRun, SyncRunStore } from '../../nginx/store';
import { BerthError } from '../../errors';
import { finishPage, linkHeader, nextField, pagingQuery, readCursor } from '../paging';
import { errorResponses, MAX_ID } from '../schemas';

/** What the routes need from the Nginx sync (NginxSync implements it). */
export interface NginxSyncApi {
  status(): SyncStatusView;
  release(): Promise<SyncRun>;
  syncNow(): Promise<SyncRun>;
}

const nullable = (type: string) => ({ type: [type, 'null'] });

const syncRunSchema = {
  type: 'object',
  required: ['startedAt', 'finishedAt', 'trigger', 'status', 'position', 'filesWritten', 'filesRemoved', 'reloaded'],
  properties: {
    id: { type: 'integer' },
    startedAt: { type: 'string', format: 'date-time' },
    finishedAt: { type: 'string', format: 'date-time' },
    trigger: { type: 'string', enum: ['interval', 'forced', 'release', 'retry'] },
    status: { type: 'string', enum: ['applied', 'unchanged', 'held', 'failed'] },
    position: { type: 'integer' },
    filesWritten: { type: 'integer' },
    filesRemoved: { type: 'integer' },
    reloaded: { type: 'boolean' },
    testOutput: nullable('string'),
    heldReason: nullable('string'),
    error: nullable('string'),
    offenders: { type: 'array', items: { type: 'object', properties: { env: { type: 'string' }, appId: { type: 'string' } } } },
  },
} as const;

const statusSchema = {
  type: 'object',
  required: ['held', 'lastRun', 'lastReloadAt', 'appliedPosition', 'excluded'],
  properties: {
    held: {
      anyOf: [{ type: 'null' }, { type: 'object', properties: { reason: { type: 'string' }, since: { type: 'string' }, position: { type: 'integer' } } }],
    },
    lastRun: { anyOf: [{ type: 'null' }, syncRunSchema] },
    lastReloadAt: nullable('string'),
    appliedPosition: nullable('integer'),
    excluded: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          env: { type: 'string' },
          appId: { type: 'string' },
          path: { type: 'string' },
          failures: { type: 'integer' },
          retryAt: { type: 'string' },
        },
      },
    },
    generation: { ...nullable('string'), description: 'generation id of the configuration last applied (docs/nginx.md "Confirmed reloads")' },
    unconfirmed: {
      anyOf: [{ type: 'null' }, { type: 'object', properties: { generation: { type: 'string' }, reason: { type: 'string' }, since: { type: 'string' } } }],
      description: 'set while Nginx does not answer the generation berth reloaded it with',
    },
  },
} as const;

const emptyBody = { type: 'object', additionalProperties: false, properties: {} } as const;

// These POSTs take no input; a client sending no body at all (`curl -X POST`) is fine too.
const noBodyIsEmpty = async (request: { body: unknown }) => {
  if (request.body === undefined || request.body === null) request.body = {};
};

/**
 * Nginx sync routes: run history, status (held?), release of a held sync, and forcing a render.
 * (`POST /v1/sync`, a fresh Marathon snapshot, belongs to the registry.)
 */
export function registerSyncRoutes(app: FastifyInstance, deps: { nginxSync: NginxSyncApi; syncRuns: SyncRunStore }): void {
  app.get<{ Querystring: { limit: number; cursor?: string; before?: number } }>(
    '/v1/sync/runs',
    {
      schema: {
        tags: ['sync'],
        summary: 'Nginx sync runs, newest first; paged',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...pagingQuery(50, 1000),
            before: { type: 'integer', minimum: 1, maximum: MAX_ID, description: 'runs with a smaller id (older paging; the cursor does the same)' },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['runs', 'next'],
            properties: { runs: { type: 'array', items: syncRunSchema }, next: nextField },
            headers: linkHeader,
          },
          ...errorResponses(400, 503),
        },
      },
    },
    async (request, reply) => {
      const key = readCursor(request, request.query.cursor, ['number']);
      if (key && request.query.before !== undefined) throw new BerthError('BAD_REQUEST', 'use cursor or before, not both', { param: 'before' });
      const limit = request.query.limit;
      const fetched = await deps.syncRuns.list({ limit: limit + 1, beforeId: key ? Number(key[0]) : request.query.before });
      // Runs without an id (not stored) cannot be paged past; they only occur in memory-only setups.
      const page = finishPage(request, reply, fetched, limit, (r) => [r.id ?? 0]);
      return { runs: page.items, next: page.next };
    },
  );

  app.get(
    '/v1/sync/status',
    { schema: { tags: ['sync'], summary: 'Whether a sync is held, the last run and excluded services', response: { 200: statusSchema } } },
    async () => deps.nginxSync.status(),
  );

  app.post(
    '/v1/sync/release',
    {
      preValidation: noBodyIsEmpty,
      schema: {
        tags: ['sync'],
        summary: 'Apply a sync held by the mass-removal guard (bypasses the guard once)',
        body: emptyBody,
        response: {
          200: {
            type: 'object',
            required: ['released', 'run'],
            properties: { released: { type: 'boolean' }, run: { anyOf: [{ type: 'null' }, syncRunSchema] } },
          },
          ...errorResponses(401, 403),
        },
      },
    },
    async () => {
      if (!deps.nginxSync.status().held) return { released: false, run: null };
      return { released: true, run: await deps.nginxSync.release() };
    },
  );

  app.post(
    '/v1/sync/nginx',
    {
      preValidation: noBodyIsEmpty,
      schema: {
        tags: ['sync'],
        summary: 'Render and apply the Nginx files now (the guard still applies)',
        body: emptyBody,
        response: { 200: { type: 'object', required: ['run'], properties: { run: syncRunSchema } }, ...errorResponses(401, 403) },
      },
    },
    async () => ({ run: await deps.nginxSync.syncNow() }),
  );
}
