/**
 * Every dns2 hazard listed in docs/dns.md (dns2 3.0 and naive dgram servers), as a
 * regression test against berth's server. Replies are decoded with dns2's parser, an independent codec.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import { Packet } from 'dns2';
import { aService, endpoints, framed, header, query, startServer, tcp, udp, type Started } from './helpers';

let s: Started;
beforeAll(async () => {
  s = await startServer(
    [
      aService({ domains: ['svc1.berth.internal'], endpoints: endpoints(3, 1) }),
      aService({ domains: ['big.berth.internal'], endpoints: endpoints(100, 2) }),
      aService({ domains: ['mid.berth.internal'], endpoints: endpoints(20, 3) }),
      // A 2,000-query burst from one socket is the point of one test here: no rate limit (abuse.test.ts covers it).
    ],
    { limits: { rrlResponsesPerSecond: 0 } },
  );
});
afterAll(() => s.server.stop());

/** The server answers a valid query within `ms`. */
async function answersWithin(ms: number): Promise<boolean> {
  const t0 = Date.now();
  const r = await udp(s.port, query('svc1.berth.internal', 1), ms);
  return r !== null && header(r).an === 3 && Date.now() - t0 <= ms;
}

function withHeader(counts: [number, number, number, number], flags = 0x0100): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(0xbeef, 0);
  b.writeUInt16BE(flags, 2);
  counts.forEach((c, i) => b.writeUInt16BE(c, 4 + 2 * i));
  return b;
}

describe('CPU amplification (dns2 stalled 2–3 s per packet)', () => {
  it('a 12-byte header claiming 65,535 records per section gets FORMERR at once', async () => {
    const r = await udp(s.port, withHeader([0xffff, 0xffff, 0xffff, 0xffff]));
    expect(r && header(r)).toMatchObject({ id: 0xbeef, qr: true, rcode: 1, an: 0 });
    for (let i = 0; i < 20; i++) await udp(s.port, withHeader([0xffff, 0xffff, 0xffff, 0xffff]), 50);
    expect(await answersWithin(100)).toBe(true);
  });

  it('20 fully random packets (counts up to 65,535) do not make it unresponsive', async () => {
    const sock = dgram.createSocket('udp4');
    for (let i = 0; i < 20; i++) {
      const b = crypto.randomBytes(12 + crypto.randomInt(0, 500));
      b[2] &= 0x7f;
      sock.send(b, s.port, '127.0.0.1');
    }
    expect(await answersWithin(200)).toBe(true);
    sock.close();
  });
});

describe('crashes (dns2 and naive dgram servers died)', () => {
  const canRaw = process.getuid?.() === 0 && spawnSync('python3', ['-c', 'import socket']).status === 0;
  (canRaw ? it : it.skip)('a query from UDP source port 0 is dropped, the process lives and keeps answering', async () => {
    // Node cannot send from port 0; a raw socket (root) can — the same probe as the original dns2 measurement.
    const py = `
import socket, struct, sys
port = int(sys.argv[1])
q = struct.pack('>HHHHHH', 0x4242, 0x0100, 1, 0, 0, 0) + b'\\x04svc1\\x05berth\\x08internal\\x00' + struct.pack('>HH', 1, 1)
udp = struct.pack('>HHHH', 0, port, 8 + len(q), 0) + q
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
s.sendto(udp, ('127.0.0.1', 0))`;
    execFileSync('python3', ['-c', py, String(s.port)]);
    const deadline = Date.now() + 2000;
    while (!/berth_dns_dropped_packets_total\{reason="source_port_0"\} 1/.test(await s.registry.metrics()) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await s.registry.metrics()).toMatch(/berth_dns_dropped_packets_total\{reason="source_port_0"\} 1/);
    expect(await answersWithin(200)).toBe(true);
  });
});

describe('protocol edge cases dns2 got wrong', () => {
  it('ignores responses (QR=1): answering them could loop two servers', async () => {
    const b = query('svc1.berth.internal', 1);
    b[2] |= 0x80;
    expect(await udp(s.port, b, 300)).toBeNull();
  });

  it('answers other opcodes (UPDATE) with NOTIMP', async () => {
    const b = query('svc1.berth.internal', 1);
    b[2] = (b[2] & 0x87) | (5 << 3);
    const r = await udp(s.port, b);
    expect(r && header(r).rcode).toBe(4);
    expect(r && (r[2] >> 3) & 0x0f).toBe(5);
  });

  it.each([
    ['qdcount = 0', withHeader([0, 0, 0, 0])],
    ['truncated question', query('svc1.berth.internal', 1).subarray(0, 20)],
    ['compression pointer loop in the qname', Buffer.concat([withHeader([1, 0, 0, 0]), Buffer.from([0xc0, 12, 0, 1, 0, 1])])],
    ['label length 64 (reserved bits)', Buffer.concat([withHeader([1, 0, 0, 0]), Buffer.from([0x40]), Buffer.alloc(64, 0x61), Buffer.from([0, 0, 1, 0, 1])])],
    ['two questions', Buffer.concat([withHeader([2, 0, 0, 0]), query('a.berth.internal', 1).subarray(12), query('b.berth.internal', 1).subarray(12)])],
    ['answer records in a query', Buffer.concat([withHeader([1, 1, 0, 0]), query('a.berth.internal', 1).subarray(12)])],
    [
      'two OPT records',
      Buffer.concat([
        withHeader([1, 0, 0, 2]),
        query('a.berth.internal', 1).subarray(12),
        Buffer.from([0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]),
        Buffer.from([0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]),
      ]),
    ],
    [
      'an additional record running past the packet',
      Buffer.concat([withHeader([1, 0, 0, 1]), query('a.berth.internal', 1).subarray(12), Buffer.from([0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 9, 1, 2])]),
    ],
    [
      'a name longer than 255 bytes',
      Buffer.concat([
        withHeader([1, 0, 0, 0]),
        ...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)])),
        Buffer.from([0, 0, 1, 0, 1]),
      ]),
    ],
  ])('answers FORMERR to %s and keeps serving', async (_desc, packet) => {
    const r = await udp(s.port, packet);
    expect(r && header(r)).toMatchObject({ qr: true, rcode: 1 });
    expect(await answersWithin(200)).toBe(true);
  });

  it('drops packets shorter than a header', async () => {
    expect(await udp(s.port, Buffer.from([1, 2, 3]), 200)).toBeNull();
    expect(await answersWithin(200)).toBe(true);
  });

  it('echoes OPT when the query had EDNS, caps UDP at 1232 even if the client offers 65535, keeps OPT on TC', async () => {
    const r = (await udp(s.port, query('svc1.berth.internal', 1, { edns: 4096 })))!;
    const p = Packet.parse(r);
    expect(p.additionals.some((a) => a.type === 41)).toBe(true);
    const big = (await udp(s.port, query('big.berth.internal', 1, { edns: 65535 })))!;
    expect(big.length).toBeLessThanOrEqual(1232);
    expect(header(big).tc).toBe(true);
    expect(header(big).ar).toBe(1); // the OPT record
    const noEdns = (await udp(s.port, query('svc1.berth.internal', 1)))!;
    expect(header(noEdns).ar).toBe(0);
  });

  it('drops the SRV glue rather than truncate when only the answers fit', async () => {
    const full = Packet.parse((await tcp(s.port, framed(query('_http._tcp.mid.berth.internal', 33)), 1)).replies[0]);
    expect(full.additionals).toHaveLength(20); // the targets' addresses
    const r = (await udp(s.port, query('_http._tcp.mid.berth.internal', 33, { edns: 1232 })))!;
    expect(header(r)).toMatchObject({ tc: false, an: 20, ar: 1 }); // just the OPT record
  });

  it('answers EDNS version 1 with BADVERS', async () => {
    const b = query('svc1.berth.internal', 1, { edns: 1232 });
    b[b.length - 5] = 1; // OPT TTL byte 2 = version
    const r = (await udp(s.port, b))!;
    expect(header(r).rcode).toBe(0);
    expect(r[r.length - 6]).toBe(1); // extended RCODE 1 << 4 = 16 (BADVERS)
  });

  it('compresses names: three A records fit in under 100 bytes and decode correctly', async () => {
    const r = (await udp(s.port, query('svc1.berth.internal', 1)))!;
    expect(r.length).toBeLessThan(100);
    const p = Packet.parse(r);
    expect(p.answers.map((a) => a.address).sort()).toEqual(['10.1.1.1', '10.1.1.2', '10.1.1.3']);
    expect(p.answers.every((a) => a.name === 'svc1.berth.internal' && a.ttl === 10)).toBe(true);
  });

  it('keeps the question case (0x20) in question and answers', async () => {
    const p = Packet.parse((await udp(s.port, query('SvC1.BeRtH.iNtErNaL', 1)))!);
    expect(p.questions[0].name).toBe('SvC1.BeRtH.iNtErNaL');
    expect(p.answers[0].name).toBe('SvC1.BeRtH.iNtErNaL');
  });

  it('answers a burst of 2,000 queries on one socket', async () => {
    const sock = dgram.createSocket('udp4');
    let got = 0;
    sock.on('message', () => got++);
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    for (let i = 0; i < 2000; i++) {
      sock.send(query('svc1.berth.internal', 1, { id: i }), s.port, '127.0.0.1');
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    const deadline = Date.now() + 5000;
    while (got < 2000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    sock.close();
    expect(got).toBe(2000);
  });
});

describe('TCP', () => {
  it('pipelines 5 queries on one connection, also when the client half-closes right after sending', async () => {
    const ids = [11, 12, 13, 14, 15];
    const { replies } = await tcp(s.port, framed(...ids.map((id) => query('svc1.berth.internal', 1, { id }))), 5, 2000, true);
    expect(replies.map((r) => header(r).id).sort()).toEqual(ids);
  });

  it('gives the full 100-record answer that UDP truncates', async () => {
    const { replies } = await tcp(s.port, framed(query('big.berth.internal', 1)), 1);
    expect(header(replies[0])).toMatchObject({ tc: false, an: 100 });
  });

  it.each([
    ['3,000 random bytes', crypto.randomBytes(3000)],
    ['a frame claiming 65,535 bytes, then FIN', Buffer.from([0xff, 0xff, 1, 2, 3])],
    ['a zero-length frame', Buffer.from([0, 0])],
    ['a frame shorter than a header', framed(Buffer.from([1, 2, 3]))],
  ])('survives %s and keeps answering', async (_desc, raw) => {
    const r = await tcp(s.port, raw, 0, 1500, true);
    expect(r.how).toBe('closed');
    expect(await answersWithin(200)).toBe(true);
  });
});
