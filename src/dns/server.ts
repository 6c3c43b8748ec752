/**
 * The embedded authoritative DNS server: UDP and TCP sockets on one port, answering from an
 * in-memory index that `IndexReloader` keeps in step with the registry (patched per changed app,
 * rebuilt whole on first load, settings changes and as a periodic safety net).
 *
 * Hot path: guarded parser → table lookup → copy of a pre-encoded body. dns2 is not on it: its
 * codec costs ~200 µs per query and stalls seconds on crafted section counts (docs/dns.md).
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { systemClock, type Clock } from '../clock';
import type { EnvironmentConfig } from '../model/types';
import type { RegistryView } from '../registry/view';
import { buildIndex, IndexBuilder, type DnsIndex, type IndexOptions } from './build';
import { EnvironmentMatcher } from './client-env';
import { Forwarder, parseUpstream } from './forwarder';
import { createDnsMetrics, type DnsMetrics } from './metrics';
import { DNS_LIMIT_DEFAULTS, VERIFIED_MAX, VERIFIED_TTL_MS, type DnsLimits } from './limits';
import { IndexReloader, type UpdateKind } from './reloader';
import { Notifier } from './notify';
import type { ParsedQuery } from './query';
import { rcodeReply, respond, type Outcome, type SubnetChooser } from './respond';
import { RRL_DROP, RRL_SEND, ResponseRateLimiter, responseClass } from './rrl';
import { createTcpServer, type TcpServer } from './tcp';
import { TransferAcl, TransferHistory, transfer, type TransferReply } from './transfer';
import { truncateReply } from './truncate';
import { VerifiedClients } from './verified';
import { RCODE, TYPE } from './wire';

export interface DnsServerOptions {
  host: string;
  /** 0 picks a free port (the same one for UDP and TCP). */
  port: number;
  zones: string[];
  ttl: number;
  environments: Record<string, EnvironmentConfig>;
  defaultEnv: string;
  /** `ip`, `ip:port` or `[ipv6]:port`; empty: REFUSED outside the zones. */
  forwarders: string[];
  /** Pool CIDRs whose reverse zones berth serves. */
  reverseNetworks: string[];
  /** NS target and SOA MNAME; default `ns.<first zone>` (answered with `host` when that is a unicast address). */
  nsName?: string;
  logger: Logger;
  metricsRegistry: Registry;
  forwardTimeoutMs?: number;
  /** Abuse limits (TCP deadlines and caps, UDP rate and amplification limits); unset fields take DNS_LIMIT_DEFAULTS. */
  limits?: Partial<DnsLimits>;
  /** Lower bound between two index updates (default 20 ms: a patch costs the changed apps only). */
  minRebuildIntervalMs?: number;
  /** Safety net: rebuild the whole index this often even when patches kept up (default 10 min; 0: never). */
  fullRebuildMs?: number;
  clock?: Clock;
  /** CIDRs allowed to transfer zones (AXFR/IXFR); empty: every transfer is REFUSED. */
  transferAllow?: string[];
  /** Secondaries (`ip:port`) told by NOTIFY when the SOA serial changes. */
  notify?: string[];
  /** Pick the environment view from the EDNS Client Subnet option when a query carries one. */
  envByEcs?: boolean;
  /** First wait for a NOTIFY acknowledgement (doubles per retry; default 1 s). */
  notifyRetryMs?: number;
}

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

/** Authoritative DNS for the registry's services. `start()` listens, `stop()` closes everything. */
export class DnsServer {
  private index: DnsIndex;
  private udp: dgram.Socket | null = null;
  private tcp: TcpServer | null = null;
  private readonly limits: DnsLimits;
  private readonly rrl: ResponseRateLimiter;
  private readonly verified: VerifiedClients;
  private readonly matcher: EnvironmentMatcher;
  private readonly forwarder: Forwarder | null;
  private readonly metrics: DnsMetrics;
  private readonly reloader: IndexReloader;
  private indexOptions: IndexOptions;
  private builder: IndexBuilder;
  private readonly log: Logger;
  private lastErrorLog = 0;
  private lastRefusalLog = 0;
  private boundPort = 0;
  private readonly swapListeners = new Set<(index: DnsIndex) => void>();
  private readonly transferAcl: TransferAcl;
  private readonly history = new TransferHistory();
  private readonly notifier: Notifier;
  private readonly bySubnet: SubnetChooser | undefined;

  constructor(
    private readonly opts: DnsServerOptions,
    view: RegistryView,
  ) {
    if (opts.zones.length === 0) throw new Error('dns: at least one zone is required');
    this.log = opts.logger;
    const hostIsUnicast = net.isIP(opts.host) !== 0 && opts.host !== '0.0.0.0' && opts.host !== '::';
    this.indexOptions = {
      zones: opts.zones,
      reverseNetworks: opts.reverseNetworks,
      ttl: opts.ttl,
      environments: opts.environments,
      defaultEnv: opts.defaultEnv,
      nsName: opts.nsName,
      nsAddresses: hostIsUnicast ? [opts.host] : [],
    };
    this.index = buildIndex([], this.indexOptions, { loaded: false, position: -1, serial: 0 });
    this.matcher = new EnvironmentMatcher(opts.environments, opts.defaultEnv);
    this.forwarder = opts.forwarders.length > 0 ? new Forwarder(opts.forwarders.map(parseUpstream), opts.forwardTimeoutMs ?? 2000) : null;
    this.metrics = createDnsMetrics(opts.metricsRegistry);
    this.limits = { ...DNS_LIMIT_DEFAULTS, ...opts.limits };
    this.rrl = new ResponseRateLimiter({
      responsesPerSecond: this.limits.rrlResponsesPerSecond,
      windowSeconds: this.limits.rrlWindowSeconds,
      slip: this.limits.rrlSlip,
    });
    this.verified = new VerifiedClients(VERIFIED_MAX, VERIFIED_TTL_MS);
    this.transferAcl = new TransferAcl(opts.transferAllow ?? []);
    this.notifier = new Notifier({
      targets: opts.notify ?? [],
      firstWaitMs: opts.notifyRetryMs,
      onResult: (r) => this.metrics.notify(r),
      onError: (err) => this.log.debug({ err }, 'dns: NOTIFY send failed'),
    });
    this.bySubnet = opts.envByEcs
      ? (q: ParsedQuery, msg: Buffer) => this.matcher.envForSubnet(q.ecsFamily, msg.subarray(q.ecsAt, q.ecsAt + q.ecsLength), q.ecsSource)
      : undefined;
    this.metrics.watch({ tcpConnections: () => this.tcp?.connections() ?? 0, verifiedClients: () => this.verified.size });
    const clock = opts.clock ?? systemClock;
    this.builder = new IndexBuilder(this.indexOptions);
    this.reloader = new IndexReloader({
      view,
      clock,
      logger: this.log,
      minIntervalMs: opts.minRebuildIntervalMs ?? 20,
      pollMs: 5000,
      retryMs: 1000,
      fullEveryMs: opts.fullRebuildMs ?? 600_000,
      current: () => this.index,
      build: (snap, reassemble) => {
        // Strictly increasing across builders too (a settings change starts a new one).
        const serial = Math.max(this.index.serial + 1, Math.floor(clock.now() / 1000));
        return this.builder.build(snap.services, { loaded: snap.loaded, position: snap.position, serial }, reassemble);
      },
      patch: (changes) => this.builder.patch(changes.changed, { loaded: changes.loaded, position: changes.position, now: clock.now() }),
      canPatch: (index) => this.builder.serves(index),
      swap: (index, seconds, kind) => this.swap(index, seconds, kind),
      failed: () => this.metrics.indexBuildFailed(),
    });
  }

  /** Binds UDP and TCP on the same port and starts following the registry. */
  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.listen();
        break;
      } catch (err) {
        await this.closeSockets();
        // With port 0 the UDP port picked may be taken for TCP: try another one.
        if (this.opts.port !== 0 || attempt >= 20 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      }
    }
    this.reloader.start();
    this.log.info({ host: this.opts.host, port: this.boundPort, zones: this.opts.zones }, 'dns: listening (UDP and TCP)');
  }

  /** Stops answering and following the registry. */
  async stop(): Promise<void> {
    await this.reloader.stop();
    this.forwarder?.close();
    this.notifier.close();
    await this.closeSockets();
  }

  /** Serves the reverse zones of a new set of pool CIDRs (IPAM pools added or removed); rebuilds at once. */
  setReverseNetworks(cidrs: string[]): void {
    this.indexOptions = { ...this.indexOptions, reverseNetworks: cidrs };
    this.builder = new IndexBuilder(this.indexOptions);
    this.reloader.request(true);
  }

  /** The bound address (useful with port 0). */
  address(): { host: string; port: number } {
    return { host: this.opts.host, port: this.boundPort };
  }

  /** The index being served (read-only; replaced whole on every rebuild). */
  currentIndex(): DnsIndex {
    return this.index;
  }

  /** Called after each index swap; returns an unsubscribe function. */
  onSwap(listener: (index: DnsIndex) => void): () => void {
    this.swapListeners.add(listener);
    return () => this.swapListeners.delete(listener);
  }

  private swap(index: DnsIndex, seconds: number, kind: UpdateKind): void {
    const first = !this.index.loaded && index.loaded;
    const skippedBefore = this.index.skipped.length;
    const serialMoved = index.loaded && index.serial !== this.index.serial;
    this.index = index;
    if (serialMoved && this.notifier.enabled) {
      this.notifier.notify([...index.zones.values()].map((z) => ({ name: z.name, soa: { type: TYPE.SOA, data: z.soa } })));
    }
    // Domains outside every zone are an operator's mistake worth one line, not one per rebuild.
    if (index.skipped.length !== skippedBefore && index.skipped.length > 0) {
      this.log.warn({ count: index.skipped.length, examples: index.skipped.slice(0, 5) }, 'dns: domains outside BERTH_DNS_ZONES are not served');
    }
    const byEnv = new Map<string, number>([...index.envs].map(([env, t]) => [env, t.size]));
    this.metrics.indexBuilt(byEnv, seconds, kind);
    if (first)
      this.log.info(
        { position: index.position, names: index.names, ms: Math.round(seconds * 1000), skipped: index.skipped.length },
        'dns: first registry load, answering',
      );
    else if (kind === 'build') this.log.debug({ position: index.position, names: index.names, ms: Math.round(seconds * 1000) }, 'dns: index rebuilt');
    for (const l of this.swapListeners) l(index);
  }

  private async listen(): Promise<void> {
    const udp = dgram.createSocket({ type: net.isIPv6(this.opts.host) ? 'udp6' : 'udp4', lookup: literalLookup });
    this.udp = udp;
    udp.on('message', (msg, rinfo) => this.onUdp(msg, rinfo));
    udp.on('error', (err) => this.log.warn({ err }, 'dns: UDP socket error'));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.opts.port, this.opts.host, () => {
        udp.removeListener('error', reject);
        resolve();
      });
    });
    try {
      udp.setRecvBufferSize(4 << 20); // bursts: the default ~200 KB holds only ~300 queries (capped by net.core.rmem_max)
    } catch {
      /* best effort */
    }
    this.boundPort = udp.address().port;
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
      tcp.server.listen(this.boundPort, this.opts.host, () => {
        tcp.server.removeListener('error', reject);
        resolve();
      });
    });
  }

  private async closeSockets(): Promise<void> {
    const udp = this.udp,
      tcp = this.tcp;
    this.udp = null;
    this.tcp = null;
    if (udp)
      await new Promise<void>((r) => {
        try {
          udp.close(() => r());
        } catch {
          r();
        }
      });
    if (tcp) {
      const closed = new Promise<void>((r) => tcp.server.close(() => r()));
      tcp.destroyConnections(); // close() alone would wait for idle clients to time out
      await closed;
    }
  }

  private onUdp(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    // Port 0 cannot be answered (and `send` would throw ERR_SOCKET_BAD_PORT): a spoofed packet.
    if (rinfo.port === 0) {
      this.metrics.dropped('source_port_0');
      return;
    }
    const t0 = performance.now();
    const out = this.answer(msg, rinfo.address, false);
    if (out === null) return;
    if (out.transfer) {
      // IXFR over UDP: one message (the current SOA or a refusal), under the same UDP limits as any answer.
      void this.transfer(msg, rinfo.address, false).then((t) => {
        const first = t?.messages.next();
        const limited = first && !first.done ? this.limitUdp(msg, first.value, rinfo.address, t0, null) : null;
        if (limited) this.sendUdp(limited, rinfo);
      });
      return;
    }
    if (out.forward) {
      void this.forward(msg, out.qtype, false, (reply) => {
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
      const smaller = own ? this.answer(msg, address, false, amp * msg.length) : null;
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

  private onTcp(msg: Buffer, address: string, reply: (b: Buffer | null | Iterator<Buffer>) => void): void {
    const t0 = performance.now();
    // The handshake proved the address: its UDP answers may exceed the amplification limit for a while.
    if (this.limits.udpAmplificationMax > 0) this.verified.add(address, t0);
    const out = this.answer(msg, address, true);
    if (out === null) {
      reply(null);
      return;
    }
    if (out.forward) {
      void this.forward(msg, out.qtype, true, reply);
      return;
    }
    if (out.transfer) {
      void this.transfer(msg, address, true).then((t) => {
        reply(t ? t.messages : null);
        if (t) this.metrics.query(t.qtype, t.result === 'refused' || t.result === 'busy' ? RCODE.REFUSED : RCODE.NOERROR, (performance.now() - t0) / 1000);
      });
      return;
    }
    reply(out.reply);
    this.metrics.query(out.qtype, out.rcode, (performance.now() - t0) / 1000);
  }

  /** A transfer's messages (the ACL decides; the view is the client address's, as for queries), or null after an internal error. */
  private async transfer(msg: Buffer, address: string, tcp: boolean): Promise<TransferReply | null> {
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

  /** The reply, 'forward', 'transfer', or null to drop. Never throws. */
  private answer(
    msg: Buffer,
    address: string,
    tcp: boolean,
    udpCap?: number,
  ): (Outcome & { reply: Buffer; transfer?: false }) | { forward: true; transfer?: false; qtype: number } | { forward: false; transfer: true } | null {
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

  private async forward(msg: Buffer, qtype: number, tcp: boolean, send: (b: Buffer | null) => void): Promise<void> {
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

  private sendUdp(buf: Buffer, rinfo: dgram.RemoteInfo): void {
    try {
      // No callback: a failed send is dropped either way, and a callback costs a nextTick per reply.
      this.udp?.send(buf, rinfo.port, rinfo.address);
    } catch {
      this.metrics.dropped('send_error');
    }
  }
}
