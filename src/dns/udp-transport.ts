/**
 * DNS over UDP: the socket, and the abuse limits a reply must pass before it is sent (the
 * amplification limit for clients not verified over TCP, then response rate limiting). Kept apart
 * from dispatch (`dispatch.ts`) because these limits exist only where a source address can be
 * spoofed; a TCP handshake proves it.
 *
 * Hot path: one datagram → `QueryDispatcher.answer` → limits → one `send`, no callback.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import type { Logger } from 'pino';
import type { QueryDispatcher } from './dispatch';
import type { DnsLimits } from './limits';
import type { DnsMetrics } from './metrics';
import type { Outcome } from './respond';
import { RRL_DROP, RRL_SEND, ResponseRateLimiter, responseClass } from './rrl';
import { truncateReply } from './truncate';
import type { VerifiedClients } from './verified';

/**
 * The UDP socket's resolver: replies go to the address a query came from, always an IP literal, so
 * it answers at once. With the default (`dns.lookup`) every send waited for a `process.nextTick`
 * and a trip through the resolver's validation: ~4 % of a query's CPU (docs/dns.md "Query path and memory layout").
 */
const literalLookup = (
  address: string,
  options: dns.LookupOneOptions,
  cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void => {
  const family = net.isIP(address);
  if (family !== 0) cb(null, address, family);
  else dns.lookup(address, options, cb);
};

/** The UDP side of the server; `bind` and `close` may alternate (a retried start). */
export class UdpTransport {
  private udp: dgram.Socket | null = null;
  private readonly rrl: ResponseRateLimiter;

  constructor(
    private readonly dispatch: QueryDispatcher,
    /** Clients that queried over TCP (`tcp-transport.ts` adds them): exempt from the amplification limit. */
    private readonly verified: VerifiedClients,
    private readonly limits: DnsLimits,
    private readonly metrics: DnsMetrics,
    private readonly log: Logger,
  ) {
    this.rrl = new ResponseRateLimiter({
      responsesPerSecond: limits.rrlResponsesPerSecond,
      windowSeconds: limits.rrlWindowSeconds,
      slip: limits.rrlSlip,
    });
  }

  /** Binds the socket; returns the bound port (the one picked, with port 0). */
  async bind(port: number, host: string): Promise<number> {
    const udp = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4', lookup: literalLookup });
    this.udp = udp;
    udp.on('message', (msg, rinfo) => this.onUdp(msg, rinfo));
    udp.on('error', (err) => this.log.warn({ err }, 'dns: UDP socket error'));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => {
        udp.removeListener('error', reject);
        resolve();
      });
    });
    try {
      udp.setRecvBufferSize(4 << 20); // bursts: the default ~200 KB holds only ~300 queries (capped by net.core.rmem_max)
    } catch {
      /* best effort */
    }
    return udp.address().port;
  }

  async close(): Promise<void> {
    const udp = this.udp;
    this.udp = null;
    if (udp)
      await new Promise<void>((r) => {
        try {
          udp.close(() => r());
        } catch {
          r();
        }
      });
  }

  private onUdp(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    // Port 0 cannot be answered (and `send` would throw ERR_SOCKET_BAD_PORT): a spoofed packet.
    if (rinfo.port === 0) {
      this.metrics.dropped('source_port_0');
      return;
    }
    const t0 = performance.now();
    const out = this.dispatch.answer(msg, rinfo.address, false);
    if (out === null) return;
    if (out.transfer) {
      // IXFR over UDP: one message (the current SOA or a refusal), under the same UDP limits as any answer.
      void this.dispatch.transfer(msg, rinfo.address, false).then((t) => {
        const first = t?.messages.next();
        const limited = first && !first.done ? this.limitUdp(msg, first.value, rinfo.address, t0, null) : null;
        if (limited) this.sendUdp(limited, rinfo);
      });
      return;
    }
    if (out.forward) {
      void this.dispatch.forward(msg, out.qtype, false, (reply) => {
        if (!reply) return;
        const limited = this.limitUdp(msg, reply, rinfo.address, performance.now(), null);
        if (limited) this.sendUdp(limited, rinfo);
      });
      return;
    }
    const reply = this.limitUdp(msg, out.reply, rinfo.address, t0, out);
    if (reply === null) {
      this.metrics.dropped('rate_limited');
      return;
    }
    this.sendUdp(reply, rinfo);
    this.metrics.query(out.qtype, out.rcode, (performance.now() - t0) / 1000);
  }

  /**
   * The UDP abuse limits applied to a reply: an answer over the amplification limit to a client not
   * verified over TCP is answered again under that limit (lean or truncated; forwarded replies are
   * truncated), then the rate limit sends it, slips it out truncated, or drops it (null).
   */
  private limitUdp(msg: Buffer, reply: Buffer, address: string, now: number, own: Outcome | null): Buffer | null {
    const cls = responseClass(reply);
    const amp = this.limits.udpAmplificationMax;
    if (amp > 0 && reply.length > amp * msg.length && !this.verified.has(address, now)) {
      const smaller = own ? this.dispatch.answer(msg, address, false, amp * msg.length) : null;
      const next = smaller && !smaller.forward && !smaller.transfer ? smaller.reply : truncateReply(reply);
      if (next === null) return null;
      this.metrics.amplificationLimited(next[2] & 0x02 ? 'truncated' : 'lean');
      reply = next;
    }
    if (!this.rrl.enabled) return reply;
    const action = this.rrl.check(address, cls, now);
    if (action === RRL_SEND) return reply;
    if (action === RRL_DROP) {
      this.metrics.rateLimited('dropped', cls);
      return null;
    }
    this.metrics.rateLimited('slipped', cls);
    return reply[2] & 0x02 ? reply : truncateReply(reply);
  }

  private sendUdp(buf: Buffer, rinfo: dgram.RemoteInfo): void {
    try {
      // No callback: a failed send is dropped either way, and a callback costs a nextTick per reply.
      this.udp?.send(buf, rinfo.port, rinfo.address);
    } catch {
      this.metrics.dropped('send_error');
    }
  }
}
