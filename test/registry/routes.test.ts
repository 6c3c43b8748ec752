import type { FastifyInstance } from 'fastify';
import { registerServicesRoutes, type MarathonSyncApi, type RegistryApi } from '../../src/http/routes/services';
import type { Registry } from '../../src/registry/registry';
import { anApp, aTask, withDomain, withTasks } from '../support/builders';
import { testApp } from '../support/app';
import { describeEachEngine } from '../support/db';
import { openRegistry, resetRegistryTables } from './helpers';
import { parseApp } from '../../src/model/spec';
import { serviceWith } from '../../src/model/endpoints';

describeEachEngine('services API', (db) => {
  let registry: Registry;
  let app: FastifyInstance;
  const syncCalls: Array<{ force?: boolean }> = [];
  const sync: MarathonSyncApi = {
    async syncNow(opts) {
      syncCalls.push(opts ?? {});
      return { result: 'unchanged', position: 1, upserts: 0, removals: 0 };
    },
    status: () => ({ lastSuccessAt: '2026-01-01T00:00:00.000Z', lastError: null, consecutiveFailures: 0 }),
  };

  beforeAll(async () => {
    await resetRegistryTables(db().knex);
    ({ registry } = await openRegistry(db().knex));
    await registry.applySnapshot([
      anApp({ id: '/web' }, withDomain('web.berth.internal'), withTasks(aTask({ id: 'web.1', host: '10.0.0.1' }))),
      anApp({ id: '/qa/web' }, withDomain('web.berth.internal', { 'berth.env': 'qa' }), withTasks(aTask({ id: 'qa_web.1', host: '10.0.0.2' }))),
      anApp({ id: '/bad' }, withDomain('bad.com', { 'berth.proxy': 'tcp' })),
    ]);
    app = await testApp((a) => registerServicesRoutes(a, { registry: registry as RegistryApi, sync }));
  });
  afterAll(async () => app?.close());

  test('GET /v1/services lists every environment, or one', async () => {
    const all = await app.inject({ method: 'GET', url: '/v1/services' });
    expect(all.statusCode).toBe(200);
    expect(all.json()).toMatchObject({
      loaded: true,
      services: [
        { env: 'default', appId: '/web' },
        { env: 'qa', appId: '/qa/web' },
      ],
    });
    const qa = await app.inject({ method: 'GET', url: '/v1/services?env=qa' });
    expect(qa.json().services.map((s: { appId: string }) => s.appId)).toEqual(['/qa/web']);
  });

  test('GET /v1/services?env= refuses a malformed environment', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/services?env=../x' });
    expect(r.statusCode).toBe(400);
    expect(r.json().code).toBe('BAD_REQUEST');
  });

  test('GET /v1/services/:env/:domain answers the owner per environment, 404 otherwise', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/services/qa/web.berth.internal' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ appId: '/qa/web', endpoints: [{ taskId: 'qa_web.1', address: '10.0.0.2', port: 31000 }] });
    const missing = await app.inject({ method: 'GET', url: '/v1/services/default/nope.berth.internal' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('SERVICE_NOT_FOUND');
  });

  test('GET /v1/problems lists problems with a stable code and can filter', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/problems' });
    expect(r.json().problems).toEqual([expect.objectContaining({ code: 'LABEL_LISTEN_REQUIRED', appId: '/bad', source: 'model', since: expect.any(String) })]);
    const none = await app.inject({ method: 'GET', url: '/v1/problems?code=DOMAIN_CONFLICT' });
    expect(none.json().problems).toEqual([]);
  });

  test('GET /v1/registry/status shows sizes, the held state and the Marathon sync', async () => {
    await registry.applySnapshot([]);
    const r = await app.inject({ method: 'GET', url: '/v1/registry/status' });
    expect(r.json()).toMatchObject({
      loaded: true,
      services: 2,
      endpoints: 2,
      problems: 1,
      held: { reason: 'empty', current: { services: 2, endpoints: 2 }, proposed: { apps: 0 } },
      marathon: { consecutiveFailures: 0 },
    });
  });

  test('POST /v1/sync takes a snapshot; force passes through; unknown fields are refused', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/sync', payload: { force: true } });
    expect(r.statusCode).toBe(200);
    expect(syncCalls.at(-1)).toEqual({ force: true });
    const bad = await app.inject({ method: 'POST', url: '/v1/sync', payload: { forse: true } });
    expect(bad.statusCode).toBe(400);
  });

  test('POST /v1/registry/release applies the held snapshot', async () => {
    await registry.applySnapshot([]);
    const r = await app.inject({ method: 'POST', url: '/v1/registry/release', payload: {} });
    expect(r.json()).toMatchObject({ released: true, outcome: { result: 'applied', removals: 2 } });
    const again = await app.inject({ method: 'POST', url: '/v1/registry/release' });
    expect(again.json()).toEqual({ released: false, outcome: null });
  });
});

describe('services API: proxy options', () => {
  test('every option a service carries is in the answer, berth.sticky included (the response schema lists it)', async () => {
    const r = parseApp(anApp({ id: '/sticky' }, withDomain('sticky.berth.internal', { 'berth.sticky': 'Cookie', 'berth.allow': '10.0.0.0/8' })), {
      defaultEnv: 'default',
    });
    if (r.kind !== 'spec') throw new Error('expected a spec');
    const service = serviceWith(r.spec, []);
    const registry = { findService: () => service, listServices: () => [service] } as unknown as RegistryApi;
    const app = await testApp((a) => registerServicesRoutes(a, { registry }));
    try {
      const one = await app.inject({ method: 'GET', url: '/v1/services/default/sticky.berth.internal' });
      expect(one.json().options).toEqual({ allow: ['10.0.0.0/8'], sticky: 'cookie' });
    } finally {
      await app.close();
    }
  });
});
