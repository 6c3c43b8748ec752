/**
 * Zone transfers as a secondary sees them, with kdig: AXFR over TCP only (SOA first and last, big
 * zones in several messages), IXFR incremental from a version berth sent before and whole
 * otherwise, the BERTH_DNS_TRANSFER_ALLOW list, and the environment view chosen by the client's
 * address as for queries.
 */
import { waitFor } from '../support/wait';
import { describeWithTools } from '../support/tools';
import { aService, endpoints, load, startServer, type Started } from './helpers';
import { kdig, soaSerial } from './kdig';
import type { Rr } from '../../src/dns/encoder';
import { HISTORY_VERSIONS, TransferHistory } from '../../src/dns/transfer';
import { TYPE } from '../../src/dns/wire';
import { rrKey, type ZoneVersion } from '../../src/dns/zone-content';

const catalog = () => [
  aService({ domains: ['web.berth.internal'] }, 2),
  aService({ domains: ['api.shop.berth.internal'], endpoints: endpoints(1, 7) }),
  aService({ env: 'qa', domains: ['web.berth.internal'], endpoints: endpoints(1, 2) }),
];

async function metric(s: Started, result: string): Promise<number> {
  const m = await s.registry.getSingleMetric('berth_dns_transfers_total')!.get();
  return m.values.find((v) => v.labels.result === result)?.value ?? 0;
}

describeWithTools(['kdig'], 'zone transfers', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startServer(catalog(), { transferAllow: ['127.0.0.1/32', '127.0.0.2/32'] });
  });
  afterAll(() => s.server.stop());

  it('sends the whole zone over TCP with the SOA first and last', async () => {
    const r = await kdig(s.port, ['AXFR', 'berth.internal']);
    expect(r.error).toBe('');
    const soa = r.records.filter((l) => l.includes(' SOA '));
    expect(soa).toHaveLength(2);
    expect(r.records[0]).toBe(soa[0]);
    expect(r.records[r.records.length - 1]).toBe(soa[0]);
    expect(soaSerial(soa[0])).toBe(s.server.currentIndex().serial);
    expect(r.records).toEqual(
      expect.arrayContaining([
        'berth.internal. 10 IN NS ns.berth.internal.',
        'web.berth.internal. 10 IN A 10.1.1.1',
        'web.berth.internal. 10 IN A 10.1.1.2',
        'api.shop.berth.internal. 10 IN A 10.1.7.1',
      ]),
    );
    expect(r.records.some((l) => l.startsWith('_http._tcp.web.berth.internal. 10 IN SRV 0 10 31000 t-'))).toBe(true);
    // The reverse zones of the pools transfer too.
    const rev = await kdig(s.port, ['AXFR', '1.10.in-addr.arpa']);
    expect(rev.records).toContain('1.1.1.10.in-addr.arpa. 10 IN PTR web.berth.internal.');
  });

  it('refuses AXFR over UDP, and answers NOTAUTH for a zone berth does not serve', async () => {
    expect((await kdig(s.port, ['+notcp', 'AXFR', 'berth.internal'])).error).toBe('REFUSED');
    expect((await kdig(s.port, ['AXFR', 'example.com'])).error).toBe('NOTAUTH');
  });

  it("serves the view of the client's environment, chosen by its address as for queries", async () => {
    const qa = await kdig(s.port, ['-b', '127.0.0.2', 'AXFR', 'berth.internal']);
    expect(qa.records).toContain('web.berth.internal. 10 IN A 10.1.2.1');
    expect(qa.records).not.toContain('web.berth.internal. 10 IN A 10.1.1.1');
    // Names qa does not define come from the default environment, as its queries get them.
    expect(qa.records).toContain('api.shop.berth.internal. 10 IN A 10.1.7.1');
    // Its reverse zone follows the same view: web's PTR at qa's address, none at the default one's.
    const rev = await kdig(s.port, ['-b', '127.0.0.2', 'AXFR', '1.10.in-addr.arpa']);
    expect(rev.records).toContain('1.2.1.10.in-addr.arpa. 10 IN PTR web.berth.internal.');
    expect(rev.records.some((l) => l.startsWith('1.1.1.10.in-addr.arpa.'))).toBe(false);
    expect(rev.records).toContain('1.7.1.10.in-addr.arpa. 10 IN PTR api.shop.berth.internal.');
  });

  it('answers IXFR incrementally from a version it sent, whole from one it does not know, and with the SOA alone when current', async () => {
    const first = await kdig(s.port, ['AXFR', 'berth.internal']);
    const old = soaSerial(first.records[0]);
    await load(s, [...catalog().filter((x) => x.appId !== '/api'), aService({ domains: ['new.berth.internal'], endpoints: endpoints(1, 9) })]);
    await waitFor(() => s.server.currentIndex().serial !== old);
    const now = s.server.currentIndex().serial;

    const inc = await kdig(s.port, [`IXFR=${old}`, 'berth.internal']);
    expect(inc.error).toBe('');
    // RFC 1995: new SOA, old SOA, deletions, new SOA, additions, new SOA.
    const soaAt = inc.records.map((l, i) => (l.includes(' SOA ') ? i : -1)).filter((i) => i >= 0);
    expect(soaAt.map((i) => soaSerial(inc.records[i]))).toEqual([now, old, now, now]);
    expect(inc.records.slice(soaAt[1] + 1, soaAt[2]).sort()).toEqual([
      '_8080._tcp.api.shop.berth.internal. 10 IN SRV 0 10 31000 t-10007000.api.shop.berth.internal.',
      '_http._tcp.api.shop.berth.internal. 10 IN SRV 0 10 31000 t-10007000.api.shop.berth.internal.',
      'api.shop.berth.internal. 10 IN A 10.1.7.1',
      't-10007000.api.shop.berth.internal. 10 IN A 10.1.7.1',
    ]);
    expect(inc.records.slice(soaAt[2] + 1, soaAt[3])).toEqual(expect.arrayContaining(['new.berth.internal. 10 IN A 10.1.9.1']));
    expect(inc.records.some((l) => l.startsWith('web.berth.internal'))).toBe(false); // unchanged names are not sent
    expect(await metric(s, 'ixfr')).toBeGreaterThanOrEqual(1);

    const unknown = await kdig(s.port, [`IXFR=${old - 1000}`, 'berth.internal']);
    expect(unknown.records.filter((l) => l.includes(' SOA ')).map(soaSerial)).toEqual([now, now]);
    expect(unknown.records).toContain('web.berth.internal. 10 IN A 10.1.1.1');
    expect(await metric(s, 'ixfr_full')).toBeGreaterThanOrEqual(1);

    const current = await kdig(s.port, [`IXFR=${now}`, 'berth.internal']);
    expect(current.records).toHaveLength(1);
    expect(soaSerial(current.records[0])).toBe(now);
    const udp = await kdig(s.port, ['+notcp', `IXFR=${old}`, 'berth.internal']);
    expect(udp.records.map(soaSerial)).toEqual([now]); // over UDP: the SOA alone, the client goes on over TCP
  });

  it('sends a big zone in several messages, every record once', async () => {
    const big = Array.from({ length: 400 }, (_, i) => aService({ domains: [`svc${i}.berth.internal`], endpoints: endpoints(3, 100 + (i % 100)) }));
    await load(s, big);
    const r = await kdig(s.port, ['AXFR', 'berth.internal']);
    expect(r.error).toBe('');
    expect(r.messages).toBeGreaterThan(2);
    // Each app: 3 A at its domain, 3 per-task A, 2 × 3 SRV; plus SOA ×2, NS and ns.berth.internal.
    expect(r.records).toHaveLength(400 * 12 + 4);
    expect(new Set(r.records).size).toBe(400 * 12 + 3);
  });
});

describeWithTools(['kdig'], 'zone transfers without BERTH_DNS_TRANSFER_ALLOW', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startServer(catalog());
  });
  afterAll(() => s.server.stop());

  it('refuses every client, loopback included, and counts it', async () => {
    expect((await kdig(s.port, ['AXFR', 'berth.internal'])).error).toBe('REFUSED');
    expect((await kdig(s.port, ['IXFR=1', 'berth.internal'])).error).toBe('REFUSED');
    expect(await metric(s, 'refused')).toBe(2);
  });
});

describe('the versions kept for IXFR', () => {
  const version = (serial: number, names: string[]): ZoneVersion => {
    const records: Rr[] = names.map((n) => ({ name: n, ttl: 10, rec: { type: TYPE.A, data: '10.0.0.1' } }));
    return { zone: 'berth.internal', serial, soa: records[0], records, keys: records.map(rrKey) };
  };

  it('never diffs from a serial that was sent with two contents (a change shown before its serial moved)', () => {
    const h = new TransferHistory();
    h.keep('default', version(5, ['a.berth.internal']));
    expect(h.find('default', 'berth.internal', 5)?.keys).toHaveLength(1);
    h.keep('default', version(5, ['a.berth.internal']));
    expect(h.find('default', 'berth.internal', 5)).toBeDefined();
    h.keep('default', version(5, ['a.berth.internal', 'b.berth.internal']));
    expect(h.find('default', 'berth.internal', 5)).toBeUndefined();
    expect(h.find('qa', 'berth.internal', 5)).toBeUndefined(); // views are kept apart
  });

  it(`keeps at most ${HISTORY_VERSIONS} versions per zone and view`, () => {
    const h = new TransferHistory();
    for (let s = 1; s <= HISTORY_VERSIONS + 2; s++) h.keep('default', version(s, ['a.berth.internal']));
    expect(h.find('default', 'berth.internal', 1)).toBeUndefined();
    expect(h.find('default', 'berth.internal', 3)).toBeDefined();
  });
});
