/**
 * Forwards questions outside our zones to `BERTH_DNS_FORWARDERS` (UDP for UDP clients, TCP for TCP
 * clients), one upstream after another, each with a timeout. A reply is accepted only from the
 * upstream asked, with our random id and the question we sent (anti-spoofing).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';

export interface Upstream {
  host: string;
  port: number;
}

/** `1.2.3.4:53`, `[::1]:53`, `1.2.3.4` → host/port; throws on anything else. */
export function parseUpstream(s: string): Upstream {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  const host = m ? m[1] : s;
  const port = m && m[2] ? Number(m[2]) : 53;
  if (!net.isIP(host) || !(port >= 1 && port <= 65535)) throw new Error(`bad forwarder address: ${s}`);
  return { host, port };
}

type Pending = { resolve: (b: Buffer | null) => void; timer: NodeJS.Timeout; up: Upstream; sent: Buffer };

/** Caps memory and sockets when upstreams are slow: over this, new questions fail at once. */
const MAX_PENDING = 2048;

export class Forwarder {
  private readonly pending = new Map<number, Pending>();
  private readonly sockets = new Map<4 | 6, dgram.Socket>();
  private tcpOpen = 0;

  constructor(
    private readonly upstreams: Upstream[],
    private readonly timeoutMs: number,
  ) {}

  /** The upstream's reply carrying the client's id, or null when every upstream failed or timed out. */
  async forward(query: Buffer, tcp: boolean): Promise<{ reply: Buffer | null; result: 'ok' | 'timeout' | 'error' | 'overload' }> {
    if (this.pending.size + this.tcpOpen >= MAX_PENDING) return { reply: null, result: 'overload' };
    let result: 'timeout' | 'error' = 'timeout';
    for (const up of this.upstreams) {
      try {
        const reply = tcp ? await this.viaTcp(up, query) : await this.viaUdp(up, query);
        if (reply) {
          const out = Buffer.from(reply);
          out.writeUInt16BE(query.readUInt16BE(0), 0);
          return { reply: out, result: 'ok' };
        }
      } catch {
        result = 'error';
      }
    }
    return { reply: null, result };
  }

  /** Closes the upstream sockets and fails what is in flight. */
  close(): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.resolve(null);
    }
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }

  private socket(family: 4 | 6): dgram.Socket {
    let s = this.sockets.get(family);
    if (s) return s;
    s = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
    s.on('error', () => {
      /* per-send errors are handled by timeouts */
    });
    s.on('message', (msg, rinfo) => this.onReply(msg, rinfo));
    s.unref();
    this.sockets.set(family, s);
    return s;
  }

  private viaUdp(up: Upstream, query: Buffer): Promise<Buffer | null> {
    let id = randomInt(65536);
    for (let i = 0; this.pending.has(id) && i < 16; i++) id = randomInt(65536);
    if (this.pending.has(id)) return Promise.resolve(null);
    const sent = Buffer.from(query);
    sent.writeUInt16BE(id, 0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(null);
      }, this.timeoutMs);
      this.pending.set(id, { resolve, timer, up, sent });
      this.socket(net.isIPv6(up.host) ? 6 : 4).send(sent, up.port, up.host, (err) => {
        if (err && this.pending.get(id)?.sent === sent) {
          clearTimeout(timer);
          this.pending.delete(id);
          resolve(null);
        }
      });
    });
  }

  private onReply(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length < 12 || !(msg[2] & 0x80)) return;
    const p = this.pending.get(msg.readUInt16BE(0));
    if (!p || rinfo.address !== p.up.host || rinfo.port !== p.up.port) return;
    if (!sameQuestion(p.sent, msg)) return;
    clearTimeout(p.timer);
    this.pending.delete(msg.readUInt16BE(0));
    p.resolve(msg);
  }

  private viaTcp(up: Upstream, query: Buffer): Promise<Buffer | null> {
    this.tcpOpen++;
    return new Promise<Buffer | null>((resolve) => {
      let acc = Buffer.alloc(0);
      const sock = net.connect({ host: up.host, port: up.port });
      const done = (b: Buffer | null) => {
        clearTimeout(timer);
        sock.destroy();
        resolve(b);
      };
      const timer = setTimeout(() => done(null), this.timeoutMs);
      sock.on('error', () => done(null));
      sock.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(query.length);
        sock.write(Buffer.concat([len, query]));
      });
      sock.on('data', (d) => {
        acc = Buffer.concat([acc, d]);
        if (acc.length >= 2 && acc.length >= 2 + acc.readUInt16BE(0)) {
          const reply = acc.subarray(2, 2 + acc.readUInt16BE(0));
          done(reply.length >= 12 && reply.readUInt16BE(0) === query.readUInt16BE(0) && sameQuestion(query, reply) ? reply : null);
        }
      });
      sock.on('close', () => done(null));
    }).finally(() => {
      this.tcpOpen--;
    });
  }
}

/** The question section of a reply is the one we sent (bytes 12 … end of the first question). */
function sameQuestion(sent: Buffer, reply: Buffer): boolean {
  let p = 12;
  while (p < sent.length && sent[p] !== 0 && sent[p] < 64) p += sent[p] + 1;
  const end = p + 5;
  if (end > sent.length || end > reply.length || reply.readUInt16BE(4) !== 1) return false;
  return sent.subarray(12, end).equals(reply.subarray(12, end));
}
