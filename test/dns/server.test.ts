/**
 * The DNS server as a client sees it: dig (bind9-dnsutils) and Node's resolver (c-ares) over UDP
 * and TCP against a real server on loopback.
 */
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';
import { describeWithTools, itWithTools } from '../support/tools';
import { aService, dig, endpoints, load, startServer, type Started } from './helpers';

const catalog = () => [
  aService({ domains: ['web.berth.internal', 'www.berth.internal'] }, 2),
  aService({ domains: ['v6.berth.internal'], endpoints: [{ taskId: 'v6.0badc0de-aaaa-4bbb-8ccc-123456789abc', address: 'fd00::10', port: 80, host: 'a' }] }),
  aService({ domains: ['big.berth.internal'], endpoints: endpoints(40, 40) }),
  aService({ domains: ['api.shop.berth.internal'], endpoints: endpoints(1, 7) }),
  aService({ domains: ['hidden.berth.internal'], dns: 'none' }),
  aService({ domains: ['proxied.berth.internal'], endpoints: endpoints(1, 8) }),
  aService({ env: 'qa', domains: ['web.berth.internal'], endpoints: endpoints(1, 2) }),
  aService({ env: 'qa', domains: ['proxied.berth.internal'], dns: 'proxy', endpoints: endpoints(1, 9) }),
];

function resolver(port: number, local?: string): Resolver {
  const r = new Resolver({ timeout: 2000, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  if (local) r.setLocalAddress(local);
  return r;
}

async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'unknown';
  }
}

describeWithTools(['dig'], 'before the first registry load', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(() => s.server.stop());

  it('answers SERVFAIL inside its zones, never a cacheable NXDOMAIN', async () => {
    const r = await dig(s.port, ['web.berth.internal', 'A']);
    expect(r.status).toBe('SERVFAIL');
    expect(await errorCode(resolver(s.port).resolve4('nothing.berth.internal'))).toBe('ESERVFAIL');
    expect((await dig(s.port, ['+tcp', 'web.berth.internal'])).status).toBe('SERVFAIL');
  });

  it('still refuses names outside its zones', async () => {
    expect((await dig(s.port, ['example.com', 'A'])).status).toBe('REFUSED');
  });
});

describeWithTools(['dig'], 'loaded', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startServer(catalog());
  });
  afterAll(() => s.server.stop());

  it('answers A, AAAA, SRV, SOA and NS over UDP (dig and c-ares) and TCP', async () => {
    const a = await dig(s.port, ['web.berth.internal', 'A']);
    expect(a.status).toBe('NOERROR');
    expect(a.flags).toContain('aa');
    expect(a.answers.sort()).toEqual(['web.berth.internal. 10 IN A 10.1.1.1', 'web.berth.internal. 10 IN A 10.1.1.2']);
    expect((await resolver(s.port).resolve4('www.berth.internal')).sort()).toEqual(['10.1.1.1', '10.1.1.2']);
    expect(await resolver(s.port).resolve6('v6.berth.internal')).toEqual(['fd00::10']);

    const tcp = await dig(s.port, ['+tcp', 'web.berth.internal', 'A']);
    expect(tcp.answers.sort()).toEqual(a.answers.sort());

    const srv = await resolver(s.port).resolveSrv('_http._tcp.web.berth.internal');
    expect(srv).toHaveLength(2);
    expect(srv.map((r) => r.port).sort()).toEqual([31000, 31001]);
    const byNumber = await resolver(s.port).resolveSrv('_8080._tcp.web.berth.internal');
    expect(byNumber.map((r) => r.name).sort()).toEqual(srv.map((r) => r.name).sort());
    // SRV targets are per-task names that resolve to that task.
    for (const t of srv) {
      expect(t.name).toMatch(/^t-[0-9a-f]{8}\.web\.berth\.internal$/);
      expect(await resolver(s.port).resolve4(t.name)).toHaveLength(1);
    }
    const digSrv = await dig(s.port, ['_http._tcp.web.berth.internal', 'SRV']);
    expect(digSrv.additional.filter((l) => / IN A /.test(l))).toHaveLength(2); // targets' addresses as glue

    const soa = await resolver(s.port).resolveSoa('berth.internal');
    expect(soa).toMatchObject({ nsname: 'ns.berth.internal', hostmaster: 'hostmaster.berth.internal', minttl: 10 });
    expect(await resolver(s.port).resolveNs('berth.internal')).toEqual(['ns.berth.internal']);
    expect(await resolver(s.port).resolve4('ns.berth.internal')).toEqual(['127.0.0.1']);
  });

  it('distinguishes NODATA (name exists) from NXDOMAIN (name does not)', async () => {
    const nodata = await dig(s.port, ['web.berth.internal', 'TXT']);
    expect(nodata.status).toBe('NOERROR');
    expect(nodata.answers).toEqual([]);
    expect(nodata.authority[0]).toMatch(/^berth\.internal\. 10 IN SOA ns\.berth\.internal\. hostmaster\.berth\.internal\. \d+ 3600 600 86400 10$/);
    // An empty non-terminal exists too (RFC 8020).
    expect((await dig(s.port, ['shop.berth.internal', 'A'])).status).toBe('NOERROR');
    expect((await dig(s.port, ['_tcp.web.berth.internal', 'A'])).status).toBe('NOERROR');

    const nx = await dig(s.port, ['nosuch.berth.internal', 'A']);
    expect(nx.status).toBe('NXDOMAIN');
    expect(nx.flags).toContain('aa');
    expect(nx.authority[0]).toMatch(/^berth\.internal\. 10 IN SOA /);
    expect((await dig(s.port, ['hidden.berth.internal', 'A'])).status).toBe('NXDOMAIN'); // berth.dns=none

    expect(await errorCode(resolver(s.port).resolve6('web.berth.internal'))).toBe('ENODATA');
    expect(await errorCode(resolver(s.port).resolve4('nosuch.berth.internal'))).toBe('ENOTFOUND');
  });

  it('sets TC over UDP for a 40-task answer; dig and c-ares retry over TCP and get all 40', async () => {
    const truncated = await dig(s.port, ['+noedns', '+ignore', 'big.berth.internal', 'A']);
    expect(truncated.flags).toContain('tc');
    expect(truncated.answers).toEqual([]);
    const retried = await dig(s.port, ['+noedns', 'big.berth.internal', 'A']);
    expect(retried.raw).toMatch(/Truncated, retrying in TCP mode/);
    expect(retried.answers).toHaveLength(40);
    // With EDNS the client's buffer (1232 here) is the limit: 40 A records fit, 40 SRV records do not.
    expect((await dig(s.port, ['+bufsize=1232', 'big.berth.internal', 'A'])).answers).toHaveLength(40);
    expect((await dig(s.port, ['+bufsize=1232', '+ignore', '_http._tcp.big.berth.internal', 'SRV'])).flags).toContain('tc');
    expect(await resolver(s.port).resolveSrv('_http._tcp.big.berth.internal')).toHaveLength(40);
    expect(await resolver(s.port).resolve4('big.berth.internal')).toHaveLength(40);
  });

  it('refuses names outside its zones (not an open resolver)', async () => {
    const r = await dig(s.port, ['example.com', 'A']);
    expect(r.status).toBe('REFUSED');
    expect(r.flags).not.toContain('aa');
    expect(await errorCode(resolver(s.port).resolve4('example.com'))).toBe('EREFUSED');
  });

  it('answers from the client environment and falls back to the default one', async () => {
    // qa (127.0.0.2) defines web and proxied; staging (127.0.0.3) defines nothing.
    expect((await dig(s.port, ['-b', '127.0.0.2', '+short', 'web.berth.internal'])).raw.trim()).toBe('10.1.2.1');
    expect((await dig(s.port, ['-b', '127.0.0.2', '+short', 'proxied.berth.internal'])).raw.trim()).toBe('10.200.0.2');
    expect((await dig(s.port, ['-b', '127.0.0.2', '+short', 'v6.berth.internal', 'AAAA'])).raw.trim()).toBe('fd00::10');
    expect((await dig(s.port, ['-b', '127.0.0.3', '+short', 'web.berth.internal'])).raw.trim().split('\n').sort()).toEqual(['10.1.1.1', '10.1.1.2']);
    expect(await resolver(s.port, '127.0.0.2').resolve4('web.berth.internal')).toEqual(['10.1.2.1']);
    expect(await resolver(s.port, '127.0.0.1').resolve4('proxied.berth.internal')).toEqual(['10.1.8.1']);
    // A name only the default env has, asked from qa:
    expect(await resolver(s.port, '127.0.0.2').resolve4('api.shop.berth.internal')).toEqual(['10.1.7.1']);
  });

  it('round-trips PTR: address → name → address', async () => {
    const [address] = await resolver(s.port).resolve4('api.shop.berth.internal');
    const names = await resolver(s.port).reverse(address);
    expect(names).toEqual(['api.shop.berth.internal']);
    expect(await resolver(s.port).resolve4(names[0])).toContain(address);
    const ptr = await dig(s.port, ['-x', '10.1.1.1']);
    expect(ptr.answers).toEqual(['1.1.1.10.in-addr.arpa. 10 IN PTR web.berth.internal.']);
    expect((await dig(s.port, ['-x', '10.1.99.99'])).status).toBe('NXDOMAIN'); // in the pool's reverse zone, unused
    expect((await dig(s.port, ['1.in-addr.arpa', 'SOA'])).status).toBe('REFUSED'); // not ours
    expect((await dig(s.port, ['1.10.in-addr.arpa', 'SOA'])).answers[0]).toMatch(/IN SOA ns\.berth\.internal\./);
  });

  it('matches names case-insensitively and keeps the question case in the answer', async () => {
    const r = await dig(s.port, ['WeB.BeRtH.InTeRnAl', 'A']);
    expect(r.status).toBe('NOERROR');
    expect(r.raw).toMatch(/;WeB\.BeRtH\.InTeRnAl\.\s+IN\s+A/);
    expect(r.answers.every((l) => l.startsWith('WeB.BeRtH.InTeRnAl. '))).toBe(true);
    expect((await dig(s.port, ['NOSUCH.Berth.Internal'])).authority[0]).toMatch(/^Berth\.Internal\. /);
  });

  it('counts queries by type and rcode and reports the index', async () => {
    await dig(s.port, ['web.berth.internal', 'A']);
    const text = await s.registry.metrics();
    expect(text).toMatch(/berth_dns_queries_total\{type="A",rcode="NOERROR"\} \d+/);
    expect(text).toMatch(/berth_dns_queries_total\{type="A",rcode="NXDOMAIN"\} \d+/);
    expect(text).toMatch(/berth_dns_index_names\{env="default"\} \d+/);
    expect(text).toMatch(/berth_dns_index_age_seconds \d/);
    expect(text).toMatch(/berth_dns_query_duration_seconds_count \d+/);
  });
});

describe('following the registry', () => {
  it('serves a change within 1 s of the registry advancing', async () => {
    const s = await startServer([aService({ domains: ['moving.berth.internal'], endpoints: endpoints(1, 3) })]);
    try {
      const r = resolver(s.port);
      expect(await r.resolve4('moving.berth.internal')).toEqual(['10.1.3.1']);
      const t0 = Date.now();
      s.view.set([aService({ domains: ['moving.berth.internal'], endpoints: endpoints(1, 4) })]);
      let seen: string[] = [];
      while (Date.now() - t0 < 1000) {
        seen = await r.resolve4('moving.berth.internal');
        if (seen[0] === '10.1.4.1') break;
        await new Promise((res) => setTimeout(res, 10));
      }
      expect(seen).toEqual(['10.1.4.1']);
      expect(Date.now() - t0).toBeLessThan(1000);
      // A removed service disappears the same way.
      await load(s, []);
      expect(await errorCode(r.resolve4('moving.berth.internal'))).toBe('ENOTFOUND');
    } finally {
      await s.server.stop();
    }
  });

  itWithTools(['dig'], 'patches just the changed apps after the first load, and rebuilds whole when settings change', async () => {
    const s = await startServer([
      aService({ domains: ['stay.berth.internal'], endpoints: endpoints(1, 7) }),
      aService({ domains: ['go.berth.internal'], endpoints: endpoints(1, 8) }),
    ]);
    const count = async (name: string) => Number(new RegExp(`^${name}_count (\\d+)`, 'm').exec(await s.registry.metrics())?.[1] ?? 0);
    try {
      const patched = new Promise<void>((resolve) => {
        const off = s.server.onSwap((idx) => {
          if (idx.position === 2) {
            off();
            resolve();
          }
        });
      });
      s.view.update([aService({ domains: ['new.berth.internal'], endpoints: endpoints(1, 9) })], ['/go']);
      await patched;
      expect((await dig(s.port, ['new.berth.internal', 'A'])).answers).toEqual(['new.berth.internal. 10 IN A 10.1.9.1']);
      expect((await dig(s.port, ['go.berth.internal', 'A'])).status).toBe('NXDOMAIN');
      expect((await dig(s.port, ['-x', '10.1.8.1'])).status).toBe('NXDOMAIN');
      expect((await dig(s.port, ['stay.berth.internal', 'A'])).answers).toHaveLength(1);
      expect([await count('berth_dns_index_build_duration_seconds'), await count('berth_dns_index_patch_duration_seconds')]).toEqual([1, 1]);
      const rebuilt = new Promise<void>((resolve) => s.server.onSwap(() => resolve()));
      s.server.setReverseNetworks(['10.1.0.0/16', '10.2.0.0/16']);
      await rebuilt;
      expect(await count('berth_dns_index_build_duration_seconds')).toBe(2);
      expect((await dig(s.port, ['new.berth.internal', 'A'])).answers).toHaveLength(1);
    } finally {
      await s.server.stop();
    }
  });

  itWithTools(['dig'], 'serves the reverse zone of a pool added at run time', async () => {
    const s = await startServer([]);
    try {
      expect((await dig(s.port, ['2.10.in-addr.arpa', 'SOA'])).status).toBe('REFUSED');
      const swapped = new Promise<void>((resolve) => s.server.onSwap(() => resolve()));
      s.server.setReverseNetworks(['10.1.0.0/16', '10.2.0.0/16']);
      await swapped;
      expect((await dig(s.port, ['2.10.in-addr.arpa', 'SOA'])).status).toBe('NOERROR');
      expect((await dig(s.port, ['-x', '10.2.3.4'])).status).toBe('NXDOMAIN');
    } finally {
      await s.server.stop();
    }
  });

  it('stops promptly even with idle TCP clients connected', async () => {
    const s = await startServer([]);
    const idle = net.connect(s.port, '127.0.0.1');
    await new Promise((r) => idle.once('connect', r));
    const closed = new Promise((r) => idle.once('close', r));
    const t0 = Date.now();
    await s.server.stop();
    await closed;
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  const hasV6 = Object.values(os.networkInterfaces())
    .flat()
    .some((i) => i?.address === '::1');
  (hasV6 ? it : it.skip)('listens on IPv6 too, and names its NS after the listen address', async () => {
    const s = await startServer([aService({ domains: ['web.berth.internal'] })], { host: '::1' });
    try {
      const r = new Resolver({ timeout: 2000, tries: 1 });
      r.setServers([`[::1]:${s.port}`]);
      expect(await r.resolve4('web.berth.internal')).toEqual(['10.1.1.1']);
      expect(await r.resolve6('ns.berth.internal')).toEqual(['::1']);
    } finally {
      await s.server.stop();
    }
  });
});
