import type { FastifyInstance } from 'fastify';
import { registerIpamRoutes } from '../../src/http/routes/ipam';
import { testApp } from '../support/app';
import { describeEachEngine } from '../support/db';
import { Registry } from 'prom-client';
import { createIpam } from '../../src/ipam';
import { silentLogger } from '../../src/log';

const enc = encodeURIComponent;

describeEachEngine('IPAM HTTP API', (get) => {
  let app: FastifyInstance;
  beforeAll(async () => {
    const metricsRegistry = new Registry();
    const ipam = createIpam({ knex: get().knex, logger: silentLogger, metricsRegistry }).service;
    app = await testApp((a) => registerIpamRoutes(a, { ipam }), { metricsRegistry });
    const res = await app.inject({
      method: 'POST',
      url: '/v1/pools',
      payload: {
        name: 'blue',
        cidr: '10.30.0.0/24',
        dockerNetwork: 'blue-net',
        bridgeName: 'br-blue',
        ipRange: '10.30.0.128/26',
        auxAddresses: { router: '10.30.0.254' },
        quarantineSeconds: 600,
      },
    });
    expect(res.statusCode).toBe(201);
  });
  afterAll(() => app.close());

  const put = (pool: string, appId: string, payload?: object) =>
    app.inject({ method: 'PUT', url: `/v1/pools/${pool}/allocations/${enc(appId)}`, ...(payload ? { payload } : {}) });

  test('PUT allocates once (201), then returns the same address (200)', async () => {
    const first = await put('blue', '/team/app-1');
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ pool: 'blue', appId: '/team/app-1', ip: '10.30.0.2', prefixLength: 24, gateway: '10.30.0.1' });
    const again = await put('blue', '/team/app-1');
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    const get1 = await app.inject({ url: `/v1/pools/blue/allocations/${enc('/team/app-1')}` });
    expect(get1.json().ip).toBe('10.30.0.2');
    const byApp = await app.inject({ url: `/v1/allocations?appId=${enc('/team/app-1')}` });
    expect(byApp.json().allocations).toHaveLength(1);
  });

  test('POST with the app id in the body behaves like PUT', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/pools/blue/allocations', payload: { appId: '/team/app-2', ip: '10.30.0.20' } });
    expect(r.statusCode).toBe(201);
    expect(r.json().ip).toBe('10.30.0.20');
    const again = await app.inject({ method: 'POST', url: '/v1/pools/blue/allocations', payload: { appId: '/team/app-2' } });
    expect(again.statusCode).toBe(200);
  });

  test('DELETE releases into quarantine, is idempotent, and is fenced by allocationId', async () => {
    const a = (await put('blue', '/team/gone')).json();
    const stale = await app.inject({ method: 'DELETE', url: `/v1/pools/blue/allocations/${enc('/team/gone')}?allocationId=${a.allocationId + 1000}` });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().code).toBe('STALE_ALLOCATION');
    const del = await app.inject({ method: 'DELETE', url: `/v1/pools/blue/allocations/${enc('/team/gone')}?allocationId=${a.allocationId}` });
    expect(del.statusCode).toBe(204);
    expect((await app.inject({ method: 'DELETE', url: `/v1/pools/blue/allocations/${enc('/team/gone')}` })).statusCode).toBe(204);
    const missing = await app.inject({ url: `/v1/pools/blue/allocations/${enc('/team/gone')}` });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('ALLOCATION_NOT_FOUND');
    const q = await put('blue', '/team/other', { ip: a.ip });
    expect(q.statusCode).toBe(409);
    expect(q.json()).toMatchObject({ code: 'ADDRESS_QUARANTINED', details: { availableAt: expect.any(String) } });
  });

  test('GET /v1/pools/:pool shows usage; events and docker-network', async () => {
    const p = (await app.inject({ url: '/v1/pools/blue' })).json();
    // gateway + router aux address + 64 in the Docker ip-range
    expect(p.usage).toMatchObject({ capacity: 254, reserved: 66 });
    expect(p.usage.capacity).toBe(p.usage.allocated + p.usage.quarantined + p.usage.reserved + p.usage.available);
    const list = (await app.inject({ url: '/v1/pools' })).json();
    expect(list.pools.map((x: { name: string }) => x.name)).toContain('blue');
    const events = (await app.inject({ url: '/v1/pools/blue/events?limit=3' })).json().events;
    expect(events).toHaveLength(3);
    expect(events[0].actor).toBe('api:127.0.0.1');
    const docker = (await app.inject({ url: '/v1/pools/blue/docker-network' })).json();
    expect(docker.command).toBe(
      'docker network create --driver bridge --subnet 10.30.0.0/24 --gateway 10.30.0.1 --ip-range 10.30.0.128/26 --aux-address router=10.30.0.254 --opt com.docker.network.bridge.name=br-blue blue-net',
    );
  });

  test('POST /v1/apps/prepare fills the IP label and Docker net/ip parameters', async () => {
    const def = {
      id: '/shop/api',
      instances: 1,
      labels: { 'berth.ip': 'auto:blue', 'berth.domain': 'api.shop.berth.internal' },
      container: {
        type: 'DOCKER',
        docker: {
          image: 'nginx',
          parameters: [
            { key: 'hostname', value: 'api' },
            { key: 'ip', value: '1.2.3.4' },
          ],
        },
      },
    };
    const r = await app.inject({ method: 'POST', url: '/v1/apps/prepare', payload: def });
    expect(r.statusCode).toBe(201);
    const body = r.json();
    expect(body.labels['berth.ip']).toBe(r.headers['x-berth-ip']);
    expect(body.labels['berth.domain']).toBe('api.shop.berth.internal');
    expect(body.container.docker.parameters).toEqual([
      { key: 'hostname', value: 'api' },
      { key: 'net', value: 'blue-net' },
      { key: 'ip', value: body.labels['berth.ip'] },
    ]);
    const again = await app.inject({ method: 'POST', url: '/v1/apps/prepare', payload: def });
    expect(again.statusCode).toBe(200);
    expect(again.json().labels['berth.ip']).toBe(body.labels['berth.ip']);
    const many = await app.inject({ method: 'POST', url: '/v1/apps/prepare', payload: { ...def, instances: 3 } });
    expect(many.json().code).toBe('INVALID_APP_DEFINITION');
  });

  test('prepare refuses before allocating when Docker would not attach the IP', async () => {
    expect((await app.inject({ method: 'POST', url: '/v1/pools', payload: { name: 'plain', cidr: '10.31.0.0/24' } })).statusCode).toBe(201);
    const def = { id: '/shop/worker', labels: { 'berth.ip': 'auto:plain' }, container: { type: 'DOCKER', docker: { image: 'busybox' } } };
    const r = await app.inject({ method: 'POST', url: '/v1/apps/prepare', payload: def });
    expect(r.statusCode).toBe(400);
    expect(r.json().code).toBe('INVALID_APP_DEFINITION');
    expect((await app.inject({ url: '/v1/pools/plain' })).json().usage.allocated).toBe(0);
    const auto = await app.inject({ method: 'POST', url: '/v1/apps/prepare', payload: { ...def, labels: { 'berth.ip': 'auto' } } });
    expect(auto.json()).toMatchObject({ code: 'INVALID_APP_DEFINITION', details: { pools: ['blue', 'plain'] } });
    const none = await app.inject({ method: 'POST', url: '/v1/apps/prepare', payload: { id: '/no/ip', cmd: 'sleep 1' } });
    expect(none.statusCode).toBe(200);
    expect(none.json()).toEqual({ id: '/no/ip', cmd: 'sleep 1' });
  });

  test('reservations: reserve a free range, refuse an allocated one, unreserve', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/pools/blue/reservations', payload: { address: '10.30.0.100-10.30.0.103', reason: 'legacy hosts' } });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ pool: 'blue', address: '10.30.0.100-10.30.0.103', addresses: 4 });
    expect((await put('blue', '/legacy', { ip: '10.30.0.101' })).json()).toMatchObject({ code: 'ADDRESS_RESERVED', details: { reason: 'legacy hosts' } });
    const taken = await app.inject({ method: 'POST', url: '/v1/pools/blue/reservations', payload: { address: '10.30.0.0/27' } });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().code).toBe('ADDRESS_TAKEN');
    expect((await app.inject({ url: '/v1/pools/blue' })).json().reserved).toEqual(['10.30.0.100-10.30.0.103']);
    const un = await app.inject({ method: 'DELETE', url: '/v1/pools/blue/reservations?address=10.30.0.100-10.30.0.103' });
    expect(un.json().addresses).toBe(4);
    const gw = await app.inject({ method: 'DELETE', url: '/v1/pools/blue/reservations?address=10.30.0.1' });
    expect(gw.json().addresses).toBe(0); // the gateway stays reserved
    expect((await put('blue', '/legacy', { ip: '10.30.0.101' })).statusCode).toBe(201);
    const actions = (await app.inject({ url: '/v1/pools/blue/events?limit=3' })).json().events.map((e: { action: string }) => e.action);
    expect(actions).toEqual(['allocate', 'unreserve', 'unreserve']);
  });

  test('/metrics has per-pool usage, allocation latency and errors by code', async () => {
    await put('blue', '/team/app-1', { ip: '10.30.0.99' }); // APP_HAS_ALLOCATION
    const text = (await app.inject({ url: '/metrics' })).body;
    expect(text).toContain('berth_ipam_pool_capacity_addresses{pool="blue"} 254');
    expect(text).toMatch(/berth_ipam_pool_allocated_addresses\{pool="blue"\} \d+/);
    expect(text).toMatch(/berth_ipam_allocation_duration_seconds_count\{result="created"\} \d+/);
    expect(text).toMatch(/berth_ipam_errors_total\{code="APP_HAS_ALLOCATION"\} 1/);
  });

  test('the OpenAPI document describes the IPAM routes', async () => {
    const doc = (await app.inject({ url: '/v1/openapi.json' })).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/pools', '/v1/pools/{pool}/allocations/{appId}', '/v1/apps/prepare']));
  });
});
