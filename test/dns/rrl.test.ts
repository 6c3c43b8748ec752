/** The rate limiter, the truncated-reply builder and the verified-client set, on their own (synthetic clock). */
import { CLASS_ANSWER, CLASS_ERROR, CLASS_NEGATIVE, RRL_DROP, RRL_SEND, RRL_SLIP, ResponseRateLimiter, responseClass, type RrlAction } from '../../src/dns/rrl';
import { truncateReply } from '../../src/dns/truncate';
import { VerifiedClients } from '../../src/dns/verified';
import { header, query } from './helpers';

const T0 = 1_000_000;
const burst = (rrl: ResponseRateLimiter, address: string, n: number, now: number, cls = CLASS_ANSWER): RrlAction[] =>
  Array.from({ length: n }, () => rrl.check(address, cls, now));
const count = (xs: RrlAction[], a: RrlAction) => xs.filter((x) => x === a).length;

describe('ResponseRateLimiter', () => {
  it('sends `rate` responses per second per prefix, then slips every Nth and drops the rest', () => {
    const rrl = new ResponseRateLimiter({ responsesPerSecond: 10, windowSeconds: 1, slip: 2 });
    const first = burst(rrl, '192.0.2.7', 30, T0);
    expect(first.slice(0, 10)).toEqual(Array(10).fill(RRL_SEND));
    expect(first.slice(10)).toEqual(Array.from({ length: 20 }, (_, i) => (i % 2 === 1 ? RRL_SLIP : RRL_DROP)));
    // A second later the bucket is full again.
    expect(count(burst(rrl, '192.0.2.200', 12, T0 + 1000), RRL_SEND)).toBe(10);
  });

  it('counts a /24 (IPv4) and a /56 (IPv6) as one client, and each response class separately', () => {
    const rrl = new ResponseRateLimiter({ responsesPerSecond: 5, windowSeconds: 1, slip: 0 });
    expect(count(burst(rrl, '10.9.8.1', 5, T0), RRL_SEND)).toBe(5);
    expect(rrl.check('10.9.8.254', CLASS_ANSWER, T0)).toBe(RRL_DROP); // same /24
    expect(rrl.check('::ffff:10.9.8.3', CLASS_ANSWER, T0)).toBe(RRL_DROP); // IPv4-mapped: the same /24
    expect(rrl.check('10.9.9.1', CLASS_ANSWER, T0)).toBe(RRL_SEND); // next /24
    expect(rrl.check('10.9.8.1', CLASS_NEGATIVE, T0)).toBe(RRL_SEND); // NXDOMAIN has its own bucket
    expect(rrl.check('10.9.8.1', CLASS_ERROR, T0)).toBe(RRL_SEND);

    expect(count(burst(rrl, '2001:db8:1:2300::1', 5, T0), RRL_SEND)).toBe(5);
    expect(rrl.check('2001:db8:1:23ff:ffff::9', CLASS_ANSWER, T0)).toBe(RRL_DROP); // same /56
    expect(rrl.check('2001:0db8:0001:2345:0:0:0:1', CLASS_ANSWER, T0)).toBe(RRL_DROP); // same /56, other spelling
    expect(rrl.check('2001:db8:1:2400::1', CLASS_ANSWER, T0)).toBe(RRL_SEND); // next /56
    expect(rrl.check('2001:db8::1', CLASS_ANSWER, T0)).toBe(RRL_SEND);
    expect(rrl.check('::1', CLASS_ANSWER, T0)).toBe(RRL_SEND);
  });

  it('keeps a flooding prefix limited for the window after the flood, then lets it through', () => {
    const rrl = new ResponseRateLimiter({ responsesPerSecond: 10, windowSeconds: 3, slip: 0 });
    burst(rrl, '198.51.100.1', 1000, T0);
    expect(rrl.check('198.51.100.1', CLASS_ANSWER, T0 + 1000)).toBe(RRL_DROP);
    expect(rrl.check('198.51.100.1', CLASS_ANSWER, T0 + 1500)).toBe(RRL_DROP);
    expect(rrl.check('198.51.100.1', CLASS_ANSWER, T0 + 2500)).toBe(RRL_SEND);
  });

  it('stays bounded: 100,000 prefixes share the fixed table, and a new prefix always starts unlimited', () => {
    const rrl = new ResponseRateLimiter({ responsesPerSecond: 1, windowSeconds: 1, slip: 0, tableSize: 1024 });
    for (let i = 0; i < 100_000; i++) rrl.check(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, CLASS_ANSWER, T0);
    expect(rrl.check('203.0.113.9', CLASS_ANSWER, T0)).toBe(RRL_SEND);
    expect(rrl.check('203.0.113.9', CLASS_ANSWER, T0)).toBe(RRL_DROP);
  });

  it('is off at 0 responses per second', () => {
    const rrl = new ResponseRateLimiter({ responsesPerSecond: 0, windowSeconds: 5, slip: 2 });
    expect(count(burst(rrl, '10.0.0.1', 10_000, T0), RRL_SEND)).toBe(10_000);
  });

  it('never throws on odd address strings', () => {
    const rrl = new ResponseRateLimiter({ responsesPerSecond: 1, windowSeconds: 1, slip: 1 });
    for (const a of ['', ':', '::', ':::::::::', 'fe80::1%eth0', '1.2', '999.999.999.999', 'x'.repeat(1000), '1:2:3:4:5:6:7:8:9:10']) {
      expect(() => rrl.check(a, CLASS_ANSWER, T0)).not.toThrow();
    }
  });
});

describe('responseClass', () => {
  it('tells answers, negative answers and errors apart', () => {
    const reply = (rcode: number, an: number) => {
      const b = Buffer.alloc(12);
      b[3] = rcode;
      b.writeUInt16BE(an, 6);
      return b;
    };
    expect(responseClass(reply(0, 2))).toBe(CLASS_ANSWER);
    expect(responseClass(reply(0, 0))).toBe(CLASS_NEGATIVE);
    const truncated = reply(0, 0);
    truncated[2] = 0x82; // TC: too big for UDP, an answer all the same
    expect(responseClass(truncated)).toBe(CLASS_ANSWER);
    expect(responseClass(reply(3, 0))).toBe(CLASS_NEGATIVE);
    for (const rc of [1, 2, 4, 5]) expect(responseClass(reply(rc, 0))).toBe(CLASS_ERROR);
  });
});

describe('truncateReply', () => {
  it('keeps header and question (and OPT), sets TC and empties the sections', () => {
    const q = query('Web.Berth.Internal', 1, { id: 77, edns: 1232 });
    const qEnd = q.length - 11;
    // A reply: the query's header and question, a fake 16-byte answer, then OPT.
    const reply = Buffer.concat([q.subarray(0, qEnd), Buffer.alloc(16, 0xab), q.subarray(qEnd)]);
    reply[2] = 0x84;
    reply.writeUInt16BE(1, 6);
    const t = truncateReply(reply)!;
    expect(header(t)).toMatchObject({ id: 77, qr: true, aa: true, tc: true, qd: 1, an: 0, ns: 0, ar: 1 });
    expect(t.length).toBe(q.length);
    expect(t.subarray(12, qEnd)).toEqual(q.subarray(12, qEnd));
    const noEdns = truncateReply(Buffer.concat([query('a.b', 1).subarray(0, 21), Buffer.alloc(16)]))!;
    expect(header(noEdns)).toMatchObject({ tc: true, ar: 0 });
    expect(noEdns.length).toBe(21);
  });

  it('refuses what it cannot read instead of guessing', () => {
    expect(truncateReply(Buffer.alloc(5))).toBeNull();
    const bad = Buffer.alloc(20);
    bad.writeUInt16BE(1, 4);
    bad[12] = 0xc0; // a compression pointer in the question
    expect(truncateReply(bad)).toBeNull();
    const twoQuestions = Buffer.alloc(40);
    twoQuestions.writeUInt16BE(2, 4);
    expect(truncateReply(twoQuestions)).toBeNull();
  });
});

describe('VerifiedClients', () => {
  it('remembers an address for its lifetime, at most `max` of them, oldest forgotten first', () => {
    const v = new VerifiedClients(2, 1000);
    v.add('10.0.0.1', 0);
    expect(v.has('10.0.0.1', 1000)).toBe(true);
    expect(v.has('10.0.0.1', 1001)).toBe(false);
    v.add('10.0.0.1', 2000);
    v.add('10.0.0.2', 2000);
    v.add('10.0.0.1', 2100); // refreshed: now the newest
    v.add('10.0.0.3', 2200);
    expect([v.has('10.0.0.1', 2300), v.has('10.0.0.2', 2300), v.has('10.0.0.3', 2300)]).toEqual([true, false, true]);
    expect(v.size).toBe(2);
  });
});
