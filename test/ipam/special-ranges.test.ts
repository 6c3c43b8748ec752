/**
 * Issue 16: pools over /0, loopback, multicast, link-local, unspecified or absurdly wide prefixes are
 * refused with a stable code; `allowSpecial` lifts only the refusals that have a legitimate use.
 */
import type { FastifyInstance } from 'fastify';
import { registerIpamRoutes } from '../../src/http/routes/ipam';
import { planPool } from '../../src/ipam/validate';
import { testApp } from '../support/app';
import { describeEachEngine } from '../support/db';
import { serviceFor } from './helpers';

const refusal = (fn: () => unknown): { code?: string; message: string; details?: Record<string, unknown> } | undefined => {
  try {
    fn();
  } catch (e) {
    return e as { code?: string; message: string; details?: Record<string, unknown> };
  }
  return undefined;
};

describe('pool CIDRs that must not be pools', () => {
  test.each([
    { cidr: '0.0.0.0/0', code: 'POOL_CIDR_TOO_WIDE', overridable: false },
    { cidr: '::/0', code: 'POOL_CIDR_TOO_WIDE', overridable: false },
    { cidr: '0.0.0.0/24', code: 'POOL_CIDR_RESERVED', cls: 'unspecified', overridable: false },
    { cidr: '::/128', code: 'POOL_CIDR_RESERVED', cls: 'unspecified', overridable: false },
    { cidr: '224.0.0.0/24', code: 'POOL_CIDR_RESERVED', cls: 'multicast', overridable: false },
    { cidr: '239.255.0.0/16', code: 'POOL_CIDR_RESERVED', cls: 'multicast', overridable: false },
    { cidr: 'ff02::/64', code: 'POOL_CIDR_RESERVED', cls: 'multicast', overridable: false },
    { cidr: '255.255.255.255/32', code: 'POOL_CIDR_RESERVED', cls: 'broadcast', overridable: false },
    { cidr: '::ffff:10.0.0.0/120', code: 'POOL_CIDR_RESERVED', cls: 'ipv4-mapped', overridable: false },
    // Wide enough to cover a hard range: the error names the range no flag can lift.
    { cidr: '0.0.0.0/1', code: 'POOL_CIDR_RESERVED', cls: 'unspecified', overridable: false },
    { cidr: '::/1', code: 'POOL_CIDR_RESERVED', cls: 'unspecified', overridable: false },
    { cidr: '127.0.0.0/24', code: 'POOL_CIDR_RESERVED', cls: 'loopback', overridable: true },
    { cidr: '::1/128', code: 'POOL_CIDR_RESERVED', cls: 'loopback', overridable: true },
    { cidr: '169.254.0.0/24', code: 'POOL_CIDR_RESERVED', cls: 'link-local', overridable: true },
    { cidr: 'fe80::/64', code: 'POOL_CIDR_RESERVED', cls: 'link-local', overridable: true },
    { cidr: '240.0.0.0/24', code: 'POOL_CIDR_RESERVED', cls: 'reserved', overridable: true },
    { cidr: '8.0.0.0/7', code: 'POOL_CIDR_TOO_WIDE', overridable: true },
    { cidr: 'fd00::/8', code: 'POOL_CIDR_TOO_WIDE', overridable: true },
    { cidr: '2001:db8::/32', code: 'POOL_CIDR_TOO_WIDE', overridable: true },
  ])('$cidr → $code', ({ cidr, code, cls, overridable }) => {
    const e = refusal(() => planPool({ name: 'x', cidr }));
    expect(e).toMatchObject({ code, details: { field: 'cidr', overridable } });
    if (cls) expect(e?.details?.class).toBe(cls);
    expect(e?.message).toMatch(/^cidr: /);
    expect(e?.message).toContain(cls ?? 'wide');
    if (overridable) {
      expect(e?.message).toContain('allowSpecial');
    } else {
      // The override never lifts these.
      expect(refusal(() => planPool({ name: 'x', cidr, allowSpecial: true }))?.code).toBe(code);
    }
  });

  test('allowSpecial lifts loopback, link-local and width, and says so for the audit trail', () => {
    expect(planPool({ name: 'x', cidr: '127.77.0.0/24', allowSpecial: true }).overridden).toEqual(['loopback 127.0.0.0/8']);
    expect(planPool({ name: 'x', cidr: 'fe80::/64', allowSpecial: true }).overridden).toEqual(['link-local fe80::/10']);
    expect(planPool({ name: 'x', cidr: '2001:db8::/32', allowSpecial: true }).overridden).toEqual(['wider than /48']);
    // The width override does not lift the row limit: a wide prefix still needs a bounded range.
    expect(refusal(() => planPool({ name: 'x', cidr: '8.0.0.0/7', allowSpecial: true }))?.code).toBe('INVALID_CIDR');
    expect(planPool({ name: 'x', cidr: '8.0.0.0/7', allowSpecial: true, allocationRange: { first: '8.0.0.1', last: '8.0.0.254' } })).toMatchObject({
      allocFirst: '8.0.0.1',
      allocLast: '8.0.0.254',
    });
  });

  test('ordinary private and documentation networks need no override', () => {
    for (const cidr of ['10.0.0.0/12', '172.16.0.0/16', '192.168.1.0/24', '100.64.0.0/16', '192.0.2.0/24', 'fd00:1::/64', 'fd00::/48', '2001:db8:1::/48']) {
      expect(planPool({ name: 'x', cidr }).overridden).toEqual([]);
    }
  });
});

describeEachEngine('pool refusals over the API', (get) => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp((a) => registerIpamRoutes(a, { ipam: serviceFor(get()) }));
  });
  afterAll(() => app.close());
  const post = (payload: object) => app.inject({ method: 'POST', url: '/v1/pools', payload });

  it('refuses ::/0, 127.0.0.0/24 and 224.0.0.0/24 with a clear code, changes nothing, and other pools of both families keep working', async () => {
    const events = async () => Number((await get().knex.raw('SELECT count(*) AS n FROM ipam_event')).rows[0].n);
    const before = await events();
    for (const [cidr, code] of [
      ['::/0', 'POOL_CIDR_TOO_WIDE'],
      ['127.0.0.0/24', 'POOL_CIDR_RESERVED'],
      ['224.0.0.0/24', 'POOL_CIDR_RESERVED'],
      ['fd00::/16', 'POOL_CIDR_TOO_WIDE'],
    ]) {
      const r = await post({ name: 'bad', cidr });
      expect({ cidr, status: r.statusCode, code: r.json().code }).toEqual({ cidr, status: 400, code });
      expect(r.json().message).toMatch(/^cidr: /);
    }
    const withFlag = await post({ name: 'bad', cidr: '::/0', allowSpecial: true, allocationRange: { first: '::1', last: '::ff' } });
    expect(withFlag.json().code).toBe('POOL_CIDR_TOO_WIDE');
    expect(await events()).toBe(before);
    expect((await app.inject({ url: '/v1/pools' })).json().pools).toEqual([]);

    // Nothing absurd was stored, so ordinary pools of both families are created and allocate.
    expect((await post({ name: 'v6', cidr: 'fd00:16::/64' })).statusCode).toBe(201);
    expect((await post({ name: 'v4', cidr: '10.16.0.0/24' })).statusCode).toBe(201);
    const a6 = await app.inject({ method: 'POST', url: '/v1/pools/v6/allocations', payload: { appId: '/team/six' } });
    const a4 = await app.inject({ method: 'POST', url: '/v1/pools/v4/allocations', payload: { appId: '/team/four' } });
    // The first host is the default gateway, reserved.
    expect([a6.statusCode, a6.json().ip, a4.statusCode, a4.json().ip]).toEqual([201, 'fd00:16::2', 201, '10.16.0.2']);
  });

  it('creates a loopback pool with allowSpecial and records the override in the audit trail', async () => {
    const r = await post({ name: 'lo', cidr: '127.78.0.0/28', allowSpecial: true });
    expect(r.statusCode).toBe(201);
    const ev = (await app.inject({ url: '/v1/pools/lo/events' })).json().events;
    expect(ev[0]).toMatchObject({ action: 'pool_create', detail: { allowSpecial: ['loopback 127.0.0.0/8'] } });
    expect((await post({ name: 'lo2', cidr: '127.79.0.0/28', allowSpecial: 'yes' })).statusCode).toBe(400);
  });
});
