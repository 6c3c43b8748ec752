/**
 * The served OpenAPI document: valid for a maintained validator, complete (security, every status
 * the shared layers answer, probes), and true: real answers match the schemas it documents.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { startBerth, TOKEN } from './full-berth';
import type { Berth } from '../../src/main';

type Doc = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };
type Operation = {
  security?: unknown[];
  parameters?: Array<{ name: string; in: string }>;
  responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, { schema: unknown }> }>;
};

describe('OpenAPI document', () => {
  let berth: Berth;
  let stop: () => Promise<void>;
  let doc: Doc;
  beforeAll(async () => {
    ({ berth, stop } = await startBerth());
    doc = (await (await fetch(`${berth.url}/v1/openapi.json`)).json()) as Doc;
  }, 120_000);
  afterAll(() => stop?.());

  it('passes swagger-parser validation (OpenAPI 3.0 schema and references)', async () => {
    const out = execFileSync(process.execPath, [path.join(__dirname, 'openapi-lint.cjs')], { input: JSON.stringify(doc), encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ ok: true, errors: [] });
    expect(doc.openapi).toBe('3.0.3');
  });

  it('documents the probes, bearer security on writes, and one shared error body', () => {
    for (const p of ['/healthz', '/readyz', '/metrics']) expect(doc.paths[p].get.security).toEqual([]);
    expect(doc.paths['/readyz'].get.responses['503']).toBeDefined();
    const writes = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.entries(ops)
        .filter(([m]) => m !== 'get')
        .map(([m, op]) => [`${m} ${p}`, op] as const),
    );
    expect(writes.length).toBeGreaterThan(10);
    for (const [name, op] of writes) {
      expect([name, op.security]).toEqual([name, [{ bearer: [] }]]);
      expect([name, op.responses['401']?.headers]).toEqual([name, { 'WWW-Authenticate': expect.anything() }]);
    }
    const errorRefs = new Set<string>();
    for (const [p, ops] of Object.entries(doc.paths))
      for (const op of Object.values(ops))
        for (const [status, r] of Object.entries(op.responses))
          // /readyz answers 503 with its own body (the failing checks), by design.
          if (Number(status) >= 400 && p !== '/readyz') errorRefs.add(JSON.stringify(r.content?.['application/json']?.schema));
    expect([...errorRefs]).toEqual([JSON.stringify({ $ref: '#/components/schemas/Error' })]);
    const createPool = doc.paths['/v1/pools'].post.responses;
    expect(Object.keys(createPool).sort()).toEqual(['201', '400', '401', '403', '409', '413', '415', '500', '503']);
  });

  it('documents conditional requests, Location and paging', () => {
    const alloc = doc.paths['/v1/pools/{pool}/allocations/{appId}'];
    expect(Object.keys(alloc.get.responses)).toEqual(expect.arrayContaining(['200', '304', '404']));
    expect(alloc.get.parameters?.map((p) => `${p.in} ${p.name}`)).toContain('header if-none-match');
    expect(Object.keys(alloc.delete.responses)).toEqual(expect.arrayContaining(['204', '409', '412']));
    expect(Object.keys(alloc.put.responses['201'].headers ?? {}).sort()).toEqual(['ETag', 'Location']);
    expect(Object.keys(doc.paths['/v1/pools/{pool}'].delete.responses)).toContain('412');
    for (const list of [
      '/v1/pools',
      '/v1/pools/{pool}/allocations',
      '/v1/allocations',
      '/v1/pools/{pool}/events',
      '/v1/services',
      '/v1/problems',
      '/v1/sync/runs',
    ]) {
      const op = doc.paths[list].get;
      expect([list, op.parameters?.filter((p) => p.in === 'query' && ['limit', 'cursor'].includes(p.name)).length]).toEqual([list, 2]);
      expect([list, Object.keys(op.responses['200'].headers ?? {})]).toEqual([list, ['Link']]);
    }
  });

  it('real answers match the documented response schemas', async () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema(doc.components.schemas.Error as object, '#/components/schemas/Error');
    const call = async (method: string, url: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(`${berth.url}${url}`, {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const documented = doc.paths[path][method.toLowerCase()].responses[String(res.status)];
      expect([method, url, res.status, documented !== undefined]).toEqual([method, url, res.status, true]);
      const schema = documented.content?.['application/json']?.schema;
      if (schema) {
        const validate = ajv.compile({ ...(schema as object), components: doc.components } as object);
        const json: unknown = await res.json();
        expect([url, validate(json) ? [] : validate.errors]).toEqual([url, []]);
      }
      return res;
    };
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await call('POST', '/v1/pools', '/v1/pools', { name: 'oa', cidr: '10.91.0.0/24' }, auth)).status).toBe(201);
    expect((await call('POST', '/v1/pools', '/v1/pools', { name: 'oa2', cidr: '10.92.0.0/24' })).status).toBe(401);
    expect((await call('PUT', '/v1/pools/oa/allocations/%2Fteam%2Fa', '/v1/pools/{pool}/allocations/{appId}', {}, auth)).status).toBe(201);
    expect((await call('GET', '/v1/pools/oa', '/v1/pools/{pool}')).status).toBe(200);
    expect((await call('GET', '/v1/pools/nope', '/v1/pools/{pool}')).status).toBe(404);
    expect((await call('GET', '/v1/pools/oa/allocations', '/v1/pools/{pool}/allocations')).status).toBe(200);
    expect((await call('GET', '/v1/allocations', '/v1/allocations')).status).toBe(200);
    expect((await call('GET', '/v1/pools/oa/events', '/v1/pools/{pool}/events')).status).toBe(200);
    expect((await call('GET', '/v1/services', '/v1/services')).status).toBe(200);
    expect((await call('GET', '/v1/problems', '/v1/problems')).status).toBe(200);
    expect((await call('GET', '/v1/cluster', '/v1/cluster')).status).toBe(200);
    expect((await call('GET', '/readyz', '/readyz')).status).toBeGreaterThanOrEqual(200);
    expect((await call('GET', '/healthz', '/healthz')).status).toBe(200);
  });
});
