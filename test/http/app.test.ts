import type { FastifyInstance } from 'fastify';
import { BerthError } from '../../src/errors';
import { testApp } from '../support/app';

function routes(app: FastifyInstance): void {
  app.post(
    '/v1/echo',
    {
      schema: {
        body: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string' } } },
        response: { 200: { type: 'object', properties: { name: { type: 'string' } } } },
      },
    },
    async (req) => req.body,
  );
  app.get('/v1/boom', async () => {
    throw new BerthError('POOL_EXHAUSTED', 'pool x exhausted', { available: 0 });
  });
  app.get('/v1/crash', async () => {
    throw new Error('secret internals');
  });
  app.get('/v1/dbdown', async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  });
}

describe('API shell', () => {
  let app: FastifyInstance;
  let tokenApp: FastifyInstance;
  beforeAll(async () => {
    app = await testApp(routes);
    tokenApp = await testApp(routes, { apiTokens: ['s3cret', 'other'] });
  });
  afterAll(async () => {
    await app.close();
    await tokenApp.close();
  });

  it('renders coded errors as {code, message, details} with their status', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/boom' });
    expect(r.statusCode).toBe(409);
    expect(r.json()).toEqual({ code: 'POOL_EXHAUSTED', message: 'pool x exhausted', details: { available: 0 } });
  });

  it('hides internal error messages behind INTERNAL', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/crash' });
    expect(r.statusCode).toBe(500);
    expect(r.json().code).toBe('INTERNAL');
    expect(r.body).not.toContain('secret internals');
  });

  it('answers 503 DATABASE_UNAVAILABLE when the database is down', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/dbdown' });
    expect(r.statusCode).toBe(503);
    expect(r.json().code).toBe('DATABASE_UNAVAILABLE');
  });

  it('refuses unknown JSON fields, bad JSON, wrong media type and bodies over 1 MiB', async () => {
    const unknown = await app.inject({ method: 'POST', url: '/v1/echo', payload: { name: 'a', nmae: 'typo' } });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().code).toBe('BAD_REQUEST');
    const bad = await app.inject({ method: 'POST', url: '/v1/echo', payload: '{"name":', headers: { 'content-type': 'application/json' } });
    expect(bad.statusCode).toBe(400);
    const media = await app.inject({ method: 'POST', url: '/v1/echo', payload: 'name=a', headers: { 'content-type': 'text/plain' } });
    expect(media.statusCode).toBe(415);
    const big = await app.inject({ method: 'POST', url: '/v1/echo', payload: { name: 'x'.repeat(1024 * 1024 + 10) } });
    expect(big.statusCode).toBe(413);
    expect(big.json().code).toBe('PAYLOAD_TOO_LARGE');
    const ok = await app.inject({ method: 'POST', url: '/v1/echo', payload: { name: 'a' } });
    expect(ok.json()).toEqual({ name: 'a' });
  });

  it('without tokens, accepts writes from loopback only', async () => {
    const remote = await app.inject({ method: 'POST', url: '/v1/echo', payload: { name: 'a' }, remoteAddress: '10.1.2.3' });
    expect(remote.statusCode).toBe(403);
    expect(remote.json().code).toBe('FORBIDDEN');
    const v6 = await app.inject({ method: 'POST', url: '/v1/echo', payload: { name: 'a' }, remoteAddress: '::1' });
    expect(v6.statusCode).toBe(200);
    const reads = await app.inject({ method: 'GET', url: '/healthz', remoteAddress: '10.1.2.3' });
    expect(reads.statusCode).toBe(200);
  });

  it('with tokens, requires a matching bearer token for writes from anywhere', async () => {
    const none = await tokenApp.inject({ method: 'POST', url: '/v1/echo', payload: { name: 'a' } });
    expect(none.statusCode).toBe(401);
    expect(none.json().code).toBe('UNAUTHORIZED');
    const wrong = await tokenApp.inject({ method: 'POST', url: '/v1/echo', payload: { name: 'a' }, headers: { authorization: 'Bearer s3cre' } });
    expect(wrong.statusCode).toBe(401);
    const right = await tokenApp.inject({
      method: 'POST',
      url: '/v1/echo',
      payload: { name: 'a' },
      headers: { authorization: 'Bearer other' },
      remoteAddress: '10.1.2.3',
    });
    expect(right.statusCode).toBe(200);
  });

  it('serves an OpenAPI document describing the routes', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/openapi.json' });
    expect(r.statusCode).toBe(200);
    const doc = r.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/echo', '/v1/boom']));
    // The probes are part of the contract too (monitoring is configured from it).
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/metrics']));
  });

  it('exposes Prometheus metrics including errors by code', async () => {
    await app.inject({ method: 'GET', url: '/v1/boom' });
    const r = await app.inject({ method: 'GET', url: '/metrics' });
    expect(r.headers['content-type']).toMatch(/text\/plain/);
    expect(r.body).toMatch(/berth_http_errors_total\{code="POOL_EXHAUSTED"\} [1-9]/);
  });

  it('answers unknown routes with NOT_FOUND', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/nothing?x=1' });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toEqual({ code: 'NOT_FOUND', message: 'no route for GET /v1/nothing', details: {} });
  });
});

describe('readiness', () => {
  it('is 503 with the failing check named until every check passes', async () => {
    let dbOk = false;
    const app = await testApp(() => undefined, { readiness: [{ name: 'database', check: async () => ({ ok: dbOk }) }] });
    const r1 = await app.inject({ method: 'GET', url: '/readyz' });
    expect(r1.statusCode).toBe(503);
    expect(r1.json()).toEqual({ ready: false, checks: { database: { ok: false } } });
    dbOk = true;
    const r2 = await app.inject({ method: 'GET', url: '/readyz' });
    expect(r2.statusCode).toBe(200);
    await app.close();
  });
});
