/** IPAM list routes: a pool's allocations, allocations across pools, a pool's audit trail (all keyset-paged). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BerthError } from '../../errors';
import type { IpamService } from '../../ipam/service';
import type { AllocationFilter } from '../../ipam/store';
import type { Allocation } from '../../ipam/types';
import { allocationSchema, appIdQuery, eventSchema, poolParams } from '../../ipam/schemas';
import { finishPage, linkHeader, nextField, pagingQuery, readCursor, type PageKey } from '../paging';
import { errorResponses, MAX_ID } from '../schemas';

type PoolP = { pool: string };
const tags = ['ipam'];

/** Registers the IPAM list routes (called by registerIpamRoutes). */
export function registerIpamListRoutes(app: FastifyInstance, deps: { ipam: IpamService }): void {
  const { ipam } = deps;
  const listSchema = {
    type: 'object',
    required: ['allocations', 'next'],
    properties: { allocations: { type: 'array', items: allocationSchema }, next: nextField },
    headers: linkHeader,
  };
  const allocationPaging = pagingQuery(1000, 10000);
  const allocationKey = (a: Allocation): PageKey => [a.pool, a.ip];
  const allocationsPage = async (
    req: FastifyRequest<{ Querystring: { limit: number; cursor?: string } }>,
    reply: FastifyReply,
    filter: Omit<AllocationFilter, 'limit' | 'after'>,
  ) => {
    const key = readCursor(req, req.query.cursor, ['string', 'string']);
    if (key && filter.offset) throw new BerthError('BAD_REQUEST', 'use cursor or offset, not both', { param: 'offset' });
    const after = key && { pool: String(key[0]), ip: String(key[1]) };
    const fetched = await ipam.findAllocations({ ...filter, after, limit: req.query.limit + 1 });
    const page = finishPage(req, reply, fetched, req.query.limit, allocationKey);
    return { allocations: page.items, next: page.next };
  };

  // Search (the dashboard's allocation list): a literal substring of app id or address.
  const q = { type: 'string', minLength: 1, maxLength: 200, description: 'case-insensitive substring of the app id or address' };
  const offset = {
    type: 'integer',
    minimum: 0,
    maximum: 1_048_576,
    default: 0,
    description: 'allocations to skip (kept for older clients; a cursor does not skip or repeat rows when the list changes between pages)',
  };

  app.get<{ Params: PoolP; Querystring: { limit: number; cursor?: string; q?: string; offset: number } }>(
    '/v1/pools/:pool/allocations',
    {
      schema: {
        tags,
        summary: 'A pool\'s allocations, ordered by address; paged (Link rel="next" / next)',
        params: poolParams,
        querystring: { type: 'object', additionalProperties: false, properties: { ...allocationPaging, q, offset } },
        response: { 200: listSchema, ...errorResponses(400, 404, 503) },
      },
    },
    async (req, reply) => allocationsPage(req, reply, { pool: req.params.pool, q: req.query.q, offset: req.query.offset }),
  );

  app.get<{ Querystring: { appId?: string; limit: number; cursor?: string } }>(
    '/v1/allocations',
    {
      schema: {
        tags,
        summary: "An app's allocations in every pool (or all allocations), ordered by pool and address; paged",
        querystring: { type: 'object', additionalProperties: false, properties: { appId: appIdQuery, ...allocationPaging } },
        response: { 200: listSchema, ...errorResponses(400, 503) },
      },
    },
    async (req, reply) => allocationsPage(req, reply, { appId: req.query.appId }),
  );

  app.get<{ Params: PoolP; Querystring: { limit: number; cursor?: string; before?: number; appId?: string } }>(
    '/v1/pools/:pool/events',
    {
      schema: {
        tags,
        summary: 'Audit trail of a pool, newest first (append-only); paged',
        params: poolParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...pagingQuery(100, 1000),
            before: { type: 'integer', minimum: 1, maximum: MAX_ID, description: 'events with a smaller id (older paging; the cursor does the same)' },
            appId: appIdQuery,
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['events', 'next'],
            properties: { events: { type: 'array', items: eventSchema }, next: nextField },
            headers: linkHeader,
          },
          ...errorResponses(400, 404, 503),
        },
      },
    },
    async (req, reply) => {
      const key = readCursor(req, req.query.cursor, ['number']);
      if (key && req.query.before !== undefined) throw new BerthError('BAD_REQUEST', 'use cursor or before, not both', { param: 'before' });
      const beforeId = key ? Number(key[0]) : req.query.before;
      const fetched = await ipam.events(req.params.pool, { limit: req.query.limit + 1, beforeId, appId: req.query.appId });
      const page = finishPage(req, reply, fetched, req.query.limit, (e) => [e.id]);
      return { events: page.items, next: page.next };
    },
  );
}
