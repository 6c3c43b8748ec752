/**
 * DNS abuse limits against a real server on loopback, with real clients (dig, Node sockets) from
 * several source addresses (any 127.x.y.z is a valid local source on Linux): TCP slowloris,
 * per-source and global connection caps, UDP response rate limiting with slip, and the UDP
 * amplification limit.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { describeWithTools } from '../support/tools';
import { waitFor } from '../support/wait';
import { aService, dig, endpoints, framed, header, query, startServer, tcp, type Started } from './helpers';

jest.setTimeout(60_000);

const catalog = () => [
  aService({ domains: ['web.berth.internal'] }, 2),
  aService({ domains: ['big.berth.internal'], endpoints: endpoints(40, 40) }),
  aService({ domains: ['ten.berth.internal'], endpoints: endpoints(10, 10) }),
];

/** Sum of a metric's series in the registry's text, optionally only lines containing `label`. */
async function metric(s: Started, name: string, label = ''): Promise<number> {
  let n = 0;
  for (const line of (await s.registry.metrics()).split('\n')) {
    if ((line.startsWith(`${name} `) || line.startsWith(`${name}{`)) && line.includes(label)) n += Number(line.split(' ').pop());
  }
  return n;
}

/** One DNS-over-TCP query from `local`; the reply, or the error a client would see. */
function tcpQuery(port: number, msg: Buffer, local = '127.0.0.1', timeoutMs = 3000): Promise<Buffer | string> {
  return new Promise((resolve) => {
    const c = net.connect({ port, host: '127.0.0.1', localAddress: local });
    let acc = Buffer.alloc(0);
    const done = (r: Buffer | string) => {
      clearTimeout(t);
      c.destroy();
      resolve(r);
    };
    const t = setTimeout(() => done('timeout'), timeoutMs);
    c.on('connect', () => c.write(framed(msg)));
    c.on('data', (d) => {
      acc = Buffer.concat([acc, d]);
      if (acc.length >= 2 && acc.length >= 2 + acc.readUInt16BE(0)) done(acc.subarray(2, 2 + acc.readUInt16BE(0)));
    });
    c.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? 'error'));
    c.on('close', () => done('closed'));
  });
}

/** A UDP client bound to `local` that keeps every reply. */
class UdpClient {
  readonly sock = dgram.createSocket('udp4');
  readonly replies: Buffer[] = [];
  private waiters: Array<() => void> = [];
  private constructor(private readonly port: number) {
    this.sock.on('message', (m) => {
      this.replies.push(m);
      for (const w of this.waiters.splice(0)) w();
    });
  }
  static async open(port: number, local: string): Promise<UdpClient> {
    const c = new UdpClient(port);
    await new Promise<void>((r) => c.sock.bind(0, local, r));
    return c;
  }
  send(b: Buffer): void {
    this.sock.send(b, this.port, '127.0.0.1');
  }
  /** Sends `b` and resolves with the reply carrying its id (null after 2 s). */
  async ask(b: Buffer): Promise<Buffer | null> {
    const id = b.readUInt16BE(0);
    const deadline = Date.now() + 2000;
    this.send(b);
    for (;;) {
      const r = this.replies.find((x) => x.readUInt16BE(0) === id);
      if (r) return r;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }
  close(): void {
    this.sock.close();
  }
}

const ancount = (b: Buffer) => b.readUInt16BE(6);

describeWithTools(['dig'], 'TCP slowloris', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startServer(catalog(), { limits: { tcpDeadlineMs: 3000, tcpIdleMs: 1000, tcpMaxConnections: 256, tcpPerSource: 16 } });
  });
  afterAll(() => s.server.stop());

  it('260 connections dribbling one byte every 200 ms are closed or shed, while dig +tcp and a Node client get answers throughout', async () => {
    // 26 source addresses × 10 connections: under the per-source cap, over the global one.
    const socks: net.Socket[] = [];
    let connected = 0,
      closed = 0;
    for (let a = 0; a < 26; a++) {
      for (let k = 0; k < 10; k++) {
        const c = net.connect({ port: s.port, host: '127.0.0.1', localAddress: `127.0.5.${10 + a}` });
        c.on('connect', () => {
          connected++;
          c.write(Buffer.from([0x00]));
        }); // a frame of up to 255 bytes, begun
        c.on('error', () => undefined);
        c.on('close', () => closed++);
        socks.push(c);
      }
    }
    const dribble = setInterval(() => {
      for (const c of socks) if (!c.destroyed && c.writable) c.write(Buffer.from([0x40]));
    }, 200);
    const t0 = Date.now();
    try {
      await waitFor(
        () => connected + closed >= 260,
        10_000,
        () => `connected ${connected}, closed ${closed}`,
      );
      // A real client keeps asking over TCP (Node socket, and dig) until every slowloris connection is gone.
      const answers: string[] = [];
      while (closed < 260 && Date.now() - t0 < 15_000) {
        const r = await tcpQuery(s.port, query('web.berth.internal', 1, { id: answers.length }));
        answers.push(typeof r === 'string' ? r : `rcode ${header(r).rcode} an ${ancount(r)}`);
        if (answers.length % 5 === 0) {
          const d = await dig(s.port, ['+tcp', 'web.berth.internal', 'A']);
          answers.push(`dig ${d.status} ${d.answers.length}`);
        }
      }
      expect(closed).toBe(260);
      expect(answers.length).toBeGreaterThan(2);
      expect(answers.filter((a) => a !== 'rcode 0 an 2' && a !== 'dig NOERROR 2')).toEqual([]);
      // Closed by the idle timeout (no complete message within 1 s), not after the client gave up, and never later than the deadline.
      expect(Date.now() - t0).toBeLessThan(3000 + 2000);
      expect(
        (await metric(s, 'berth_dns_tcp_connections_shed_total', 'reason="idle"')) +
          (await metric(s, 'berth_dns_tcp_connections_shed_total', 'reason="global"')),
      ).toBeGreaterThanOrEqual(260);
      expect(await metric(s, 'berth_dns_tcp_connections_shed_total', 'reason="global"')).toBeGreaterThanOrEqual(4);
    } finally {
      clearInterval(dribble);
      for (const c of socks) c.destroy();
    }
  });

  it('closes a connection at the deadline even while it keeps sending valid queries', async () => {
    const c = net.connect({ port: s.port, host: '127.0.0.1' });
    let replies = 0;
    let acc = Buffer.alloc(0);
    const t0 = Date.now();
    const closedAt = new Promise<number>((resolve) => c.on('close', () => resolve(Date.now() - t0)));
    c.on('error', () => undefined);
    c.on('data', (d) => {
      acc = Buffer.concat([acc, d]);
      while (acc.length >= 2 && acc.length >= 2 + acc.readUInt16BE(0)) {
        replies++;
        acc = acc.subarray(2 + acc.readUInt16BE(0));
      }
    });
    const ask = setInterval(() => {
      if (c.writable) c.write(framed(query('web.berth.internal', 1, { id: replies })));
    }, 250);
    const before = await metric(s, 'berth_dns_tcp_connections_shed_total', 'reason="deadline"');
    try {
      const ms = await closedAt;
      expect(ms).toBeGreaterThanOrEqual(2900);
      expect(ms).toBeLessThan(4500);
      expect(replies).toBeGreaterThanOrEqual(8); // it was served all along
      expect(await metric(s, 'berth_dns_tcp_connections_shed_total', 'reason="deadline"')).toBe(before + 1);
    } finally {
      clearInterval(ask);
      c.destroy();
    }
  });
});

describe('TCP connection caps', () => {
  it('refuses a source address past its cap; other addresses are still served', async () => {
    const s = await startServer(catalog(), { limits: { tcpPerSource: 3, tcpIdleMs: 10_000, tcpDeadlineMs: 20_000 } });
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const c = net.connect({ port: s.port, host: '127.0.0.1', localAddress: '127.0.6.1' });
        c.on('error', () => undefined);
        await new Promise((r) => c.once('connect', r));
        held.push(c);
      }
      await waitFor(async () => (await metric(s, 'berth_dns_tcp_connections')) === 3);
      expect(await tcpQuery(s.port, query('web.berth.internal', 1), '127.0.6.1')).toMatch(/closed|ECONNRESET/);
      expect(await metric(s, 'berth_dns_tcp_connections_shed_total', 'reason="per_source"')).toBe(1);
      const other = await tcpQuery(s.port, query('web.berth.internal', 1), '127.0.6.2');
      expect(typeof other === 'string' ? other : ancount(other)).toBe(2);
      held[0].destroy();
      await waitFor(async () => (await metric(s, 'berth_dns_tcp_connections')) === 2);
      const again = await tcpQuery(s.port, query('web.berth.internal', 1), '127.0.6.1');
      expect(typeof again === 'string' ? again : ancount(again)).toBe(2);
    } finally {
      for (const c of held) c.destroy();
      await s.server.stop();
    }
  });

  it('when full, sheds the oldest idle connection, never one with a query in flight', async () => {
    // An upstream that accepts and never answers keeps a forwarded query in flight.
    const upstreamConns: net.Socket[] = [];
    const upstream = net.createServer((c) => {
      c.on('error', () => undefined);
      upstreamConns.push(c);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const up = upstream.address() as net.AddressInfo;
    const s = await startServer(catalog(), {
      forwarders: [`127.0.0.1:${up.port}`],
      forwardTimeoutMs: 15_000,
      limits: { tcpMaxConnections: 3, tcpIdleMs: 10_000, tcpDeadlineMs: 20_000 },
    });
    const socks: net.Socket[] = [];
    const closed = new Set<number>();
    const open = async (i: number): Promise<net.Socket> => {
      const c = net.connect({ port: s.port, host: '127.0.0.1', localAddress: `127.0.7.${i + 1}` });
      c.on('error', () => undefined);
      c.on('close', () => closed.add(i));
      await new Promise((r) => c.once('connect', r));
      socks.push(c);
      return c;
    };
    try {
      const busy = await open(0);
      busy.write(framed(query('example.com', 1)));
      await waitFor(() => upstreamConns.length > 0); // forwarded: in flight
      await open(1);
      await open(2);
      await waitFor(async () => (await metric(s, 'berth_dns_tcp_connections')) === 3);
      // A fourth client is admitted and answered; the oldest idle one (1) makes room, not the busy one (0).
      const r = await tcpQuery(s.port, query('web.berth.internal', 1), '127.0.7.4');
      expect(typeof r === 'string' ? r : ancount(r)).toBe(2);
      await waitFor(() => closed.has(1));
      expect([...closed].sort()).toEqual([1]);
      expect(await metric(s, 'berth_dns_tcp_connections_shed_total', 'reason="global"')).toBe(1);
    } finally {
      for (const c of socks) c.destroy();
      await s.server.stop();
      for (const c of upstreamConns) c.destroy();
      await new Promise((r) => upstream.close(r));
    }
  });
});

describe('TCP connection caps when every connection is busy', () => {
  it('refuses the newcomer rather than cut a query in flight', async () => {
    const upstreamConns: net.Socket[] = [];
    const upstream = net.createServer((c) => {
      c.on('error', () => undefined);
      upstreamConns.push(c);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const s = await startServer(catalog(), {
      forwarders: [`127.0.0.1:${(upstream.address() as net.AddressInfo).port}`],
      forwardTimeoutMs: 15_000,
      limits: { tcpMaxConnections: 1 },
    });
    const busy = net.connect({ port: s.port, host: '127.0.0.1' });
    let busyClosed = false;
    busy.on('error', () => undefined);
    busy.on('close', () => {
      busyClosed = true;
    });
    try {
      await new Promise((r) => busy.once('connect', r));
      busy.write(framed(query('example.com', 1)));
      await waitFor(() => upstreamConns.length > 0);
      expect(await tcpQuery(s.port, query('web.berth.internal', 1), '127.0.13.1')).toMatch(/closed|ECONNRESET/);
      expect(await metric(s, 'berth_dns_tcp_connections_shed_total', 'reason="full"')).toBe(1);
      expect(busyClosed).toBe(false);
    } finally {
      busy.destroy();
      await s.server.stop();
      for (const c of upstreamConns) c.destroy();
      await new Promise((r) => upstream.close(r));
    }
  });
});

describe('TCP pipelining', () => {
  it('answers 40 pipelined forwarded queries on one connection: reading pauses at 32 awaiting replies and resumes', async () => {
    const upstream = await startServer([aService({ domains: ['www.example.org'], endpoints: endpoints(1, 5) })], {
      zones: ['example.org'],
      limits: { tcpPerSource: 64 },
    });
    const s = await startServer(catalog(), { forwarders: [`127.0.0.1:${upstream.port}`] });
    try {
      const ids = Array.from({ length: 40 }, (_, i) => 100 + i);
      const { replies, how } = await tcp(s.port, framed(...ids.map((id) => query('www.example.org', 1, { id }))), 40, 10_000);
      expect(how).toBe('complete');
      expect(replies.map((r) => [header(r).rcode, ancount(r)])).toEqual(ids.map(() => [0, 1]));
      expect(replies.map((r) => r.readUInt16BE(0)).sort()).toEqual(ids);
    } finally {
      await s.server.stop();
      await upstream.server.stop();
    }
  });
});

describeWithTools(['dig'], 'UDP response rate limiting', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startServer(catalog(), { limits: { rrlResponsesPerSecond: 20, rrlWindowSeconds: 1, rrlSlip: 2 } });
  });
  afterAll(() => s.server.stop());

  it('a flood from one /24 gets `rate` answers, every 2nd limited reply slipped with TC=1, the rest dropped; another /24 keeps full answers', async () => {
    const flood = await UdpClient.open(s.port, '127.0.0.1');
    const other = await UdpClient.open(s.port, '127.0.8.1');
    const t0 = Date.now();
    let sent = 0;
    const otherAnswers: number[] = [];
    try {
      for (let round = 0; round < 10; round++) {
        for (let i = 0; i < 100; i++, sent++) flood.send(query('web.berth.internal', 1, { id: sent }));
        const r = await other.ask(query('web.berth.internal', 1, { id: 50_000 + round }));
        otherAnswers.push(r ? ancount(r) : -1);
      }
      // A FORMERR from the flooding socket (errors have their own bucket): once it is back, every earlier reply has arrived.
      const marker = Buffer.from(query('web.berth.internal', 1, { id: 60_000 }));
      marker.writeUInt16BE(2, 4); // qdcount 2: FORMERR
      expect(await flood.ask(marker)).not.toBeNull();
      const elapsed = (Date.now() - t0) / 1000;
      const replies = flood.replies.filter((r) => r.readUInt16BE(0) < sent);
      const full = replies.filter((r) => !header(r).tc && ancount(r) === 2).length;
      const slipped = replies.filter((r) => header(r).tc && ancount(r) === 0).length;
      expect(full + slipped).toBe(replies.length);
      expect(full).toBeGreaterThanOrEqual(20);
      expect(full).toBeLessThanOrEqual(20 + Math.ceil(20 * elapsed) + 1);
      const limited = sent - full;
      // Every 2nd limited reply slips; a refill between two limited replies restarts that count (at most once per extra answer).
      expect(Math.abs(slipped - limited / 2)).toBeLessThanOrEqual(full - 20 + 1);
      expect(otherAnswers).toEqual(Array(10).fill(2));
      expect(await metric(s, 'berth_dns_rrl_responses_total', 'action="slipped",class="answer"')).toBe(slipped);
      expect(await metric(s, 'berth_dns_rrl_responses_total', 'action="dropped",class="answer"')).toBe(limited - slipped);
      expect(await metric(s, 'berth_dns_dropped_packets_total', 'reason="rate_limited"')).toBe(limited - slipped);
      // dig from the other /24 sees a normal answer; the flooded /24 recovers once the flood stops.
      expect((await dig(s.port, ['-b', '127.0.8.1', 'web.berth.internal', 'A'])).answers).toHaveLength(2);
      await waitFor(async () => (await flood.ask(query('web.berth.internal', 1, { id: 61_000 + flood.replies.length })))?.readUInt16BE(6) === 2, 5000);
      // The probe above may have spent the token that just refilled: dig from the flooded /24 is
      // answered once its bucket has one again (a limited reply is dropped, or slipped to TCP).
      await waitFor(async () => (await dig(s.port, ['web.berth.internal', 'A'])).answers.length === 2, 10_000);
    } finally {
      flood.close();
      other.close();
    }
  });

  it('a real client in a flooded /24 still gets its answer: the slipped TC=1 reply sends dig to TCP', async () => {
    const slipAll = await startServer(catalog(), { limits: { rrlResponsesPerSecond: 20, rrlWindowSeconds: 1, rrlSlip: 1 } });
    const flood = await UdpClient.open(slipAll.port, '127.0.9.1');
    let id = 0;
    // Keep the /24 over its limit while dig asks (bounded: stops when dig is done).
    const pump = setInterval(() => {
      for (let i = 0; i < 50; i++) flood.send(query('web.berth.internal', 1, { id: id++ & 0xffff }));
    }, 20);
    try {
      await waitFor(async () => (await metric(slipAll, 'berth_dns_rrl_responses_total', 'action="slipped"')) > 0);
      const d = await dig(slipAll.port, ['-b', '127.0.9.2', 'web.berth.internal', 'A']);
      expect(d.raw).toMatch(/Truncated, retrying in TCP mode/);
      expect(d.answers).toHaveLength(2);
    } finally {
      clearInterval(pump);
      flood.close();
      await slipAll.server.stop();
    }
  });
});

describeWithTools(['dig'], 'UDP amplification limit', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startServer(catalog());
  }); // default limit: 10 × the query
  afterAll(() => s.server.stop());

  it('a 40-record answer (14× the query) is truncated for an unverified client, and full once it has queried over TCP', async () => {
    const truncated = await dig(s.port, ['-b', '127.0.10.1', '+bufsize=1232', '+ignore', 'big.berth.internal', 'A']);
    expect(truncated.flags).toContain('tc');
    expect(truncated.answers).toEqual([]);
    expect(await metric(s, 'berth_dns_amplification_limited_total', 'result="truncated"')).toBe(1);
    // Without +ignore, dig follows TC to TCP and gets all 40: the real client is served.
    expect((await dig(s.port, ['-b', '127.0.10.1', '+bufsize=1232', 'big.berth.internal', 'A'])).answers).toHaveLength(40);
    // That TCP query verified 127.0.10.1: its UDP answers are now full.
    const full = await dig(s.port, ['-b', '127.0.10.1', '+bufsize=1232', '+ignore', 'big.berth.internal', 'A']);
    expect(full.flags).not.toContain('tc');
    expect(full.answers).toHaveLength(40);
    // Another address is still unverified.
    expect((await dig(s.port, ['-b', '127.0.10.2', '+bufsize=1232', '+ignore', 'big.berth.internal', 'A'])).flags).toContain('tc');
  });

  it('an SRV answer over the limit goes out lean (no additional records) when that fits, so no TCP retry is needed', async () => {
    const lean = await dig(s.port, ['-b', '127.0.11.1', '+bufsize=1232', '_http._tcp.ten.berth.internal', 'SRV']);
    expect(lean.flags).not.toContain('tc');
    expect(lean.answers).toHaveLength(10);
    expect(lean.additional).toEqual([]);
    expect(await metric(s, 'berth_dns_amplification_limited_total', 'result="lean"')).toBe(1);
    // Small answers are untouched.
    const small = await dig(s.port, ['-b', '127.0.11.1', '_http._tcp.web.berth.internal', 'SRV']);
    expect(small.answers).toHaveLength(2);
    expect(small.additional).toHaveLength(2);
  });

  it('replies within the limit for every kind of small answer (no false truncation)', async () => {
    for (const [name, type] of [
      ['web.berth.internal', 'A'],
      ['nosuch.berth.internal', 'A'],
      ['web.berth.internal', 'TXT'],
      ['berth.internal', 'SOA'],
      ['berth.internal', 'NS'],
      ['-x', '10.1.1.1'],
    ]) {
      const r = await dig(s.port, ['-b', '127.0.12.1', '+noedns', '+ignore', name, type]);
      expect({ name, type, tc: r.flags.includes('tc') }).toEqual({ name, type, tc: false });
    }
    expect((await tcp(s.port, framed(query('web.berth.internal', 1)), 1)).replies).toHaveLength(1);
  });
});
