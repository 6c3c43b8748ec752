/**
 * Fuzz: 100,000 random and mutated packets (truncated, bad lengths, compression loops, counts of
 * 65,535, QR=1, every opcode, …). No packet may take more than a few milliseconds, and the server
 * must answer valid queries throughout and afterwards, over UDP and TCP.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildIndex } from '../../src/dns/build';
import { respond } from '../../src/dns/respond';
import { fuzzPacket, prng } from './fuzz-packets';
import { aService, endpoints, framed, header, query, startServer, udp } from './helpers';

const COUNT = 100_000;
const catalog = () => [
  aService({ domains: ['svc1.berth.internal'], endpoints: endpoints(3, 1) }),
  aService({ domains: ['big.berth.internal'], endpoints: endpoints(100, 2) }),
];

it('answers every packet of the stream in well under a few ms, without throwing (pure responder)', () => {
  const index = buildIndex(
    catalog(),
    {
      zones: ['berth.internal'],
      reverseNetworks: ['10.1.0.0/16'],
      ttl: 10,
      environments: {},
      defaultEnv: 'default',
    },
    { loaded: true, position: 1, serial: 1 },
  );
  const rnd = prng(1);
  let replies = 0;
  const bad: number[] = [];
  const slowest: Array<{ ms: number; i: number; pkt: Buffer }> = [];
  const run = (pkt: Buffer, i: number) => respond(pkt, index, 'default', i % 2 === 0, i % 3 === 0);
  for (let i = 0; i < COUNT; i++) {
    const pkt = fuzzPacket(rnd, i);
    const tcp = i % 2 === 0;
    const t0 = performance.now();
    const out = run(pkt, i);
    const ms = performance.now() - t0;
    if (slowest.length < 20 || ms > slowest[slowest.length - 1].ms) {
      slowest.push({ ms, i, pkt });
      slowest.sort((a, b) => b.ms - a.ms);
      slowest.length = Math.min(slowest.length, 20);
    }
    if (out.reply) {
      replies++;
      // Always a response; over UDP never above 1232 bytes.
      if ((out.reply[2] & 0x80) === 0 || (!tcp && out.reply.length > 1232)) bad.push(i);
    }
  }
  // Wall time per packet also catches GC pauses and the OS preempting us on a busy machine, so the
  // 20 slowest packets are timed again: a packet that is slow by itself is slow every time.
  const again = slowest.map(({ i, pkt, ms }) => {
    let best = Infinity;
    for (let k = 0; k < 50; k++) {
      const t0 = performance.now();
      run(pkt, i);
      best = Math.min(best, performance.now() - t0);
    }
    return { i, firstMs: Math.round(ms * 1000) / 1000, bestMs: Math.round(best * 1000) / 1000 };
  });
  expect(again.filter((a) => a.bestMs > 1)).toEqual([]);
  expect(bad).toEqual([]);
  expect(replies).toBeGreaterThan(COUNT / 2);
});

it('keeps answering valid queries during and after 100,000 hostile packets over UDP and TCP', async () => {
  const s = await startServer(catalog());
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const sock = dgram.createSocket('udp4');
  sock.on('message', () => {
    /* replies to garbage are expected and ignored */
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const rnd = prng(2);
  const probeMs: number[] = [];
  const tcpBatches: Buffer[][] = [[]];
  try {
    for (let i = 0; i < COUNT; i++) {
      const pkt = fuzzPacket(rnd, i);
      if (i % 5 === 0) {
        // Every fifth packet goes over TCP, 50 per connection (a bad frame ends its connection).
        const batch = tcpBatches[tcpBatches.length - 1];
        batch.push(pkt);
        if (batch.length === 50) tcpBatches.push([]);
      } else {
        sock.send(pkt, s.port, '127.0.0.1');
      }
      if (i % 200 === 199) await new Promise((r) => setImmediate(r));
      if (i % 10_000 === 9_999) {
        await Promise.all(tcpBatches.splice(0, tcpBatches.length - 1).map((b) => sendTcp(s.port, b)));
        const t0 = performance.now();
        // Answered behind whatever hostile packets are still queued on the socket.
        const r = await udp(s.port, query('svc1.berth.internal', 1), 2000);
        expect(r && header(r).an).toBe(3);
        probeMs.push(performance.now() - t0);
      }
    }
    await Promise.all(tcpBatches.map((b) => sendTcp(s.port, b)));
    // Afterwards: UDP and TCP still answer correctly.
    const after = await udp(s.port, query('big.berth.internal', 1), 1000);
    expect(after && header(after).tc).toBe(true);
    const viaTcp = await sendTcp(s.port, [query('big.berth.internal', 1)]);
    expect(viaTcp.map((r) => header(r).an)).toEqual([100]);

    // Server-side time per answered packet, from its own histogram: at most 1 in 10,000 above 100 ms
    // and 99 % under 1 ms (wall time: on a busy machine the OS preempts us mid-packet, which a
    // loaded 2-core runner showed once in ~57,000 packets; the pure test above shows that no packet
    // is slow by itself).
    const text = await s.registry.metrics();
    const le = (b: string) => Number(new RegExp(`berth_dns_query_duration_seconds_bucket\\{le="${b}"\\} (\\d+)`).exec(text)?.[1]);
    const count = Number(/berth_dns_query_duration_seconds_count (\d+)/.exec(text)?.[1]);
    expect(count).toBeGreaterThan(COUNT / 3);
    expect(count - le('0.1')).toBeLessThanOrEqual(Math.floor(count / 10_000));
    expect(count - le('0.001')).toBeLessThan(count / 100);
    expect(probeMs).toHaveLength(COUNT / 10_000);
    // The loop also runs this test's sender and shares a busy CI machine, so this bound only catches
    // dns2-like stalls (seconds); the per-packet bounds are the histogram above and the pure test.
    expect(loop.max / 1e6).toBeLessThan(1000);
  } finally {
    loop.disable();
    sock.close();
    await s.server.stop();
  }
});

/** Sends framed packets on one connection (then FIN) and collects replies until the server closes. */
function sendTcp(port: number, packets: Buffer[]): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const replies: Buffer[] = [];
    let acc = Buffer.alloc(0);
    const c = net.connect(port, '127.0.0.1', () => c.end(framed(...packets)));
    const t = setTimeout(() => c.destroy(), 5000);
    c.on('data', (d) => {
      acc = Buffer.concat([acc, d]);
      while (acc.length >= 2 && acc.length >= 2 + acc.readUInt16BE(0)) {
        replies.push(acc.subarray(2, 2 + acc.readUInt16BE(0)));
        acc = acc.subarray(2 + acc.readUInt16BE(0));
      }
    });
    c.on('error', () => {
      /* the server may reset after a bad frame */
    });
    c.on('close', () => {
      clearTimeout(t);
      resolve(replies);
    });
  });
}
