/** `GET /v1/live`: server-sent "changed" notices for the dashboard (see src/live/hub.ts). */
import type { FastifyInstance } from 'fastify';
import { BerthError } from '../../errors';
import type { LiveHub } from '../../live/hub';
import { TOPICS } from '../../live/fingerprint';

export function registerLiveRoutes(app: FastifyInstance, hub: LiveHub): void {
  // Streams are ended before the server closes, so `app.close()` (and `berth.stop()`) never waits on one.
  app.addHook('preClose', async () => hub.close());

  app.get(
    '/v1/live',
    {
      schema: {
        tags: ['dashboard'],
        summary: `Server-sent events: "changed" with {topics} (${TOPICS.join(', ')}) whenever one moves; re-read that part of the API then. 503 NOT_READY when too many clients listen`,
        produces: ['text/event-stream'],
      },
    },
    async (request, reply) => {
      if (!hub.canAccept()) throw new BerthError('NOT_READY', 'too many live clients; poll the API instead', { clients: hub.size() });
      reply.hijack();
      hub.attach(reply.raw);
      // Keep the socket open without Node's request timeouts cutting a quiet stream.
      request.raw.socket.setTimeout(0);
    },
  );
}
