/**
 * 405 for a known path with a method it does not serve: a second router holding every route's
 * path (fastify's own cannot be asked which methods match a concrete URL) answers which methods
 * would; the not-found handler then sends 405 METHOD_NOT_ALLOWED with `Allow` instead of a 404.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import FindMyWay from 'find-my-way';
import { BerthError } from '../errors';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/** Records every route (call before registering routes); returns the handler for unmatched requests. */
export function methodAwareNotFound(app: FastifyInstance, maxParamLength: number): (request: FastifyRequest, reply: FastifyReply) => void {
  const router = FindMyWay({ maxParamLength });
  const noop = () => undefined;
  app.addHook('onRoute', (route) => {
    for (const m of [route.method].flat()) {
      if (!router.hasRoute(m as (typeof METHODS)[number], route.url)) router.on(m as (typeof METHODS)[number], route.url, noop);
    }
  });
  return (request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = METHODS.filter((m) => router.find(m, path) !== null);
    if (allowed.length > 0) {
      void reply.header('allow', allowed.join(', '));
      throw new BerthError('METHOD_NOT_ALLOWED', `${request.method} is not served on ${path}; allowed: ${allowed.join(', ')}`, { allow: allowed });
    }
    throw new BerthError('NOT_FOUND', `no route for ${request.method} ${path}`);
  };
}
