import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildApp, type AppDeps } from '../../src/http/app';
import { silentLogger } from '../../src/log';

/** An API instance with only the given routes, for `app.inject()` tests. */
export async function testApp(register: (app: FastifyInstance) => void, extra: Partial<AppDeps> = {}): Promise<FastifyInstance> {
  return buildApp({
    logger: silentLogger,
    metricsRegistry: new Registry(),
    apiTokens: [],
    readiness: [],
    register,
    ...extra,
  });
}
