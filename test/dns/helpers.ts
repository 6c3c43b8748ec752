/** Shared test support for the DNS server: service builders, a started server, dig and raw UDP/TCP clients. */
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log';
import type { Endpoint, Service } from '../../src/model/types';
import { DnsServer, type DnsServerOptions } from '../../src/dns/server';
import { InMemoryRegistryView } from '../../src/registry/view';

/** A running service with `n` tasks, as model/ would publish it. */
export function aService(over: Partial<Service> & { domains: string[] }, n = 1): Service {
  return {
    env: 'default',
    appId: `/${over.domains[0].split('.')[0]}`,
    proxy: 'http',
    listen: null,
    dns: 'direct',
    portName: 'http',
    servicePort: 8080,
    fixedIp: null,
    version: '2026-01-01T00:00:00.000Z',
    endpoints: endpoints(n, 1),
    ...over,
  };
}

/** `n` endpoints at 10.1.<third>.<1..n>, task ids carrying a UUID like Marathon's. */
export function endpoints(n: number, third: number, port = 31000): Endpoint[] {
  return Array.from({ length: n }, (_, i) => ({
    taskId: `app.${(0x10000000 + third * 4096 + i).toString(16)}-aaaa-4bbb-8ccc-123456789abc`,
    address: `10.1.${third}.${i + 1}`,
    port: port + i,
    host: `agent${i}`,
  }));
}

export interface Started {
  server: DnsServer;
  view: InMemoryRegistryView;
  port: number;
  registry: Registry;
}

/** Starts a server on 127.0.0.1, port 0, with test defaults; `services` (if given) are loaded before returning. */
export async function startServer(services?: Service[], over: Partial<DnsServerOptions> = {}): Promise<Started> {
  const view = new InMemoryRegistryView();
  const registry = new Registry();
  const server = new DnsServer(
    {
      host: '127.0.0.1',
      port: 0,
      zones: ['berth.internal'],
      ttl: 10,
      environments: { qa: { clients: ['127.0.0.2/32'], proxyAddresses: ['10.200.0.2'] }, staging: { clients: ['127.0.0.3/32'], proxyAddresses: [] } },
      defaultEnv: 'default',
      forwarders: [],
      reverseNetworks: ['10.1.0.0/16'],
      logger: silentLogger,
      metricsRegistry: registry,
      minRebuildIntervalMs: 20,
      ...over,
    },
    view,
  );
  await server.start();
  const started = { server, view, port: server.address().port, registry };
  if (services) await load(started, services);
  return started;
}

/** Replaces the catalog and waits until the server serves it. */
export async function load(s: Started, services: Service[]): Promise<void> {
  const swapped = new Promise<void>((resolve) => {
    const off = s.server.onSwap((idx) => {
      if (idx.loaded && idx.position === target) {
        off();
        resolve();
      }
    });
  });
  const target = (await s.view.position()) + 1;
  s.view.set(services);
  await swapped;
}

export interface DigResult {
  status: string;
  flags: string[];
  answers: string[];
  authority: string[];
  additional: string[];
  raw: string;
}

/** Runs dig against the server and parses its sections (answers as `name ttl class type data` with one space). */
export function dig(port: number, args: string[]): Promise<DigResult> {
  return new Promise((resolve, reject) => {
    execFile('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', '+nocookie', ...args], { timeout: 10_000 }, (err, stdout) => {
      if (err && !stdout) {
        reject(err);
        return;
      }
      const section = (title: string) => {
        const m = new RegExp(`;; ${title} SECTION:\\n([\\s\\S]*?)(\\n\\n|$)`).exec(stdout);
        return m
          ? m[1]
              .split('\n')
              .filter((l) => l && !l.startsWith(';'))
              .map((l) => l.trim().split(/\s+/).join(' '))
          : [];
      };
      resolve({
        status: /status: (\w+)/.exec(stdout)?.[1] ?? 'NONE',
        flags: (/;; flags: ([^;]*);/.exec(stdout)?.[1] ?? '').trim().split(/\s+/),
        answers: section('ANSWER'),
        authority: section('AUTHORITY'),
        additional: section('ADDITIONAL'),
        raw: stdout,
      });
    });
  });
}

/** A query message built by hand (so tests can break it on purpose). */
export function query(name: string, type: number, opts: { id?: number; edns?: number; rd?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  const h = Buffer.alloc(12);
  h.writeUInt16BE(opts.id ?? 0x1234, 0);
  h[2] = opts.rd === false ? 0 : 1;
  h.writeUInt16BE(1, 4);
  if (opts.edns) h.writeUInt16BE(1, 10);
  parts.push(h);
  for (const l of name.split('.').filter(Boolean)) parts.push(Buffer.from([l.length]), Buffer.from(l, 'latin1'));
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(type, 1);
  tail.writeUInt16BE(1, 3);
  parts.push(tail);
  if (opts.edns) {
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(41, 1);
    opt.writeUInt16BE(opts.edns, 3);
    parts.push(opt);
  }
  return Buffer.concat(parts);
}

/** One UDP exchange from a fresh socket; null after `timeoutMs`. */
export function udp(port: number, msg: Buffer, timeoutMs = 1000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      resolve(null);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.send(msg, port, '127.0.0.1');
  });
}

/** Writes `raw` bytes (then FIN, if asked) on a TCP connection and collects length-prefixed replies until `expect` arrived, the server closed, or timeout. */
export function tcp(
  port: number,
  raw: Buffer,
  expect: number,
  timeoutMs = 2000,
  endAfterWrite = false,
): Promise<{ replies: Buffer[]; how: 'complete' | 'closed' | 'timeout' }> {
  return new Promise((resolve) => {
    const replies: Buffer[] = [];
    let acc = Buffer.alloc(0);
    const c = net.connect(port, '127.0.0.1');
    let done = false;
    const fin = (how: 'complete' | 'closed' | 'timeout') => {
      if (done) return;
      done = true;
      clearTimeout(t);
      c.destroy();
      resolve({ replies, how });
    };
    const t = setTimeout(() => fin('timeout'), timeoutMs);
    c.on('connect', () => (endAfterWrite ? c.end(raw) : c.write(raw)));
    c.on('data', (d) => {
      acc = Buffer.concat([acc, d]);
      while (acc.length >= 2 && acc.length >= 2 + acc.readUInt16BE(0)) {
        replies.push(acc.subarray(2, 2 + acc.readUInt16BE(0)));
        acc = acc.subarray(2 + acc.readUInt16BE(0));
      }
      if (expect > 0 && replies.length >= expect) fin('complete');
    });
    c.on('close', () => fin('closed'));
    c.on('error', () => fin('closed'));
  });
}

/** Length-prefixes messages for TCP. */
export function framed(...msgs: Buffer[]): Buffer {
  return Buffer.concat(
    msgs.flatMap((m) => {
      const l = Buffer.alloc(2);
      l.writeUInt16BE(m.length);
      return [l, m];
    }),
  );
}

/** Header fields of a reply. */
export function header(b: Buffer): { id: number; qr: boolean; aa: boolean; tc: boolean; rcode: number; qd: number; an: number; ns: number; ar: number } {
  return {
    id: b.readUInt16BE(0),
    qr: !!(b[2] & 0x80),
    aa: !!(b[2] & 0x04),
    tc: !!(b[2] & 0x02),
    rcode: b[3] & 0x0f,
    qd: b.readUInt16BE(4),
    an: b.readUInt16BE(6),
    ns: b.readUInt16BE(8),
    ar: b.readUInt16BE(10),
  };
}
