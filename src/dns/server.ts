/**
 * The embedded authoritative DNS server: UDP and TCP on one port, answering from an in-memory index
 * that `IndexReloader` keeps in step with the registry (patched per changed app, rebuilt whole on
 * first load, settings changes and as a periodic safety net). This file wires the parts and runs
 * their lifecycle; the transports (`udp-transport.ts`, `tcp-transport.ts`) and query dispatch
 * (`dispatch.ts`) live apart so each stays small.
 *
 * Hot path: guarded parser → table lookup → copy of a pre-encoded body. dns2 is not on it: its
 * codec costs ~200 µs per query and stalls seconds on crafted section counts (docs/dns.md).
 */
import net from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { systemClock, type Clock } from '../clock';
import type { EnvironmentConfig } from '../model/types';
import type { RegistryView } from '../registry/view';
import { buildIndex, IndexBuilder, type DnsIndex, type IndexOptions } from './build';
import { EnvironmentMatcher } from './client-env';
import { QueryDispatcher } from './dispatch';
import { Forwarder, parseUpstream } from './forwarder';
import { createDnsMetrics, type DnsMetrics } from './metrics';
import { DNS_LIMIT_DEFAULTS, VERIFIED_MAX, VERIFIED_TTL_MS, type DnsLimits } from './limits';
import { IndexReloader, type UpdateKind } from './reloader';
import { Notifier } from './notify';
import { TcpTransport } from './tcp-transport';
import { TransferAcl } from './transfer';
import { UdpTransport } from './udp-transport';
import { VerifiedClients } from './verified';
import { TYPE } from './wire';

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
  /**
   * Lower bound between two index updates (default 0: a patch costs the changed apps only, and
   * updates never overlap, so changes that arrive during one are applied together by the next).
   */
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

/** Authoritative DNS for the registry's services. `start()` listens, `stop()` closes everything. */
export class DnsServer {
  private readonly dispatch: QueryDispatcher;
  private readonly udp: UdpTransport;
  private readonly tcp: TcpTransport;
  private readonly metrics: DnsMetrics;
  private readonly reloader: IndexReloader;
  private indexOptions: IndexOptions;
  private builder: IndexBuilder;
  private readonly log: Logger;
  private boundPort = 0;
  private readonly swapListeners = new Set<(index: DnsIndex) => void>();
  private readonly notifier: Notifier;

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
    const index = buildIndex([], this.indexOptions, { loaded: false, position: -1, serial: 0 });
    const matcher = new EnvironmentMatcher(opts.environments, opts.defaultEnv);
    const forwarder = opts.forwarders.length > 0 ? new Forwarder(opts.forwarders.map(parseUpstream), opts.forwardTimeoutMs ?? 2000) : null;
    this.metrics = createDnsMetrics(opts.metricsRegistry);
    const limits: DnsLimits = { ...DNS_LIMIT_DEFAULTS, ...opts.limits };
    const verified = new VerifiedClients(VERIFIED_MAX, VERIFIED_TTL_MS);
    this.dispatch = new QueryDispatcher(index, {
      matcher,
      forwarder,
      transferAcl: new TransferAcl(opts.transferAllow ?? []),
      envByEcs: opts.envByEcs ?? false,
      metrics: this.metrics,
      log: this.log,
    });
    this.udp = new UdpTransport(this.dispatch, verified, limits, this.metrics, this.log);
    this.tcp = new TcpTransport(this.dispatch, verified, limits, this.metrics);
    this.notifier = new Notifier({
      targets: opts.notify ?? [],
      firstWaitMs: opts.notifyRetryMs,
      onResult: (r) => this.metrics.notify(r),
      onError: (err) => this.log.debug({ err }, 'dns: NOTIFY send failed'),
    });
    this.metrics.watch({ tcpConnections: () => this.tcp.connections(), verifiedClients: () => verified.size });
    const clock = opts.clock ?? systemClock;
    this.builder = new IndexBuilder(this.indexOptions);
    this.reloader = new IndexReloader({
      view,
      clock,
      logger: this.log,
      minIntervalMs: opts.minRebuildIntervalMs ?? 0,
      pollMs: 5000,
      retryMs: 1000,
      fullEveryMs: opts.fullRebuildMs ?? 600_000,
      current: () => this.dispatch.index,
      build: (snap, reassemble) => {
        // Strictly increasing across builders too (a settings change starts a new one).
        const serial = Math.max(this.dispatch.index.serial + 1, Math.floor(clock.now() / 1000));
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
    this.dispatch.close();
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
    return this.dispatch.index;
  }

  /** Called after each index swap; returns an unsubscribe function. */
  onSwap(listener: (index: DnsIndex) => void): () => void {
    this.swapListeners.add(listener);
    return () => this.swapListeners.delete(listener);
  }

  private swap(index: DnsIndex, seconds: number, kind: UpdateKind): void {
    const before = this.dispatch.index;
    const first = !before.loaded && index.loaded;
    const skippedBefore = before.skipped.length;
    const serialMoved = index.loaded && index.serial !== before.serial;
    this.dispatch.index = index;
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
    this.boundPort = await this.udp.bind(this.opts.port, this.opts.host);
    await this.tcp.listen(this.boundPort, this.opts.host);
  }

  private async closeSockets(): Promise<void> {
    await this.udp.close();
    await this.tcp.close();
  }
}
