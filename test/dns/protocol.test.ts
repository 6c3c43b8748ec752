/**
 * The records a query may carry besides its question (RFC 1035 §4.1, RFC 1995 §3, RFC 6891): the
 * client's SOA in the authority section of an IXFR, records other than OPT in the additional
 * section, and the DO bit (RFC 3225) echoed. Bounds: section counts and message size.
 */
import { describeWithTools } from '../support/tools';
import { aService, dig, header, query, startServer, udp, type Started } from './helpers';
import { kdig, soaSerial } from './kdig';

/** A record with a root or pointer owner and raw rdata. */
function record(owner: number[], type: number, rdata: Buffer, ttl = 0): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(1, 2);
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([Buffer.from(owner), fixed, rdata]);
}

/** SOA rdata with root names and the given serial. */
function soaRdata(serial: number): Buffer {
  const b = Buffer.alloc(2 + 20);
  b.writeUInt32BE(serial, 2);
  return b;
}

/** `base` (a query from `query()`) with `ns` authority and `ar` additional records appended. */
function withRecords(base: Buffer, authority: Buffer[], additional: Buffer[]): Buffer {
  const b = Buffer.concat([base, ...authority, ...additional]);
  b.writeUInt16BE(authority.length, 8);
  b.writeUInt16BE(additional.length, 10);
  return b;
}

const OPT = record([0], 41, Buffer.alloc(0));

describeWithTools(['dig', 'kdig'], 'records in the authority and additional sections of a query', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startServer([aService({ domains: ['web.berth.internal'] }, 2)], { transferAllow: ['127.0.0.1/32'] });
  });
  afterAll(() => s.server.stop());

  it('answers an IXFR over UDP (the client SOA in the authority section) with the current SOA, not FORMERR', async () => {
    const r = await kdig(s.port, ['+notcp', 'IXFR=1', 'berth.internal']);
    expect(r.error).toBe('');
    expect(r.records).toHaveLength(1);
    expect(r.records[0]).toMatch(/^berth\.internal\. 10 IN SOA ns\.berth\.internal\. hostmaster\.berth\.internal\. /);
    expect(soaSerial(r.records[0])).toBe(s.server.currentIndex().serial);
  });

  it('refuses the same IXFR to a client outside BERTH_DNS_TRANSFER_ALLOW', async () => {
    const r = await kdig(s.port, ['-b', '127.0.0.2', '+notcp', 'IXFR=1', 'berth.internal']);
    expect(r.error).toBe('REFUSED');
  });

  it('answers a normal question that carries authority records and non-OPT additional records', async () => {
    const q = withRecords(
      query('web.berth.internal', 1, { edns: 1232 }).subarray(0, -11),
      [record([0xc0, 12], 6, soaRdata(7))],
      [record([0], 1, Buffer.from([1, 2, 3, 4])), OPT],
    );
    const r = (await udp(s.port, q))!;
    expect(header(r)).toMatchObject({ rcode: 0, an: 2, ar: 1 });
  });

  it.each([
    ['an IXFR without the client SOA', withRecords(query('berth.internal', 251), [], [])],
    ['an authority SOA too short to hold a serial', withRecords(query('berth.internal', 251), [record([0], 6, Buffer.alloc(10))], [])],
    ['a compression pointer pointing forward', withRecords(query('web.berth.internal', 1), [record([0xc0, 0xff], 1, Buffer.alloc(4))], [])],
    ['an OPT record not owned by the root', withRecords(query('web.berth.internal', 1), [], [record([0xc0, 12], 41, Buffer.alloc(0))])],
    [
      'more than 16 extra records',
      withRecords(
        query('web.berth.internal', 1),
        [],
        Array.from({ length: 17 }, () => record([0], 1, Buffer.alloc(4))),
      ),
    ],
    ['an EDNS option running past its OPT record', withRecords(query('web.berth.internal', 1), [], [record([0], 41, Buffer.from([0, 8, 0, 9, 0]))])],
  ])('answers FORMERR to %s', async (_what, q) => {
    const r = (await udp(s.port, q))!;
    expect(header(r).rcode).toBe(1);
  });

  it('echoes the DO bit of a query that sets it, and signs nothing', async () => {
    const withDo = await dig(s.port, ['+dnssec', 'web.berth.internal', 'A']);
    expect(withDo.status).toBe('NOERROR');
    expect(withDo.raw).toMatch(/EDNS: version: 0, flags: do;/);
    expect(withDo.answers.every((a) => !a.includes('RRSIG'))).toBe(true);
    const without = await dig(s.port, ['web.berth.internal', 'A']);
    expect(without.raw).toMatch(/EDNS: version: 0, flags:;/);
  });
});
