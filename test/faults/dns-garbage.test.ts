/**
 * 100,000 malformed DNS packets against a real `berth run` over UDP on loopback, plus garbage over
 * TCP: truncated headers, bad label lengths, compression pointer loops, section-count lies,
 * oversized and random packets. Real queries are interleaved all along and must be answered
 * correctly; each malformed kind gets what RFC 1035 and docs/dns.md ask (silence when there is
 * nothing to answer with or the packet is a response, else a 12-byte FORMERR/NOTIMP); the process
 * stays up, its memory bounded, and /metrics counts every packet.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startSimulator, type Simulator } from '../../src/sim';
import { RCODE } from '../../src/dns/wire';
import { waitFor } from '../support/wait';
import { KINDS, prng, query, type Kind } from './dns-packets';
import { spawnBerth, type BerthProcess } from './proc';
import { FaultLog } from './record';
import { webApp, ZONE } from './stack';

jest.setTimeout(120_000);
const log = new FaultLog('dns-garbage');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-faults-dns-'));
const TOTAL = 100_000;
const ROUND = 100; // malformed packets between two real queries (keeps the socket buffers from overflowing)
const REAL_ID = 0xf000; // ids at or above this are real queries
const SRV_NAME = `_http._tcp.g.${ZONE}`;
const NX_NAME = `missing.${ZONE}`;
let sim: Simulator;
let berth: BerthProcess;

/** A UDP client that sees every reply: real ones resolve their query, the rest are collected. */
class Client {
  readonly sock = dgram.createSocket('udp4');
  readonly others: Buffer[] = [];
  private readonly waiting = new Map<number, (b: Buffer | null) => void>();
  constructor(private readonly port: number) {
    this.sock.on('message', (m) => {
      const id = m.length >= 2 ? m.readUInt16BE(0) : -1;
      const w = this.waiting.get(id);
      if (id >= REAL_ID && w) {
        this.waiting.delete(id);
        w(m);
      } else this.others.push(m);
    });
  }
  send(b: Buffer): void {
    this.sock.send(b, this.port, '127.0.0.1');
  }
  /** Sends a real query; resolves with its reply (null after 2 s). Replies come in order, so every reply to earlier packets has arrived by then. */
  ask(id: number, name: string, type: number): Promise<Buffer | null> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiting.delete(id);
        resolve(null);
      }, 2000);
      this.waiting.set(id, (b) => {
        clearTimeout(t);
        resolve(b);
      });
      this.send(query(id, name, type));
    });
  }
  close(): void {
    this.sock.close();
  }
}

const rcode = (b: Buffer) => b[3] & 0x0f;
const ancount = (b: Buffer) => b.readUInt16BE(6);
/** A correct answer to the interleaved real query `i`: the app's 2 SRV records, or NXDOMAIN. */
async function realOk(c: Client, i: number): Promise<boolean> {
  const id = REAL_ID + (i % 0x0fff);
  const r = i % 2 === 0 ? await c.ask(id, SRV_NAME, 33) : await c.ask(id, NX_NAME, 1);
  if (!r || r.readUInt16BE(0) !== id) return false;
  return i % 2 === 0 ? rcode(r) === RCODE.NOERROR && ancount(r) === 2 : rcode(r) === RCODE.NXDOMAIN;
}

/** Sum of every series of a counter in the Prometheus text, optionally one label value. */
async function counter(name: string, label?: string): Promise<number> {
  const text = (await berth.api<string>('GET', '/metrics')).body;
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && (!label || line.includes(label))) n += Number(line.split(' ').pop());
  return n;
}

/** Kernel UDP receive-buffer drops (system-wide): the only way a packet may go uncounted. */
function rcvbufErrors(): number {
  const lines = fs
    .readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  const [keys, values] = lines.map((l) => l.split(/\s+/));
  return Number(values[keys.indexOf('RcvbufErrors')]);
}

beforeAll(async () => {
  sim = await startSimulator({ flavour: '1.10', keepaliveMs: 500 });
  await sim.control.deploy(webApp('g', 2));
  berth = await spawnBerth(dir, { BERTH_MARATHON_URLS: sim.url });
  const c = new Client(berth.dnsPort);
  try {
    await waitFor(() => realOk(c, 0), 30_000);
  } finally {
    c.close();
  }
}, 90_000);

afterAll(async () => {
  log.flush();
  await berth?.kill();
  await sim?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('each malformed kind gets silence or FORMERR/NOTIMP as RFC 1035 asks, never anything else', async () => {
  const c = new Client(berth.dnsPort);
  const rnd = prng(1035);
  const seen: string[] = [];
  try {
    for (const [k, kind] of KINDS.entries()) {
      for (let i = 0; i < 20; i++) {
        const id = 1000 + k * 100 + i;
        const pkt = kind.make(id, rnd);
        c.others.length = 0;
        c.send(pkt);
        expect(await realOk(c, i)).toBe(true);
        const replies = c.others.splice(0);
        if (kind.expect === 'drop') expect({ kind: kind.name, replies: replies.length }).toEqual({ kind: kind.name, replies: 0 });
        else if (kind.expect === 'any') expect(replies.length).toBeLessThanOrEqual(1);
        else
          expect({ kind: kind.name, replies: replies.map((r) => ({ id: r.readUInt16BE(0), qr: r[2] >> 7, rcode: rcode(r), len: r.length })) }).toEqual({
            kind: kind.name,
            replies: [{ id, qr: 1, rcode: kind.expect, len: 12 }],
          });
        // Never an amplifier: a reply is no larger than what was sent (plus an OPT record at most).
        for (const r of replies) expect(r.length).toBeLessThanOrEqual(pkt.length + 11);
      }
      seen.push(
        `${kind.name}: ${kind.expect === 'drop' ? 'silence' : kind.expect === 'any' ? 'silence or an error header' : kind.expect === RCODE.FORMERR ? 'FORMERR' : 'NOTIMP'}`,
      );
    }
  } finally {
    c.close();
  }
  log.add({
    fault: `malformed DNS packets, one kind at a time (${KINDS.length} kinds × 20)`,
    during: seen.join('; '),
    after: 'a real query sent right after each one is answered correctly',
    recoveryMs: null,
    recoveryFrom: 'n/a',
  });
});

it('100,000 malformed UDP packets: real queries answered correctly throughout, process up, memory bounded, every packet counted', async () => {
  const c = new Client(berth.dnsPort);
  const rnd = prng(6891);
  // Oversized packets are 1 in 100 (1,000 of them, ~12 MB): more would only measure loopback copying.
  const oversized = KINDS.find((k) => k.name.startsWith('oversized'))!;
  const small: Kind[] = KINDS.filter((k) => k !== oversized);
  const pick = (n: number) => (n % 100 === 50 ? oversized : small[n % small.length]);
  const before = {
    queries: await counter('berth_dns_queries_total'),
    dropped: await counter('berth_dns_dropped_packets_total'),
    kernel: rcvbufErrors(),
    rss: berth.rss(),
  };
  let sent = 0;
  let real = 0;
  let wrong = 0;
  const t0 = Date.now();
  const byRcode = new Map<number, number>();
  try {
    while (sent < TOTAL) {
      for (let i = 0; i < ROUND && sent < TOTAL; i++, sent++) c.send(pick(sent).make(sent % REAL_ID, rnd));
      if (!(await realOk(c, real++))) wrong++;
      for (const r of c.others.splice(0)) byRcode.set(rcode(r), (byRcode.get(rcode(r)) ?? 0) + 1);
    }
  } finally {
    c.close();
  }
  const ms = Date.now() - t0;
  expect(berth.alive()).toBe(true);
  expect(wrong).toBe(0);
  expect((await berth.api('GET', '/healthz')).status).toBe(200);
  const rss = berth.rss();
  const after = {
    queries: await counter('berth_dns_queries_total'),
    dropped: await counter('berth_dns_dropped_packets_total'),
    malformed: await counter('berth_dns_dropped_packets_total', 'reason="malformed"'),
    formerr: await counter('berth_dns_queries_total', 'rcode="FORMERR"'),
    rateLimited: await counter('berth_dns_dropped_packets_total', 'reason="rate_limited"'),
    slipped: await counter('berth_dns_rrl_responses_total', 'action="slipped"'),
    kernel: rcvbufErrors(),
  };
  // Every packet berth received is counted, answered or dropped; the kernel may have dropped some on a busy machine.
  const counted = after.queries - before.queries + (after.dropped - before.dropped);
  const kernel = after.kernel - before.kernel;
  expect(counted).toBeLessThanOrEqual(TOTAL + real);
  expect(TOTAL + real - counted).toBeLessThanOrEqual(kernel);
  expect(rss - before.rss).toBeLessThan(64 * 1024 * 1024);
  const replies = [...byRcode.values()].reduce((a, b) => a + b, 0);
  log.add({
    fault: `${TOTAL.toLocaleString('en')} malformed DNS packets over UDP (${KINDS.length} kinds, ${real} real queries interleaved)`,
    during: `all ${real} real queries answered correctly (SRV 2 records / NXDOMAIN); ${replies} malformed packets answered (FORMERR ${byRcode.get(RCODE.FORMERR) ?? 0}, NOTIMP ${byRcode.get(RCODE.NOTIMP) ?? 0}, other ${replies - (byRcode.get(RCODE.FORMERR) ?? 0) - (byRcode.get(RCODE.NOTIMP) ?? 0)}; error replies past BERTH_DNS_RRL_RESPONSES_PER_SECOND: ${after.rateLimited} dropped, ${after.slipped} sent truncated), the rest dropped silently; ${(ms / 1000).toFixed(1)} s (${Math.round((TOTAL / ms) * 1000)} packets/s)`,
    after: `process up; RSS ${Math.round(before.rss / 2 ** 20)} → ${Math.round(rss / 2 ** 20)} MiB; metrics count ${counted} packets (dropped malformed +${after.malformed}, FORMERR total ${after.formerr}); kernel receive-buffer drops: ${kernel}`,
    recoveryMs: null,
    recoveryFrom: 'n/a (no interruption)',
  });
});

/** One TCP connection: writes `frames` (length-prefixed unless `raw`), reads framed replies until the server closes or `want` replies came. */
function tcpExchange(port: number, payload: Buffer, want: number): Promise<{ replies: Buffer[]; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const replies: Buffer[] = [];
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (!done) {
        done = true;
        sock.destroy();
        resolve({ replies, closedByServer });
      }
    };
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`TCP exchange timed out with ${replies.length} of ${want} replies`));
    }, 5000);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        replies.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (replies.length >= want && want > 0) {
        clearTimeout(timer);
        finish(false);
      }
    });
    sock.on('close', () => {
      clearTimeout(timer);
      finish(true);
    });
    sock.on('error', () => undefined);
    sock.write(payload, () => {
      if (want === 0) sock.end();
    });
  });
}
const frame = (m: Buffer) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 255]), m]);

it('garbage over TCP: FORMERR per bad message on a pipelined connection, cut-off for broken framing, real queries still answered', async () => {
  const rnd = prng(7766);
  const answerable = KINDS.filter((k) => typeof k.expect === 'number');
  const t0 = Date.now();
  let messages = 0;
  // 1. Pipelined: 20 malformed messages then a real one, on each of 50 connections.
  for (let conn = 0; conn < 50; conn++) {
    const msgs = Array.from({ length: 20 }, (_, i) => answerable[(conn + i) % answerable.length].make(i, rnd));
    messages += msgs.length;
    const { replies } = await tcpExchange(berth.dnsPort, Buffer.concat([...msgs.map(frame), frame(query(REAL_ID, SRV_NAME, 33))]), 21);
    expect(replies.slice(0, 20).map((r) => [r.readUInt16BE(0), rcode(r)])).toEqual(msgs.map((_, i) => [i, answerable[(conn + i) % answerable.length].expect]));
    expect([replies[20].readUInt16BE(0), rcode(replies[20]), ancount(replies[20])]).toEqual([REAL_ID, RCODE.NOERROR, 2]);
  }
  // 2. Frames too short to hold a header, and random byte streams: the server closes the connection.
  let cut = 0;
  for (let conn = 0; conn < 40; conn++) {
    const payload =
      conn % 2 === 0
        ? frame(Buffer.from([1, 2, 3].slice(0, conn % 4)))
        : Buffer.from(Array.from({ length: 64 + Math.floor(rnd() * 4000) }, () => Math.floor(rnd() * 256)));
    messages++;
    const r = await tcpExchange(berth.dnsPort, payload, 0);
    if (r.closedByServer) cut++;
  }
  expect(cut).toBe(40);
  // 3. A fresh connection is served.
  const ok = await tcpExchange(berth.dnsPort, frame(query(REAL_ID + 1, SRV_NAME, 33)), 1);
  expect([rcode(ok.replies[0]), ancount(ok.replies[0])]).toEqual([RCODE.NOERROR, 2]);
  expect(berth.alive()).toBe(true);
  log.add({
    fault: `malformed DNS over TCP (${messages} bad messages/streams on 90 connections)`,
    during:
      'each bad message on a pipelined connection answered FORMERR/NOTIMP in order and the real query after them answered; a frame shorter than a header or a random byte stream gets the connection closed',
    after: `a new TCP connection is answered; process up (${((Date.now() - t0) / 1000).toFixed(1)} s for the TCP part)`,
    recoveryMs: null,
    recoveryFrom: 'n/a',
  });
});
