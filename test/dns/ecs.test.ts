/**
 * Environment by EDNS Client Subnet (RFC 7871, `envByEcs`): a resolver's queries carry its
 * client's subnet, which picks the environment view by the same CIDRs as source addresses, and
 * the answer says with its scope how far the view extends, so the resolver caches per subnet.
 * Malformed options get FORMERR. Reverse names follow the same view and fallback as forward ones.
 */
import { EnvironmentMatcher } from '../../src/dns/client-env';
import { describeWithTools } from '../support/tools';
import { aService, dig, endpoints, header, query, startServer, udp, type Started } from './helpers';

const catalog = () => [
  aService({ domains: ['web.berth.internal'] }, 1),
  aService({ domains: ['shared.berth.internal'], endpoints: endpoints(1, 5) }),
  // qa redefines web at the address the default environment's `shared` runs on.
  aService({ env: 'qa', domains: ['web.berth.internal'], endpoints: endpoints(1, 5) }),
  aService({ env: 'staging', domains: ['web.berth.internal'], endpoints: endpoints(1, 6) }),
];

const environments = {
  qa: { clients: ['10.20.0.0/16', '127.0.0.2/32'], proxyAddresses: [] },
  staging: { clients: ['10.20.5.0/24'], proxyAddresses: [] },
};

/** The CLIENT-SUBNET line dig prints: `address/source/scope`. */
function clientSubnet(raw: string): string | null {
  return /CLIENT-SUBNET: (\S+)/.exec(raw)?.[1] ?? null;
}

/** A query for web.berth.internal A with one Client Subnet option of raw fields. */
function withEcs(family: number, source: number, scope: number, address: number[]): Buffer {
  const base = query('web.berth.internal', 1);
  const opt = Buffer.alloc(11 + 8 + address.length);
  opt.writeUInt16BE(41, 1);
  opt.writeUInt16BE(1232, 3);
  opt.writeUInt16BE(8 + address.length, 9);
  opt.writeUInt16BE(8, 11);
  opt.writeUInt16BE(4 + address.length, 13);
  opt.writeUInt16BE(family, 15);
  opt[17] = source;
  opt[18] = scope;
  Buffer.from(address).copy(opt, 19);
  const q = Buffer.concat([base, opt]);
  q.writeUInt16BE(1, 10);
  return q;
}

describeWithTools(['dig'], 'environment by EDNS Client Subnet', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startServer(catalog(), { environments, envByEcs: true });
  });
  afterAll(() => s.server.stop());

  it("answers from the subnet's environment and echoes the option with the scope the answer holds for", async () => {
    const qa = await dig(s.port, ['+subnet=10.20.1.0/24', 'web.berth.internal', 'A']);
    expect(qa.answers).toEqual(['web.berth.internal. 10 IN A 10.1.5.1']);
    // qa is 10.20/16, but staging's 10.20.5/24 lies inside it: 22 bits separate 10.20.1.0 from it.
    expect(clientSubnet(qa.raw)).toBe('10.20.1.0/24/22');
    const staging = await dig(s.port, ['+subnet=10.20.5.0/24', 'web.berth.internal', 'A']);
    expect(staging.answers).toEqual(['web.berth.internal. 10 IN A 10.1.6.1']);
    expect(clientSubnet(staging.raw)).toBe('10.20.5.0/24/24');
  });

  it('answers the default view to a subnet of no environment, scoped so it cannot reach environment clients', async () => {
    const def = await dig(s.port, ['+subnet=192.0.2.0/24', 'web.berth.internal', 'A']);
    expect(def.answers).toEqual(['web.berth.internal. 10 IN A 10.1.1.1']);
    // 192.0.2.0 differs from 10.20/16, 10.20.5/24 and 127.0.0.2 in the first bit: the answer holds for 128/1.
    expect(clientSubnet(def.raw)).toBe('192.0.2.0/24/1');
    const near = await dig(s.port, ['+subnet=10.21.0.0/16', 'web.berth.internal', 'A']);
    expect(near.answers).toEqual(['web.berth.internal. 10 IN A 10.1.1.1']);
    expect(clientSubnet(near.raw)).toBe('10.21.0.0/16/16'); // 10.21 and 10.20 share 15 bits
  });

  it('uses the source address without the option, or with source prefix 0 (scope 0 then)', async () => {
    const plain = await dig(s.port, ['web.berth.internal', 'A']);
    expect(plain.answers).toEqual(['web.berth.internal. 10 IN A 10.1.1.1']);
    expect(clientSubnet(plain.raw)).toBeNull();
    const optOut = await dig(s.port, ['-b', '127.0.0.2', '+subnet=0.0.0.0/0', 'web.berth.internal', 'A']);
    expect(optOut.answers).toEqual(['web.berth.internal. 10 IN A 10.1.5.1']);
    expect(clientSubnet(optOut.raw)).toBe('0.0.0.0/0/0');
  });

  it.each([
    ['family 3', withEcs(3, 8, 0, [10])],
    ['an IPv4 source prefix of 33', withEcs(1, 33, 0, [10, 20, 1, 0, 0])],
    ['address bits set past the prefix', withEcs(1, 12, 0, [10, 0x21])],
    ['more address bytes than the prefix needs', withEcs(1, 8, 0, [10, 0])],
    ['a non-zero scope in a query', withEcs(1, 16, 16, [10, 20])],
  ])('answers FORMERR to a Client Subnet option with %s', async (_what, q) => {
    expect(header((await udp(s.port, q))!).rcode).toBe(1);
  });

  it('reverse names follow the same view: PTR lists exactly the names that resolve to the address there', async () => {
    const ptr = async (args: string[], address: string) => (await dig(s.port, [...args, '-x', address])).answers.map((a) => a.split(' ')[4]).sort();
    // qa resolves web (its own) and shared (from the default environment) to 10.1.5.1.
    expect(await ptr(['+subnet=10.20.1.0/24'], '10.1.5.1')).toEqual(['shared.berth.internal.', 'web.berth.internal.']);
    expect(await ptr(['-b', '127.0.0.2'], '10.1.5.1')).toEqual(['shared.berth.internal.', 'web.berth.internal.']);
    // ... and web nowhere else: the default environment's web address has no name in qa.
    const other = await dig(s.port, ['-b', '127.0.0.2', '-x', '10.1.1.1']);
    expect(other.status).toBe('NOERROR');
    expect(other.answers).toEqual([]);
    // The default view is unchanged.
    expect(await ptr([], '10.1.5.1')).toEqual(['shared.berth.internal.']);
    expect(await ptr([], '10.1.1.1')).toEqual(['web.berth.internal.']);
  });
});

describeWithTools(['dig'], 'EDNS Client Subnet when not enabled', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startServer(catalog(), { environments });
  });
  afterAll(() => s.server.stop());

  it('ignores the option: the source address picks the view and no option comes back', async () => {
    const r = await dig(s.port, ['+subnet=10.20.1.0/24', 'web.berth.internal', 'A']);
    expect(r.answers).toEqual(['web.berth.internal. 10 IN A 10.1.1.1']);
    expect(clientSubnet(r.raw)).toBeNull();
    expect(header((await udp(s.port, withEcs(3, 8, 0, [10])))!).rcode).toBe(0);
  });
});

describe('the environment of a client subnet', () => {
  const m = new EnvironmentMatcher(
    { v6: { clients: ['fd00:20::/32'], proxyAddresses: [] }, lab: { clients: ['fd00:20:5::/48'], proxyAddresses: [] } },
    'default',
  );
  const v6 = (s: string) => Uint8Array.from(Buffer.from(s.replace(/:/g, ''), 'hex'));

  it('works for IPv6 subnets by the same rules', () => {
    expect(m.envForSubnet(2, v6('fd00:0020:0001:0000'), 56)).toEqual({ env: 'v6', scope: 46 }); // fd00:20:1:: vs fd00:20:5:: share 45 bits
    expect(m.envForSubnet(2, v6('fd00:0020:0005:0000'), 56)).toEqual({ env: 'lab', scope: 48 });
    expect(m.envForSubnet(2, v6('2001:0db8'), 32)).toEqual({ env: 'default', scope: 1 }); // 2001:: and fd00:: differ in the first bit
    expect(m.envForSubnet(1, Uint8Array.from([10, 0, 0]), 24)).toEqual({ env: 'default', scope: 0 }); // no IPv4 environment
  });

  it('does not place a subnet shorter than an environment it overlaps: the default view, scoped to that environment', () => {
    expect(m.envForSubnet(2, v6('fd00'), 16)).toEqual({ env: 'default', scope: 48 });
  });
});
