/**
 * DNS over TCP, from the server's side: the framed listener (`tcp.ts`) on the server's port, each
 * message handed to dispatch (`dispatch.ts`), and the client marked verified for UDP. Kept apart
 * from the framing, which knows nothing of DNS answers, and from the UDP side, whose limits a
 * completed handshake lifts.
 */
import type { QueryDispatcher } from './dispatch';
import type { DnsLimits } from './limits';
import type { DnsMetrics } from './metrics';
import { createTcpServer, type TcpServer } from './tcp';
import type { VerifiedClients } from './verified';
import { RCODE } from './wire';

/** The TCP side of the server; `listen` and `close` may alternate (a retried start). */
export class TcpTransport {
  private tcp: TcpServer | null = null;

  constructor(
    private readonly dispatch: QueryDispatcher,
    /** Clients whose UDP answers may exceed the amplification limit for a while (`udp-transport.ts`). */
    private readonly verified: VerifiedClients,
    private readonly limits: DnsLimits,
    private readonly metrics: DnsMetrics,
  ) {}

  /** Open connections (for the gauge). */
  connections(): number {
    return this.tcp?.connections() ?? 0;
  }

  async listen(port: number, host: string): Promise<void> {
    const tcp = createTcpServer({
      idleTimeoutMs: this.limits.tcpIdleMs,
      deadlineMs: this.limits.tcpDeadlineMs,
      maxConnections: this.limits.tcpMaxConnections,
      maxPerSource: this.limits.tcpPerSource,
      onMessage: (msg, remote, reply) => this.onTcp(msg, remote.address, reply),
      onClose: (reason) => this.metrics.tcpClosed(reason),
    });
    this.tcp = tcp;
    await new Promise<void>((resolve, reject) => {
      tcp.server.once('error', reject);
      tcp.server.listen(port, host, () => {
        tcp.server.removeListener('error', reject);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    const tcp = this.tcp;
    this.tcp = null;
    if (tcp) {
      const closed = new Promise<void>((r) => tcp.server.close(() => r()));
      tcp.destroyConnections(); // close() alone would wait for idle clients to time out
      await closed;
    }
  }

  private onTcp(msg: Buffer, address: string, reply: (b: Buffer | null | Iterator<Buffer>) => void): void {
    const t0 = performance.now();
    // The handshake proved the address: its UDP answers may exceed the amplification limit for a while.
    if (this.limits.udpAmplificationMax > 0) this.verified.add(address, t0);
    const out = this.dispatch.answer(msg, address, true);
    if (out === null) {
      reply(null);
      return;
    }
    if (out.forward) {
      void this.dispatch.forward(msg, out.qtype, true, reply);
      return;
    }
    if (out.transfer) {
      void this.dispatch.transfer(msg, address, true).then((t) => {
        reply(t ? t.messages : null);
        if (t) this.metrics.query(t.qtype, t.result === 'refused' || t.result === 'busy' ? RCODE.REFUSED : RCODE.NOERROR, (performance.now() - t0) / 1000);
      });
      return;
    }
    reply(out.reply);
    this.metrics.query(out.qtype, out.rcode, (performance.now() - t0) / 1000);
  }
}
