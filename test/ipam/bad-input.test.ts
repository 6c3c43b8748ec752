import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { registerIpamRoutes } from '../../src/http/routes/ipam';
import { testApp } from '../support/app';
import { describeEachEngine } from '../support/db';
import { serviceFor } from './helpers';

const enc = encodeURIComponent;

describeEachEngine('IPAM bad input', (get) => {
  let app: FastifyInstance;
  beforeAll(async () => {
    const ipam = serviceFor(get());
    app = await testApp((a) => registerIpamRoutes(a, { ipam }));
    await ipam.createPool({ name: 'tiny', cidr: '10.40.0.0/29', reserved: ['10.40.0.6'], quarantineSeconds: 600 }); // hosts .2-.5 allocatable
    await ipam.allocate('tiny', '/holder', { ip: '10.40.0.3' });
    await ipam.allocate('tiny', '/leaver', { ip: '10.40.0.4' });
    await ipam.release('tiny', '/leaver');
  });
  afterAll(() => app.close());

  const pool = (payload: object) => app.inject({ method: 'POST', url: '/v1/pools', payload });
  const alloc = (appId: string, payload?: object, poolName = 'tiny') =>
    app.inject({ method: 'PUT', url: `/v1/pools/${poolName}/allocations/${enc(appId)}`, ...(payload ? { payload } : {}) });

  const cases: Array<{ desc: string; call: () => Promise<LightMyRequestResponse>; status: number; code: string }> = [
    { desc: 'malformed CIDR', call: () => pool({ name: 'x1', cidr: '10.0.0/24' }), status: 400, code: 'INVALID_CIDR' },
    { desc: 'CIDR with host bits set', call: () => pool({ name: 'x2', cidr: '10.50.0.1/24' }), status: 400, code: 'INVALID_CIDR' },
    { desc: 'prefix too long', call: () => pool({ name: 'x3', cidr: '10.50.0.0/33' }), status: 400, code: 'INVALID_CIDR' },
    { desc: 'pool too large to populate', call: () => pool({ name: 'x4', cidr: '10.0.0.0/8' }), status: 400, code: 'INVALID_CIDR' },
    { desc: 'gateway outside the pool', call: () => pool({ name: 'x5', cidr: '10.50.0.0/24', gateway: '10.51.0.1' }), status: 400, code: 'INVALID_IP' },
    {
      desc: 'reserved address outside the pool',
      call: () => pool({ name: 'x6', cidr: '10.50.0.0/24', reserved: ['10.50.1.0/28'] }),
      status: 400,
      code: 'INVALID_IP',
    },
    { desc: 'pool overlapping another', call: () => pool({ name: 'x7', cidr: '10.40.0.0/16' }), status: 409, code: 'POOL_OVERLAP' },
    { desc: 'unknown field in a pool', call: () => pool({ name: 'x8', cidr: '10.52.0.0/24', gatewya: '10.52.0.1' }), status: 400, code: 'BAD_REQUEST' },
    { desc: 'requested IP outside the pool', call: () => alloc('/a', { ip: '10.41.0.2' }), status: 400, code: 'INVALID_IP' },
    { desc: 'requested IP not an address', call: () => alloc('/a', { ip: '10.40.0.256' }), status: 400, code: 'INVALID_IP' },
    { desc: 'requested IP reserved', call: () => alloc('/a', { ip: '10.40.0.6' }), status: 409, code: 'ADDRESS_RESERVED' },
    { desc: 'requested IP is the gateway', call: () => alloc('/a', { ip: '10.40.0.1' }), status: 409, code: 'ADDRESS_RESERVED' },
    { desc: 'requested IP taken', call: () => alloc('/a', { ip: '10.40.0.3' }), status: 409, code: 'ADDRESS_TAKEN' },
    { desc: 'requested IP in quarantine', call: () => alloc('/a', { ip: '10.40.0.4' }), status: 409, code: 'ADDRESS_QUARANTINED' },
    { desc: 'unknown field in an allocation', call: () => alloc('/a', { ipp: '10.40.0.2' }), status: 400, code: 'BAD_REQUEST' },
    { desc: 'unknown pool', call: () => alloc('/a', undefined, 'nope'), status: 404, code: 'POOL_NOT_FOUND' },
    { desc: 'unknown pool (GET)', call: () => app.inject({ url: '/v1/pools/nope' }), status: 404, code: 'POOL_NOT_FOUND' },
    { desc: 'app id that is not a Marathon path', call: () => alloc('team/app'), status: 400, code: 'INVALID_APP_ID' },
    { desc: 'app id with upper case and a trailing slash', call: () => alloc('/Team/app/'), status: 400, code: 'INVALID_APP_ID' },
    {
      desc: 'app id with a space',
      call: () => app.inject({ method: 'POST', url: '/v1/pools/tiny/allocations', payload: { appId: '/a b' } }),
      status: 400,
      code: 'INVALID_APP_ID',
    },
    {
      desc: 'body over 1 MiB',
      call: () =>
        app.inject({
          method: 'POST',
          url: '/v1/pools',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ name: 'big', cidr: '10.53.0.0/24', reserved: ['x'.repeat(1100000)] }),
        }),
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    },
    {
      desc: 'write from a non-loopback address without tokens',
      call: () => app.inject({ method: 'PUT', url: `/v1/pools/tiny/allocations/${enc('/a')}`, remoteAddress: '10.1.2.3' }),
      status: 403,
      code: 'FORBIDDEN',
    },
  ];

  test.each(cases)('$desc → $status $code, nothing changes', async ({ call, status, code }) => {
    const before = await get().knex.raw('SELECT (SELECT count(*) FROM ipam_event) AS e, (SELECT count(*) FROM ipam_pool) AS p');
    const res = await call();
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject({ code, message: expect.any(String) });
    const after = await get().knex.raw('SELECT (SELECT count(*) FROM ipam_event) AS e, (SELECT count(*) FROM ipam_pool) AS p');
    expect(after.rows).toEqual(before.rows);
  });

  test('an exhausted pool answers 409 POOL_EXHAUSTED with its usage', async () => {
    expect((await alloc('/fill-1')).statusCode).toBe(201);
    expect((await alloc('/fill-2')).statusCode).toBe(201);
    const res = await alloc('/one-too-many');
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'POOL_EXHAUSTED', details: { usage: { available: 0, quarantined: 1 } } });
  });

  test('a wrong or missing token is 401 when tokens are configured; reads need none', async () => {
    const ipam = serviceFor(get());
    const secured = await testApp((a) => registerIpamRoutes(a, { ipam }), { apiTokens: ['s3cret'] });
    try {
      const url = `/v1/pools/tiny/allocations/${enc('/tok')}`;
      expect((await secured.inject({ method: 'PUT', url, headers: { authorization: 'Bearer wrong' } })).json().code).toBe('UNAUTHORIZED');
      expect((await secured.inject({ method: 'PUT', url })).statusCode).toBe(401);
      expect((await secured.inject({ url: '/v1/pools/tiny' })).statusCode).toBe(200);
      const ok = await secured.inject({ method: 'PUT', url, headers: { authorization: 'Bearer s3cret' }, remoteAddress: '10.1.2.3' });
      expect([201, 409]).toContain(ok.statusCode); // authorised; the pool may be full by now
    } finally {
      await secured.close();
    }
  });
});
