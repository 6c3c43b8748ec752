import { formatIp, parseCidr, parseIp } from '../../src/ipam/address';
import { checkAppId, planPool } from '../../src/ipam/validate';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

describe('addresses', () => {
  test.each([
    { desc: 'dotted quad', raw: '10.0.0.1', ok: '10.0.0.1' },
    { desc: 'leading zero (octal in some tools)', raw: '10.0.0.010', ok: null },
    { desc: 'short form', raw: '10.1', ok: null },
    { desc: 'octet out of range', raw: '10.0.0.300', ok: null },
    { desc: 'IPv6 normalised', raw: 'FD00:0:0:0::1', ok: 'fd00::1' },
    { desc: 'IPv6 with zone', raw: 'fe80::1%eth0', ok: null },
  ])('$desc', ({ raw, ok }) => {
    const ip = parseIp(raw);
    expect(ip ? formatIp(ip) : null).toBe(ok);
  });

  test('CIDR: host bits, malformed, prefix range', () => {
    expect(parseCidr('10.0.0.0/8')).toMatchObject({ ok: true });
    expect(parseCidr('10.0.0.1/24')).toEqual({ ok: false, why: 'host bits are set (did you mean 10.0.0.0/24?)' });
    expect(parseCidr('10.0.0.0')).toMatchObject({ ok: false });
    expect(parseCidr('10.0.0.0/33')).toMatchObject({ ok: false });
    expect(parseCidr('fd00::/129')).toMatchObject({ ok: false });
    expect(parseCidr('fd00::1/64')).toMatchObject({ ok: false });
  });
});

describe('app ids', () => {
  test.each(['/a', '/team/app-1', '/a.b/c-d/e1', '/0'])('%s is a Marathon app id', (id) => expect(checkAppId(id)).toBe(id));
  test.each(['', 'team/app', '/', '/team/', '/Team', '/a b', '/-a', '/a-', '/a//b', '/a/../b', `/${'a'.repeat(600)}`])('%j is refused', (id) =>
    expect(codeOf(() => checkAppId(id))).toBe('INVALID_APP_ID'),
  );
});

describe('planPool', () => {
  test('IPv4 defaults: first host is the gateway, window = every host', () => {
    expect(planPool({ name: 'a', cidr: '10.1.0.0/16' })).toMatchObject({
      family: 4,
      gateway: '10.1.0.1',
      allocFirst: '10.1.0.1',
      allocLast: '10.1.255.254',
      quarantineSeconds: 900,
      reservations: [{ first: '10.1.0.1', last: '10.1.0.1', reason: 'gateway' }],
    });
  });

  test('IPv6 window: the first 65,536 addresses, or an explicit range', () => {
    expect(planPool({ name: 'a', cidr: 'fd00:1::/64' })).toMatchObject({ family: 6, gateway: 'fd00:1::1', allocFirst: 'fd00:1::1', allocLast: 'fd00:1::1:0' });
    expect(planPool({ name: 'a', cidr: 'fd00:1::/64', allocationRange: { first: 'fd00:1::100', last: 'fd00:1::1ff' } })).toMatchObject({
      allocFirst: 'fd00:1::100',
      allocLast: 'fd00:1::1ff',
    });
  });

  test('reservations: address, CIDR, range, aux addresses, Docker ip-range', () => {
    const p = planPool({
      name: 'a',
      cidr: '10.2.0.0/24',
      reserved: ['10.2.0.5', '10.2.0.16/30', '10.2.0.20-10.2.0.22'],
      auxAddresses: { r: '10.2.0.254' },
      ipRange: '10.2.0.128/25',
    });
    expect(p.reservations.map((r) => `${r.first}-${r.last} ${r.reason}`)).toEqual([
      '10.2.0.1-10.2.0.1 gateway',
      '10.2.0.5-10.2.0.5 reserved',
      '10.2.0.16-10.2.0.19 reserved',
      '10.2.0.20-10.2.0.22 reserved',
      '10.2.0.254-10.2.0.254 docker --aux-address r',
      '10.2.0.128-10.2.0.255 docker --ip-range',
    ]);
  });

  test.each([
    { desc: 'bad name', spec: { name: 'Bad Name', cidr: '10.0.0.0/24' }, code: 'BAD_REQUEST' },
    { desc: 'host bits', spec: { name: 'a', cidr: '10.0.0.1/24' }, code: 'INVALID_CIDR' },
    { desc: 'too large', spec: { name: 'a', cidr: '10.0.0.0/11' }, code: 'INVALID_CIDR' },
    {
      desc: 'IPv6 window too large',
      spec: { name: 'a', cidr: 'fd00::/64', allocationRange: { first: 'fd00::1', last: 'fd00::ff:ffff' } },
      code: 'INVALID_CIDR',
    },
    { desc: 'gateway outside', spec: { name: 'a', cidr: '10.0.0.0/24', gateway: '10.0.1.1' }, code: 'INVALID_IP' },
    { desc: 'gateway of the other family', spec: { name: 'a', cidr: '10.0.0.0/24', gateway: 'fd00::1' }, code: 'INVALID_IP' },
    { desc: 'reserved outside', spec: { name: 'a', cidr: '10.0.0.0/24', reserved: ['10.0.1.0/30'] }, code: 'INVALID_IP' },
    { desc: 'reversed range', spec: { name: 'a', cidr: '10.0.0.0/24', reserved: ['10.0.0.9-10.0.0.3'] }, code: 'INVALID_IP' },
    { desc: 'ip-range not a CIDR', spec: { name: 'a', cidr: '10.0.0.0/24', ipRange: '10.0.0.5' }, code: 'INVALID_CIDR' },
    { desc: 'bridge name too long for Linux', spec: { name: 'a', cidr: '10.0.0.0/24', bridgeName: 'a-very-long-bridge-name' }, code: 'BAD_REQUEST' },
    { desc: 'aux host name with a space', spec: { name: 'a', cidr: '10.0.0.0/24', auxAddresses: { 'a b': '10.0.0.9' } }, code: 'BAD_REQUEST' },
  ])('refuses: $desc', ({ spec, code }) => expect(codeOf(() => planPool(spec))).toBe(code));
});
