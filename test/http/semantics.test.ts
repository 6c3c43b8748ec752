/**
 * HTTP semantics of the API: ETag / If-None-Match / If-Match on pools and allocations, Location on
 * 201, WWW-Authenticate on 401, 405 with Allow, and body-less requests whatever their Content-Type.
 */
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { registerIpamRoutes } from '../../src/http/routes/ipam';
import { createIpam } from '../../src/ipam';
import { silentLogger } from '../../src/log';
import { testApp } from '../support/app';
import { describeEachEngine } from '../support/db';

const TOKEN = 'semantics-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const enc = encodeURIComponent;

describeEachEngine('HTTP semantics', (get) => {
  let app: FastifyInstance;
  beforeAll(async () => {
    const metricsRegistry = new Registry();
    const ipam = createIpam({ knex: get().knex, logger: silentLogger, metricsRegistry }).service;
    app = await testApp((a) => registerIpamRoutes(a, { ipam }), { metricsRegistry, apiTokens: [TOKEN] });
  });
  afterAll(() => app?.close());

  it('201 names the new resource in Location, and the resource has an ETag that If-None-Match turns into 304', async () => {
    const created = await app.inject({ method: 'POST', url: '/v1/pools', headers: auth, payload: { name: 'sem', cidr: '10.62.0.0/24' } });
    expect(created.statusCode).toBe(201);
    expect(created.headers.location).toBe('/v1/pools/sem');
    const pool = await app.inject({ url: created.headers.location as string });
    const etag = pool.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await app.inject({ url: '/v1/pools/sem', headers: { 'if-none-match': `"other", W/${etag}` } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    const alloc = await app.inject({ method: 'PUT', url: `/v1/pools/sem/allocations/${enc('/t/a')}`, headers: auth });
    expect(alloc.statusCode).toBe(201);
    expect(alloc.headers.location).toBe(`/v1/pools/sem/allocations/${enc('/t/a')}`);
    // The pool's usage changed: its old ETag no longer matches.
    expect((await app.inject({ url: '/v1/pools/sem', headers: { 'if-none-match': etag } })).statusCode).toBe(200);
    const a = await app.inject({ url: alloc.headers.location as string });
    expect(a.headers.etag).toBe(alloc.headers.etag);
    expect((await app.inject({ url: alloc.headers.location as string, headers: { 'if-none-match': a.headers.etag as string } })).statusCode).toBe(304);
  });

  it('If-Match on PUT and DELETE: 412 when the app holds another allocation (or none), applied when current', async () => {
    const url = `/v1/pools/sem/allocations/${enc('/t/b')}`;
    const first = await app.inject({ method: 'PUT', url, headers: auth });
    const oldTag = first.headers.etag as string;
    await app.inject({ method: 'DELETE', url, headers: auth });
    const second = await app.inject({ method: 'PUT', url, headers: auth });
    expect(second.headers.etag).not.toBe(oldTag);
    // A client that read the first allocation must not release the second one.
    const stale = await app.inject({ method: 'DELETE', url, headers: { ...auth, 'if-match': oldTag } });
    expect(stale.statusCode).toBe(412);
    expect(stale.json().code).toBe('PRECONDITION_FAILED');
    expect((await app.inject({ method: 'PUT', url, headers: { ...auth, 'if-match': oldTag } })).statusCode).toBe(412);
    expect((await app.inject({ method: 'PUT', url, headers: { ...auth, 'if-match': second.headers.etag as string } })).statusCode).toBe(200);
    expect((await app.inject({ url })).statusCode).toBe(200);
    const ok = await app.inject({ method: 'DELETE', url, headers: { ...auth, 'if-match': second.headers.etag as string } });
    expect(ok.statusCode).toBe(204);
    expect((await app.inject({ url })).statusCode).toBe(404);
    // Nothing held any more: If-Match (even *) cannot match.
    expect((await app.inject({ method: 'DELETE', url, headers: { ...auth, 'if-match': '*' } })).statusCode).toBe(412);
    const poolTag = (await app.inject({ url: '/v1/pools/sem' })).headers.etag as string;
    await app.inject({ method: 'PUT', url: `/v1/pools/sem/allocations/${enc('/t/c')}`, headers: auth });
    const del = await app.inject({ method: 'DELETE', url: '/v1/pools/sem?force=true', headers: { ...auth, 'if-match': poolTag } });
    expect(del.statusCode).toBe(412);
    expect((await app.inject({ url: '/v1/pools/sem' })).statusCode).toBe(200);
  });

  it('401 carries WWW-Authenticate: Bearer, with error="invalid_token" only when a token was sent', async () => {
    const none = await app.inject({ method: 'POST', url: '/v1/pools', payload: { name: 'x', cidr: '10.63.0.0/24' } });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="berth"');
    const wrong = await app.inject({
      method: 'POST',
      url: '/v1/pools',
      headers: { authorization: 'Bearer nope' },
      payload: { name: 'x', cidr: '10.63.0.0/24' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['www-authenticate']).toBe('Bearer realm="berth", error="invalid_token"');
  });

  it('a wrong method on a known path is 405 with Allow; an unknown path stays 404', async () => {
    const r = await app.inject({ method: 'PATCH', url: '/v1/pools/sem', headers: auth });
    expect(r.statusCode).toBe(405);
    expect(r.headers.allow).toBe('GET, HEAD, DELETE');
    expect(r.json().code).toBe('METHOD_NOT_ALLOWED');
    const list = await app.inject({ method: 'DELETE', url: '/v1/pools', headers: auth });
    expect([list.statusCode, list.headers.allow]).toEqual([405, 'GET, HEAD, POST']);
    expect((await app.inject({ method: 'PATCH', url: '/v1/nothing/here', headers: auth })).statusCode).toBe(404);
  });

  it('accepts body-less requests whatever their Content-Type', async () => {
    const url = `/v1/pools/sem/allocations/${enc('/t/d')}`;
    for (const type of ['application/json', 'text/plain', 'application/x-www-form-urlencoded']) {
      const put = await app.inject({ method: 'PUT', url, headers: { ...auth, 'content-type': type } });
      expect([type, put.statusCode]).toEqual([type, expect.any(Number)]);
      expect([type, put.statusCode < 300]).toEqual([type, true]);
      const del = await app.inject({ method: 'DELETE', url, headers: { ...auth, 'content-type': type, 'content-length': '0' } });
      expect([type, del.statusCode]).toEqual([type, 204]);
    }
    // A body of another type is still refused.
    const body = await app.inject({ method: 'PUT', url, headers: { ...auth, 'content-type': 'text/plain' }, payload: 'ip=1' });
    expect(body.statusCode).toBe(415);
  });
});
