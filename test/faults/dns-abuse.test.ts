/**
 * DNS slowloris + UDP flood against a real `berth run` with its default abuse limits, on loopback
 * from many source addresses (any 127.x.y.z is a local source on Linux): 300 TCP connections that
 * dribble one byte every 500 ms, 20 more from one address, and a UDP flood from one /24, all at
 * once. Real clients in other prefixes (UDP, Node TCP, dig +tcp) must be answered correctly all
 * along, a scale-up made during the attack must reach DNS, and afterwards every slowloris
 * connection is gone and /metrics tells what happened.
 */
import dgram from 'node:dgram';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startSimulator, type Simulator } from '../../src/sim';
import { DNS_LIMIT_DEFAULTS } from '../../src/dns/limits';
import { describeWithTools } from '../support/tools';
import { waitFor } from '../support/wait';
import { query } from './dns-packets';
import { spawnBerth, type BerthProcess } from './proc';
import { FaultLog } from './record';
import { webApp, ZONE } from './stack';

jest.setTimeout(120_000);
const log = new FaultLog('dns-abuse');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-faults-dnsabuse-'));
const SRV_NAME = `_http._tcp.a.${ZONE}`;
const SLOW = 300; // 30 addresses × 10 connections: over the global cap, under the per-source one
let sim: Simulator;
let berth: BerthProcess;

const ancount = (b: Buffer) => b.readUInt16BE(6);
const tc = (b: Buffer) => (b[2] & 0x02) !== 0;

/** Kernel UDP receive-buffer drops (system-wide): a flood can overflow berth's socket buffer on a busy machine. */
function rcvbufErrors(): number {
  const lines = fs
    .readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  const [keys, values] = lines.map((l) => l.split(/\s+/));
  return Number(values[keys.indexOf('RcvbufErrors')]);
}

async function counter(name: string, label = ''): Promise<number> {
  const text = (await berth.api<string>('GET', '/metrics')).body;
  let n = 0;
  for (const line of text.split('\n'))
    if ((line.startsWith(`${name} `) || line.startsWith(`${name}{`)) && line.includes(label)) n += Number(line.split(' ').pop());
  return n;
}

/** One SRV query over UDP: the answer count, 'tc' (truncated), or 'timeout' (no reply in 2 s). */
function udpSrvOnce(sock: dgram.Socket, id: number): Promise<number | 'tc' | 'timeout'> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      sock.off('message', on);
      resolve('timeout');
    }, 2000);
    const on = (m: Buffer) => {
      if (m.readUInt16BE(0) !== id) return;
      clearTimeout(t);
      sock.off('message', on);
      resolve(tc(m) ? 'tc' : ancount(m));
    };
    sock.on('message', on);
    sock.send(query(id, SRV_NAME, 33), berth.dnsPort, '127.0.0.1');
  });
}

let udpRetries = 0;
/** As a stub resolver does it: a UDP query retried (up to 3 tries) when no reply comes. */
async function udpSrv(sock: dgram.Socket, id: number): Promise<number | 'tc' | 'timeout'> {
  for (let attempt = 1; ; attempt++) {
    const r = await udpSrvOnce(sock, (id + attempt * 0x100) & 0xffff);
    if (r !== 'timeout' || attempt === 3) return r;
    udpRetries++;
  }
}

/** One SRV query over a fresh TCP connection from `local`: the answer count, or the error the client saw. */
function tcpSrv(local: string, id: number): Promise<number | string> {
  return new Promise((resolve) => {
    const c = net.connect({ port: berth.dnsPort, host: '127.0.0.1', localAddress: local });
    let acc = Buffer.alloc(0);
    const done = (r: number | string) => {
      clearTimeout(t);
      c.destroy();
      resolve(r);
    };
    const t = setTimeout(() => done('timeout'), 5000); // a stub resolver's usual timeout
    const q = query(id, SRV_NAME, 33);
    c.on('connect', () => c.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q])));
    c.on('data', (d) => {
      acc = Buffer.concat([acc, d]);
      if (acc.length >= 2 && acc.length >= 2 + acc.readUInt16BE(0)) done(ancount(acc.subarray(2)));
    });
    c.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? 'error'));
    c.on('close', () => done('closed'));
  });
}

function digTcp(local: string): Promise<number | string> {
  return new Promise((resolve) => {
    execFile(
      'dig',
      ['@127.0.0.1', '-p', String(berth.dnsPort), '-b', local, '+tcp', '+time=2', '+tries=1', '+short', SRV_NAME, 'SRV'],
      { timeout: 10_000 },
      (err, out) => {
        resolve(err ? `dig: ${err.message.split('\n')[0]}` : out.trim().split('\n').filter(Boolean).length);
      },
    );
  });
}

beforeAll(async () => {
  sim = await startSimulator({ flavour: '1.10', keepaliveMs: 500 });
  await sim.control.deploy(webApp('a', 2));
  berth = await spawnBerth(dir, { BERTH_MARATHON_URLS: sim.url });
  const s = dgram.createSocket('udp4');
  try {
    await waitFor(() => udpSrv(s, 1).then((n) => n === 2), 30_000);
  } finally {
    s.close();
  }
}, 90_000);

afterAll(async () => {
  log.flush();
  await berth?.kill();
  await sim?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describeWithTools(['dig'], 'DNS slowloris + UDP flood', () => {
  it('real clients keep their answers and a scale-up reaches DNS while 320 slow TCP connections and a UDP flood hit berth', async () => {
    const limits = DNS_LIMIT_DEFAULTS;
    const before = { rss: berth.rss(), kernel: rcvbufErrors() };
    const t0 = Date.now();
    // 1. Slowloris: begin a frame, then one byte every 500 ms (each byte used to restart the idle timer).
    const slow: net.Socket[] = [];
    let slowClosed = 0,
      slowConnected = 0;
    const addSlow = (local: string) => {
      const c = net.connect({ port: berth.dnsPort, host: '127.0.0.1', localAddress: local });
      c.on('connect', () => {
        slowConnected++;
        c.write(Buffer.from([0x01]));
      });
      c.on('error', () => undefined);
      c.on('close', () => slowClosed++);
      slow.push(c);
    };
    for (let a = 0; a < SLOW / 10; a++) for (let k = 0; k < 10; k++) addSlow(`127.0.20.${a + 1}`);
    for (let k = 0; k < 20; k++) addSlow('127.0.21.1'); // one address over its cap of 16
    const dribble = setInterval(() => {
      for (const c of slow) if (c.writable) c.write(Buffer.from([0x00]));
    }, 500);

    // 2. UDP flood from 127.0.0.1: ~5,000 SRV queries/s, 5× the rate limit. (A flood past what the
    //    process can read fills the kernel's receive buffer and drops everyone's packets: that is
    //    bandwidth exhaustion, which no response limit can fix.)
    const flood = dgram.createSocket('udp4');
    await new Promise<void>((r) => flood.bind(0, '127.0.0.1', r));
    let floodSent = 0,
      floodFull = 0,
      floodTc = 0,
      flooding = true;
    flood.on('message', (m) => {
      if (tc(m)) floodTc++;
      else if (ancount(m) > 0) floodFull++;
    });
    const floodStarted = Date.now();
    const pump = setInterval(() => {
      // Catch up to 5 per ms however late the timer fires.
      const due = Math.min(5 * (Date.now() - floodStarted) - floodSent, 500);
      for (let i = 0; i < due && flooding; i++) flood.send(query(floodSent++ & 0x7fff, SRV_NAME, 33), berth.dnsPort, '127.0.0.1');
    }, 10);

    // 3. Real clients in other prefixes, all along; a scale-up in the middle.
    const real = dgram.createSocket('udp4');
    await new Promise<void>((r) => real.bind(0, '127.0.30.1', r));
    const seen: Array<number | string> = [];
    let id = 0x8000;
    let scaledAt = 0,
      scaledSeenMs = -1;
    try {
      await waitFor(
        () => slowConnected + slowClosed >= SLOW + 20,
        15_000,
        () => `slow connected ${slowConnected}, closed ${slowClosed}`,
      );
      const latency: number[] = [];
      while (Date.now() - t0 < limits.tcpDeadlineMs + 5000 && (slowClosed < SLOW + 20 || scaledSeenMs < 0 || Date.now() - t0 < 4000 || seen.length < 30)) {
        const q0 = Date.now();
        const n = await udpSrv(real, id++);
        latency.push(Date.now() - q0);
        const expected = scaledAt ? [2, 3] : [2];
        seen.push(typeof n === 'number' && expected.includes(n) ? 'ok' : `udp ${n}`);
        if (scaledAt && n === 3 && scaledSeenMs < 0) scaledSeenMs = Date.now() - scaledAt;
        const q1 = Date.now();
        const t = await tcpSrv('127.0.31.1', id++);
        latency.push(Date.now() - q1);
        seen.push(t === 2 || (scaledAt && t === 3) ? 'ok' : `tcp ${t}`);
        if (seen.length % 20 === 0) {
          const d = await digTcp('127.0.32.1');
          seen.push(d === 2 || (scaledAt && d === 3) ? 'ok' : `dig +tcp ${d}`);
        }
        if (!scaledAt && Date.now() - t0 > 1500) {
          scaledAt = Date.now();
          await sim.control.scale('/faults/a', 3);
        }
      }
      flooding = false;
      clearInterval(pump);
      const attackMs = Date.now() - t0;
      const kernelDrops = rcvbufErrors() - before.kernel;
      latency.sort((a, b) => a - b);
      const p50 = latency[Math.floor(latency.length / 2)],
        worst = latency[latency.length - 1];
      // Every slow connection is closed by berth (the client never closes them).
      expect(slowClosed).toBe(SLOW + 20);
      expect(seen.filter((s) => s !== 'ok')).toEqual([]);
      expect(scaledSeenMs).toBeGreaterThanOrEqual(0);
      const m = {
        idle: await counter('berth_dns_tcp_connections_shed_total', 'reason="idle"'),
        deadline: await counter('berth_dns_tcp_connections_shed_total', 'reason="deadline"'),
        global: await counter('berth_dns_tcp_connections_shed_total', 'reason="global"'),
        perSource: await counter('berth_dns_tcp_connections_shed_total', 'reason="per_source"'),
        dropped: await counter('berth_dns_rrl_responses_total', 'action="dropped"'),
        slipped: await counter('berth_dns_rrl_responses_total', 'action="slipped"'),
        open: await counter('berth_dns_tcp_connections'),
      };
      expect(m.perSource).toBeGreaterThanOrEqual(4);
      expect(m.global).toBeGreaterThanOrEqual(SLOW + 16 - limits.tcpMaxConnections);
      expect(m.idle + m.deadline + m.global + m.perSource).toBeGreaterThanOrEqual(SLOW + 20);
      // The flooded /24 got at most its rate (plus one second of burst) in full answers, and slips.
      const floodSeconds = attackMs / 1000;
      expect(floodFull).toBeLessThanOrEqual(limits.rrlResponsesPerSecond * (floodSeconds + 1) + 50);
      expect(floodTc).toBeGreaterThan(0);
      expect(floodTc).toBeLessThanOrEqual(m.slipped);
      expect(m.dropped).toBeGreaterThan(0);
      expect(berth.alive()).toBe(true);
      const rss = berth.rss();
      expect(rss - before.rss).toBeLessThan(64 * 1024 * 1024);
      log.add({
        fault: `DNS slowloris + UDP flood (default limits): ${SLOW} TCP connections from 30 addresses and 20 from one, each dribbling a byte every 500 ms; ${floodSent.toLocaleString('en')} UDP SRV queries from one /24 in ${floodSeconds.toFixed(1)} s`,
        during: `all ${seen.length} real queries from other prefixes answered correctly (UDP, TCP, dig +tcp; ${udpRetries} UDP retries after a lost packet, kernel receive-buffer drops ${kernelDrops}; UDP/TCP query latency p50 ${p50} ms, max ${worst} ms on a machine at load ${os.loadavg()[0].toFixed(0)}); a scale-up made during the attack was answered after ${scaledSeenMs} ms; the flooding /24 got ${floodFull} full answers (limit ${limits.rrlResponsesPerSecond}/s), ${floodTc} TC=1 slips (dig/glibc retry over TCP) and ${Math.round(m.dropped)} drops`,
        after: `every slow connection closed by berth (idle ${m.idle}, shed for newer ${m.global}, refused per source ${m.perSource}, deadline ${m.deadline}); ${m.open} TCP connections open; process up, RSS ${Math.round(before.rss / 2 ** 20)} → ${Math.round(rss / 2 ** 20)} MiB`,
        recoveryMs: null,
        recoveryFrom: 'n/a (no interruption)',
      });
    } finally {
      flooding = false;
      clearInterval(pump);
      clearInterval(dribble);
      for (const c of slow) c.destroy();
      flood.close();
      real.close();
    }
  });
});
