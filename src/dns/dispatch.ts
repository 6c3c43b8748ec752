/**
 * Query dispatch, whatever the transport: one message from one client address → the reply from the
 * current index, a forward upstream, or a zone transfer. Kept apart from the sockets (`udp-transport.ts`,
 * `tcp-transport.ts`) so both transports answer through the same code, and apart from `respond.ts`
 * (pure bytes → bytes) because this is where errors are counted and logged and the view is chosen.
 */
import type { Logger } from 'pino';
import type { DnsIndex } from './build';
import type { EnvironmentMatcher } from './client-env';
import type { Forwarder } from './forwarder';
import type { DnsMetrics } from './metrics';
import type { ParsedQuery } from './query';
import { rcodeReply, respond, type Outcome, type SubnetChooser } from './respond';
import { TransferHistory, transfer, type TransferAcl, type TransferReply } from './transfer';
import { RCODE } from './wire';

/** What a query gets: the reply, 'forward', 'transfer', or null to drop. */
export type Answer =
  (Outcome & { reply: Buffer; transfer?: false }) | { forward: true; transfer?: false; qtype: number } | { forward: false; transfer: true } | null;

export interface DispatchParts {
  /** Client address (or Client Subnet) → environment. */
  matcher: EnvironmentMatcher;
  /** Null: REFUSED outside the zones. */
  forwarder: Forwarder | null;
  transferAcl: TransferAcl;
  /** Pick the environment view from the EDNS Client Subnet option when a query carries one. */
  envByEcs: boolean;
  metrics: DnsMetrics;
  log: Logger;
}

/** Answers queries from `index`, which the server replaces on every swap. */
export class QueryDispatcher {
  private readonly matcher: EnvironmentMatcher;
  private readonly forwarder: Forwarder | null;
  private readonly transferAcl: TransferAcl;
  private readonly history = new TransferHistory();
  private readonly metrics: DnsMetrics;
  private readonly log: Logger;
  private readonly bySubnet: SubnetChooser | undefined;
  private lastErrorLog = 0;
  private lastRefusalLog = 0;

  constructor(
    /** The index being served (read-only; replaced whole on every rebuild). */
    public index: DnsIndex,
    parts: DispatchParts,
  ) {
    this.matcher = parts.matcher;
    this.forwarder = parts.forwarder;
    this.transferAcl = parts.transferAcl;
    this.metrics = parts.metrics;
    this.log = parts.log;
    this.bySubnet = parts.envByEcs
      ? (q: ParsedQuery, msg: Buffer) => this.matcher.envForSubnet(q.ecsFamily, msg.subarray(q.ecsAt, q.ecsAt + q.ecsLength), q.ecsSource)
      : undefined;
  }

  /** Closes the forwarder's sockets. */
  close(): void {
    this.forwarder?.close();
  }

  /** The reply, 'forward', 'transfer', or null to drop. Never throws. */
  answer(msg: Buffer, address: string, tcp: boolean, udpCap?: number): Answer {
    try {
      const o = respond(msg, this.index, this.matcher.envFor(address), tcp, this.forwarder !== null, udpCap, this.bySubnet);
      if (o.forward) return { forward: true, qtype: o.qtype };
      if (o.transfer) return { forward: false, transfer: true };
      if (!o.reply) {
        this.metrics.dropped(o.dropped ?? 'malformed');
        return null;
      }
      return o as Outcome & { reply: Buffer; transfer?: false };
    } catch (err) {
      // A bug, not an input problem: keep serving, count it, say it once in a while.
      this.metrics.dropped('internal_error');
      const now = Date.now();
      if (now - this.lastErrorLog > 60_000) {
        this.lastErrorLog = now;
        this.log.error({ err }, 'dns: internal error answering a query');
      }
      return null;
    }
  }

  /** A transfer's messages (the ACL decides; the view is the client address's, as for queries), or null after an internal error. */
  async transfer(msg: Buffer, address: string, tcp: boolean): Promise<TransferReply | null> {
    try {
      const t = await transfer(msg, this.index, this.matcher.envFor(address), tcp, this.transferAcl.allows(address), this.history);
      this.metrics.transfer(t.result);
      const now = Date.now();
      // Refusals are counted; the log says so once a minute (anyone can ask, and a TCP flood of asks must not flood the log).
      if (t.result === 'refused' && now - this.lastRefusalLog > 60_000) {
        this.lastRefusalLog = now;
        this.log.info({ client: address }, 'dns: zone transfer refused (BERTH_DNS_TRANSFER_ALLOW); further refusals are only counted for a minute');
      }
      return t;
    } catch (err) {
      this.metrics.dropped('internal_error');
      this.log.error({ err }, 'dns: internal error answering a zone transfer');
      return null;
    }
  }

  /** Sends the upstream's reply (SERVFAIL when it gave none), or null when forwarding failed. */
  async forward(msg: Buffer, qtype: number, tcp: boolean, send: (b: Buffer | null) => void): Promise<void> {
    const t0 = performance.now();
    try {
      const { reply, result } = await this.forwarder!.forward(msg, tcp);
      this.metrics.forwarded(result);
      const out = reply ?? rcodeReply(msg, RCODE.SERVFAIL, tcp);
      send(out);
      this.metrics.query(qtype, out && reply ? out[3] & 0x0f : RCODE.SERVFAIL, (performance.now() - t0) / 1000);
    } catch (err) {
      send(null);
      this.log.error({ err }, 'dns: forwarding failed');
    }
  }
}
