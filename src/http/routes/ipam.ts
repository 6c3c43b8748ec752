/** IPAM routes: pools, allocations, audit, Docker network command (and `/v1/apps/prepare`). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BerthError } from '../../errors';
import type { IpamService } from '../../ipam/service';
import type { Allocation, PoolSpec } from '../../ipam/types';
import { allocateBody, allocatePostBody, allocationParams, allocationSchema, poolParams, poolSchema, poolSpecSchema } from '../../ipam/schemas';
import { allocationEtag, checkIfMatch, ifMatch, notModified, representationEtag } from '../conditional';
import { compareKeys, finishPage, linkHeader, nextField, pageOfSorted, pagingQuery, readCursor } from '../paging';
import { errorResponses, etagHeader, ifMatchHeader, ifNoneMatchHeader, locationHeader, MAX_ID, notModifiedResponse } from '../schemas';
import { allocationUrl, poolUrl } from '../urls';
import { registerAppsRoutes } from './apps';
import { registerIpamListRoutes } from './ipam-lists';

type PoolP = { pool: string };
type AllocP = { pool: string; appId: string };

/** Who made the change, for the audit trail. */
export function actorOf(request: FastifyRequest): string {
  return `api:${request.ip}`;
}

const tags = ['ipam'];

/** Registers every IPAM route, including `POST /v1/apps/prepare`. */
export function registerIpamRoutes(app: FastifyInstance, deps: { ipam: IpamService }): void {
  const { ipam } = deps;

  app.post<{ Body: PoolSpec }>(
    '/v1/pools',
    {
      schema: {
        tags,
        summary: 'Create a pool (populated at once; a /16 takes about a second)',
        body: poolSpecSchema,
        response: { 201: { ...poolSchema, headers: { ...locationHeader, ...etagHeader } }, ...errorResponses(400, 401, 403, 409, 503) },
      },
    },
    async (req, reply) => {
      const pool = await ipam.createPool(req.body, actorOf(req));
      return reply.status(201).header('location', poolUrl(pool.name)).header('etag', representationEtag(pool)).send(pool);
    },
  );

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/v1/pools',
    {
      schema: {
        tags,
        summary: 'List pools with usage, ordered by name; paged',
        querystring: { type: 'object', additionalProperties: false, properties: pagingQuery(1000, 1000) },
        response: {
          200: {
            type: 'object',
            required: ['pools', 'next'],
            properties: { pools: { type: 'array', items: poolSchema }, next: nextField },
            headers: linkHeader,
          },
          ...errorResponses(503),
        },
      },
    },
    async (req, reply) => {
      const after = readCursor(req, req.query.cursor, ['string']);
      // Pools are few: page in memory, in codepoint order (the database's collation may order `-` and `.` otherwise).
      const pools = (await ipam.listPools()).sort((a, b) => compareKeys([a.name], [b.name]));
      const page = finishPage(
        req,
        reply,
        pageOfSorted(pools, (p) => [p.name], after, req.query.limit),
        req.query.limit,
        (p) => [p.name],
      );
      return { pools: page.items, next: page.next };
    },
  );

  app.get<{ Params: PoolP }>(
    '/v1/pools/:pool',
    {
      schema: {
        tags,
        summary: 'A pool and its usage (capacity, allocated, quarantined, reserved, available); ETag, If-None-Match',
        params: poolParams,
        headers: ifNoneMatchHeader,
        response: { 200: { ...poolSchema, headers: etagHeader }, 304: notModifiedResponse, ...errorResponses(400, 404, 503) },
      },
    },
    async (req, reply) => {
      const pool = await ipam.getPool(req.params.pool);
      return notModified(req, reply, representationEtag(pool)) ? reply : pool;
    },
  );

  app.delete<{ Params: PoolP; Querystring: { force?: boolean } }>(
    '/v1/pools/:pool',
    {
      schema: {
        tags,
        summary: 'Delete a pool; refused (POOL_IN_USE) while addresses are allocated unless force=true; If-Match: only while unchanged',
        params: poolParams,
        headers: ifMatchHeader,
        querystring: { type: 'object', additionalProperties: false, properties: { force: { type: 'boolean', default: false } } },
        response: { 204: { type: 'null', description: 'deleted' }, ...errorResponses(400, 401, 403, 404, 409, 412, 503) },
      },
    },
    async (req, reply) => {
      if (ifMatch(req)) checkIfMatch(req, representationEtag(await ipam.getPool(req.params.pool)));
      await ipam.deletePool(req.params.pool, { force: req.query.force, actor: actorOf(req) });
      return reply.status(204).send();
    },
  );

  const allocateResponses = {
    200: { ...allocationSchema, headers: etagHeader },
    201: { ...allocationSchema, headers: { ...locationHeader, ...etagHeader } },
    ...errorResponses(400, 401, 403, 404, 409, 412, 503),
  };
  const sendAllocation = (reply: FastifyReply, r: { allocation: Allocation; created: boolean }) => {
    void reply.header('etag', allocationEtag(r.allocation.allocationId));
    if (r.created) void reply.header('location', allocationUrl(r.allocation));
    return reply.status(r.created ? 201 : 200).send(r.allocation);
  };
  /** The app's current allocation, or null (not an error: If-Match then fails with 412). */
  const currentAllocation = (pool: string, appId: string) =>
    ipam.getAllocation(pool, appId).catch((err: unknown) => {
      if (err instanceof BerthError && err.code === 'ALLOCATION_NOT_FOUND') return null;
      throw err;
    });

  app.put<{ Params: AllocP; Body: { ip?: string } | null }>(
    '/v1/pools/:pool/allocations/:appId',
    {
      schema: {
        tags,
        summary:
          'Allocate (idempotent): 201 with a new address, 200 with the address the app already holds; If-Match: only while the app holds that allocation',
        params: allocationParams,
        headers: ifMatchHeader,
        body: allocateBody,
        response: allocateResponses,
      },
    },
    async (req, reply) => {
      if (ifMatch(req)) {
        const current = await currentAllocation(req.params.pool, req.params.appId);
        checkIfMatch(req, current && allocationEtag(current.allocationId));
      }
      return sendAllocation(reply, await ipam.allocate(req.params.pool, req.params.appId, { ip: req.body?.ip, actor: actorOf(req) }));
    },
  );

  app.post<{ Params: PoolP; Body: { appId: string; ip?: string } }>(
    '/v1/pools/:pool/allocations',
    {
      schema: {
        tags,
        summary: 'Allocate with the app id in the body (for proxies that mangle %2F); same semantics as PUT',
        params: poolParams,
        body: allocatePostBody,
        response: allocateResponses,
      },
    },
    async (req, reply) => sendAllocation(reply, await ipam.allocate(req.params.pool, req.body.appId, { ip: req.body.ip, actor: actorOf(req) })),
  );

  app.get<{ Params: AllocP }>(
    '/v1/pools/:pool/allocations/:appId',
    {
      schema: {
        tags,
        summary: "The app's current allocation; ETag, If-None-Match",
        params: allocationParams,
        headers: ifNoneMatchHeader,
        response: { 200: { ...allocationSchema, headers: etagHeader }, 304: notModifiedResponse, ...errorResponses(400, 404, 503) },
      },
    },
    async (req, reply) => {
      const a = await ipam.getAllocation(req.params.pool, req.params.appId);
      return notModified(req, reply, allocationEtag(a.allocationId)) ? reply : a;
    },
  );

  app.delete<{ Params: AllocP; Querystring: { allocationId?: number } }>(
    '/v1/pools/:pool/allocations/:appId',
    {
      schema: {
        tags,
        summary:
          'Release into quarantine; 204 also when nothing is held. With allocationId, 409 STALE_ALLOCATION if the app holds a newer allocation; with If-Match, 412 unless the app holds that allocation',
        params: allocationParams,
        headers: ifMatchHeader,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { allocationId: { type: 'integer', minimum: 1, maximum: MAX_ID, description: 'release only this allocation (fencing)' } },
        },
        response: { 204: { type: 'null', description: 'released (or nothing was held)' }, ...errorResponses(400, 401, 403, 404, 409, 412, 503) },
      },
    },
    async (req, reply) => {
      let allocationId = req.query.allocationId;
      if (ifMatch(req)) {
        const current = await currentAllocation(req.params.pool, req.params.appId);
        checkIfMatch(req, current && allocationEtag(current.allocationId));
        if (allocationId !== undefined && allocationId !== current!.allocationId) {
          throw new BerthError('PRECONDITION_FAILED', 'If-Match and allocationId name different allocations', { allocationId });
        }
        // The release itself is fenced on the matched allocation, so a re-allocation in between is not released.
        allocationId = current!.allocationId;
      }
      try {
        await ipam.release(req.params.pool, req.params.appId, { allocationId, actor: actorOf(req) });
      } catch (err) {
        if (ifMatch(req) && err instanceof BerthError && err.code === 'STALE_ALLOCATION') {
          throw new BerthError('PRECONDITION_FAILED', 'If-Match: the allocation changed since it was read', err.details);
        }
        throw err;
      }
      return reply.status(204).send();
    },
  );

  app.get<{ Params: PoolP }>(
    '/v1/pools/:pool/docker-network',
    {
      schema: {
        tags,
        summary: 'The `docker network create` command matching the pool (subnet, gateway, ip-range, aux addresses, bridge name)',
        params: poolParams,
        response: {
          200: { type: 'object', properties: { network: { type: 'string' }, command: { type: 'string' }, argv: { type: 'array', items: { type: 'string' } } } },
          ...errorResponses(400, 404, 503),
        },
      },
    },
    async (req) => ipam.dockerNetwork(req.params.pool),
  );

  const reservation = { type: 'string', maxLength: 100, description: 'an address, a CIDR or a first-last range inside the pool' } as const;
  const reservationResult = {
    type: 'object',
    properties: { pool: { type: 'string' }, address: { type: 'string' }, addresses: { type: 'integer', description: 'addresses whose state changed' } },
  };

  app.post<{ Params: PoolP; Body: { address: string; reason?: string } }>(
    '/v1/pools/:pool/reservations',
    {
      schema: {
        tags,
        summary: 'Reserve addresses (refused with ADDRESS_TAKEN while any of them is allocated)',
        params: poolParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['address'],
          properties: { address: reservation, reason: { type: 'string', maxLength: 200, description: 'why (shown in the audit trail)' } },
        },
        response: { 200: reservationResult, ...errorResponses(400, 401, 403, 404, 409, 503) },
      },
    },
    async (req) => ipam.reserve(req.params.pool, req.body.address, { reason: req.body.reason, actor: actorOf(req) }),
  );

  app.delete<{ Params: PoolP; Querystring: { address: string } }>(
    '/v1/pools/:pool/reservations',
    {
      schema: {
        tags,
        summary: 'Free operator reservations (the gateway and Docker aux addresses / ip-range stay reserved)',
        params: poolParams,
        querystring: { type: 'object', additionalProperties: false, required: ['address'], properties: { address: reservation } },
        response: { 200: reservationResult, ...errorResponses(400, 401, 403, 404, 503) },
      },
    },
    async (req) => ipam.unreserve(req.params.pool, req.query.address, { actor: actorOf(req) }),
  );

  registerIpamListRoutes(app, { ipam });
  registerAppsRoutes(app, { ipam });
}
