/** `POST /v1/apps/prepare`: fill a Marathon app definition's fixed IP before it is deployed. */
import type { FastifyInstance } from 'fastify';
import type { IpamService } from '../../ipam/service';
import { errorResponses } from '../schemas';
import { allocationUrl } from '../urls';

const definition = {
  type: 'object',
  additionalProperties: true,
  description: 'a Marathon app definition (fields other than id, instances, labels and container are passed through untouched)',
  required: ['id'],
  properties: { id: { type: 'string', description: 'Marathon app id, e.g. /team/app-1' } },
} as const;

/** Registers `POST /v1/apps/prepare` (also called by registerIpamRoutes). */
export function registerAppsRoutes(app: FastifyInstance, deps: { ipam: IpamService }): void {
  app.post<{ Body: Record<string, unknown> }>(
    '/v1/apps/prepare',
    {
      schema: {
        tags: ['ipam'],
        summary: 'Allocate for berth.ip=auto or auto:<pool> and return the definition with the literal IP label and Docker net/ip parameters',
        description:
          'Returns the definition ready to POST to Marathon: 201 when an address was allocated now, 200 when the app already held one or asked for none. ' +
          'Headers x-berth-pool, x-berth-ip and x-berth-allocation-id carry the allocation; on 201 Location names it.',
        body: definition,
        response: {
          200: definition,
          201: { ...definition, headers: { Location: { type: 'string', description: 'URL of the allocation made' } } },
          ...errorResponses(400, 401, 403, 404, 409, 503),
        },
      },
    },
    async (req, reply) => {
      const r = await deps.ipam.prepareApp(req.body, `api:${req.ip}`);
      if (r.allocation) {
        void reply
          .header('x-berth-pool', r.allocation.pool)
          .header('x-berth-ip', r.allocation.ip)
          .header('x-berth-allocation-id', String(r.allocation.allocationId));
        if (r.created) void reply.header('location', allocationUrl(r.allocation));
      }
      return reply.status(r.created ? 201 : 200).send(r.app);
    },
  );
}
