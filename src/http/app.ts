import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../log';
import { makeAccessGuard } from './auth';
import { makeErrorHandler } from './errors';
import { registerJsonBodies } from './json-body';
import { createHttpMetrics } from './metrics';
import { methodAwareNotFound } from './methods';
import { registerOpenApi } from './openapi';
import { errorResponses, errorSchema } from './schemas';

/** One readiness check; `/readyz` is ready when every check is ok. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<{ ok: boolean; detail?: unknown }>;
}

export interface AppDeps {
  logger: Logger;
  metricsRegistry: Registry;
  apiTokens: readonly string[];
  /** BERTH_API_ALLOWED_ORIGINS: browser origins accepted without a token (default none). */
  allowedOrigins?: readonly string[];
  /** BERTH_API_ALLOWED_HOSTS (and the configured listen host): names accepted in `Host` without a token. */
  allowedHosts?: readonly string[];
  readiness: readonly ReadinessCheck[];
  /** Registers the concern routes (IPAM, services, sync, …). */
  register(app: FastifyInstance): void;
  /** Extra fields for `/healthz` (version, role). */
  info?: () => Record<string, unknown>;
}

const MIB = 1024 * 1024;
const MAX_PARAM_LENGTH = 1024;

/** Builds the API without listening (tests use `app.inject()`). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // One log line per meaningful change (docs/architecture.md "Logs"), not one per request.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MIB,
    // Unknown fields are errors, not silently dropped (a typo must not allocate the wrong thing).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true } },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
  });
  const metrics = createHttpMetrics(deps.metricsRegistry);
  // The API speaks JSON only; other bodies get 415 rather than a confusing schema error.
  app.removeContentTypeParser('text/plain');
  registerJsonBodies(app, MIB);
  app.setErrorHandler(makeErrorHandler(deps.logger, metrics));
  app.setNotFoundHandler(methodAwareNotFound(app, MAX_PARAM_LENGTH));
  const guard = makeAccessGuard({ tokens: deps.apiTokens, allowedOrigins: deps.allowedOrigins, allowedHosts: deps.allowedHosts });
  app.addHook('onRequest', async (request) => guard(request));
  app.addHook('onResponse', async (request, reply) => {
    metrics.duration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: `${Math.floor(reply.statusCode / 100)}xx` },
      reply.elapsedTime / 1000,
    );
  });
  app.addSchema(errorSchema);

  await registerOpenApi(app);

  const probe = { tags: ['probes'] };
  app.get(
    '/healthz',
    {
      schema: {
        ...probe,
        summary: 'Alive (the process answers); version and role',
        response: { 200: { type: 'object', additionalProperties: true, properties: { status: { type: 'string', enum: ['ok'] } } } },
      },
    },
    async () => ({ status: 'ok', ...(deps.info?.() ?? {}) }),
  );
  const readyBody = {
    type: 'object',
    required: ['ready', 'checks'],
    properties: {
      ready: { type: 'boolean' },
      checks: { type: 'object', additionalProperties: true, description: 'one entry per readiness check with ok and, when failing, a reason' },
    },
  };
  app.get(
    '/readyz',
    {
      schema: {
        ...probe,
        summary: 'Ready when every readiness check passes (200), else 503 with the same body',
        response: { 200: readyBody, 503: { ...readyBody, description: 'not ready' } },
      },
    },
    async (_req, reply) => {
      const checks: Record<string, unknown> = {};
      let ready = true;
      for (const c of deps.readiness) {
        const r = await c.check().catch((e: Error) => ({ ok: false, detail: e.message }));
        checks[c.name] = r;
        ready &&= r.ok;
      }
      return reply.status(ready ? 200 : 503).send({ ready, checks });
    },
  );
  app.get(
    '/metrics',
    {
      schema: {
        ...probe,
        summary: 'Prometheus metrics (text exposition format 0.0.4)',
        produces: ['text/plain'],
        response: { 200: { type: 'string', description: 'metric families, one HELP and TYPE line each' } },
      },
    },
    async (_req, reply) => reply.header('content-type', deps.metricsRegistry.contentType).send(await deps.metricsRegistry.metrics()),
  );
  app.get(
    '/v1/openapi.json',
    {
      schema: {
        tags: ['meta'],
        summary: 'This OpenAPI 3.0 document',
        response: { 200: { type: 'object', additionalProperties: true }, ...errorResponses(403) },
      },
    },
    async () => app.swagger(),
  );

  deps.register(app);
  await app.ready();
  return app;
}
