/**
 * Per-port services through the registry (docs/labels.md "Several ports"): each published port is
 * its own stored service, keyed (app id, port); it survives a restart, is followed by a standby
 * through the journal, shows its `port` in the API and leaves alone when its labels go.
 */
import type { FastifyInstance } from 'fastify';
import { registerServicesRoutes, type MarathonSyncApi, type RegistryApi } from '../../src/http/routes/services';
import type { App } from '../../src/marathon/types';
import { anApp, aTask, aStatus } from '../support/builders';
import { testApp } from '../support/app';
import { describeEachEngine } from '../support/db';
import { openRegistry, resetRegistryTables } from './helpers';

const sync: MarathonSyncApi = {
  syncNow: async () => ({ result: 'unchanged', position: 1, upserts: 0, removals: 0 }),
  status: () => ({ lastSuccessAt: null, lastError: null, consecutiveFailures: 0 }),
};

const twoPorts = (labels: Record<string, string>, ...taskIds: string[]): App =>
  anApp({
    id: '/shop/api',
    portDefinitions: [
      { port: 8080, name: 'web' },
      { port: 9090, name: 'admin' },
    ],
    labels,
    tasks: taskIds.map((id, i) => aTask({ id, host: `10.0.0.${i + 1}`, ports: [31000 + i * 10, 31001 + i * 10], state: 'TASK_RUNNING' })),
  });
const LABELS = { 'berth.domain': 'api.shop.berth.internal', 'berth.port.admin.domain': 'admin.shop.berth.internal' };
const view = (services: Array<{ port?: string; domains: string[]; endpoints: Array<{ address: string; port: number }> }>) =>
  services.map((s) => [s.port ?? null, s.domains[0], s.endpoints.map((e) => `${e.address}:${e.port}`)]);

describeEachEngine('per-port services in the registry', (db) => {
  let app: FastifyInstance | undefined;
  beforeEach(() => resetRegistryTables(db().knex));
  afterEach(async () => app?.close());

  test('two services for one app, each with its host port; the API shows the port', async () => {
    const { registry } = await openRegistry(db().knex);
    await registry.applySnapshot([twoPorts(LABELS, 'shop_api.1')]);
    expect(view(registry.current().services)).toEqual([
      [null, 'api.shop.berth.internal', ['10.0.0.1:31000']],
      ['admin', 'admin.shop.berth.internal', ['10.0.0.1:31001']],
    ]);
    app = await testApp((a) => registerServicesRoutes(a, { registry: registry as RegistryApi, sync }));
    const res = await app.inject({ method: 'GET', url: '/v1/services' });
    const listed = res.json().services as Array<Record<string, unknown>>;
    expect(listed.map((s) => [s.appId, s.port, s.domains])).toEqual([
      ['/shop/api', undefined, ['api.shop.berth.internal']],
      ['/shop/api', 'admin', ['admin.shop.berth.internal']],
    ]);
    const one = await app.inject({ method: 'GET', url: '/v1/services/default/admin.shop.berth.internal' });
    expect(one.json()).toMatchObject({ appId: '/shop/api', port: 'admin' });
  });

  test('a restart restores both services; a standby follows per-port changes through the journal', async () => {
    const { registry: leader } = await openRegistry(db().knex);
    await leader.applySnapshot([twoPorts(LABELS, 'shop_api.1')]);
    const { registry: restarted } = await openRegistry(db().knex);
    expect(restarted.current().services).toEqual(leader.current().services);

    // A task event moves both services' endpoints; the standby re-reads the app's services.
    await leader.applyChange({
      kind: 'task',
      appId: '/shop/api',
      event: aStatus('/shop/api', 'shop_api.2', 'TASK_RUNNING', { host: '10.0.0.2', ports: [32000, 32001] }),
    });
    await leader.idle();
    expect(await restarted.refresh()).toBe(true);
    expect(view(restarted.current().services)).toEqual([
      [null, 'api.shop.berth.internal', ['10.0.0.1:31000', '10.0.0.2:32000']],
      ['admin', 'admin.shop.berth.internal', ['10.0.0.1:31001', '10.0.0.2:32001']],
    ]);
    const pos = await restarted.position();

    // The per-port label goes: only that service is removed, and the change feed names it.
    await leader.applySnapshot([twoPorts({ 'berth.domain': 'api.shop.berth.internal' }, 'shop_api.1', 'shop_api.2')]);
    expect(view(leader.current().services).map((s) => s[0])).toEqual([null]);
    await restarted.refresh();
    expect(view(restarted.current().services).map((s) => s[0])).toEqual([null]);
    const changes = await restarted.changesSince(pos);
    expect(changes?.changed.get('/shop/api#admin')).toBeNull();
    expect(changes?.changed.get('/shop/api')?.domains).toEqual(['api.shop.berth.internal']);
  });

  test('an invalid per-port label skips the whole app with a problem naming the label', async () => {
    const { registry } = await openRegistry(db().knex);
    await registry.applySnapshot([twoPorts({ ...LABELS, 'berth.port.nope.domain': 'x.shop.berth.internal' }, 'shop_api.1')]);
    expect(registry.current().services).toEqual([]);
    expect(registry.listProblems().map((p) => [p.appId, p.code, p.details?.label])).toEqual([['/shop/api', 'PORT_NOT_FOUND', 'berth.port.nope.domain']]);
  });
});
