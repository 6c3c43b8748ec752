import type { Registry as PromRegistry } from 'prom-client';
import type { Config } from '../config/schema';
import type { DnsIndex } from '../dns/build';
import { DnsServer } from '../dns/server';
import type { IpamService } from '../ipam/service';
import type { Logger } from '../log';
import type { RegistryView } from '../registry/view';
import type { Part } from './part';
import { reverseNetworksFollower } from './reverse';

export interface DnsPartDeps {
  config: Config;
  view: RegistryView;
  ipam: IpamService;
  logger: Logger;
  metricsRegistry: PromRegistry;
}

/**
 * The embedded DNS server and the reverse zones that follow the pools. Not ready while it would
 * answer SERVFAIL for its own zones (its index was never loaded from the registry).
 */
export function dnsPart(d: DnsPartDeps): Part<DnsServer> {
  let dns: DnsServer | undefined;
  let stopReverse: (() => Promise<void>) | undefined;
  return {
    name: 'dns',
    start: async () => {
      const { config } = d;
      dns = new DnsServer(
        {
          host: config.dns.host,
          port: config.dns.port,
          zones: [...config.dns.zones],
          ttl: config.dns.ttl,
          environments: config.environments,
          defaultEnv: config.defaultEnv,
          forwarders: [...config.dns.forwarders],
          reverseNetworks: (await d.ipam.listPools()).map((p) => p.cidr),
          logger: d.logger.child({ component: 'dns' }),
          metricsRegistry: d.metricsRegistry,
          limits: config.dnsLimits,
          transferAllow: [...config.dns.transferAllow],
          notify: [...config.dns.notify],
          envByEcs: config.dns.envByEcs,
        },
        d.view,
      );
      await dns.start();
      stopReverse = reverseNetworksFollower(d.ipam, dns, d.logger);
      return dns;
    },
    stop: async () => {
      await stopReverse?.();
      await dns?.stop();
    },
    readiness: () => [
      {
        name: 'dns',
        check: async () => {
          const index = dns?.currentIndex();
          if (index?.loaded) return { ok: true, detail: { position: index.position } };
          return { ok: false, detail: { reason: 'the DNS index is not loaded from the registry yet: questions in the zones are answered SERVFAIL' } };
        },
      },
    ],
  };
}

/** How long an Nginx run waits for DNS to serve the position it is about to render (`whenDnsServes`). */
export const DNS_FIRST_MAX_WAIT_MS = 3_000;

/**
 * Resolves once DNS serves registry `position` (its index is loaded at that position or a later
 * one), or after `maxWaitMs`: a DNS build that fails or lags must not hold the Nginx sync back.
 * The Nginx sync waits on it before rendering (`beforeRender`), so that at start DNS answers
 * first: both run on the event loop, and interleaved with the render's slices the first DNS build
 * at 10,000 apps took 1.45 s instead of 0.9 s.
 */
export function whenDnsServes(dns: Pick<DnsServer, 'currentIndex' | 'onSwap'>, position: number, maxWaitMs: number): Promise<void> {
  const serves = (index: DnsIndex) => index.loaded && index.position >= position;
  if (serves(dns.currentIndex())) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      off();
      resolve();
    };
    const timer = setTimeout(done, maxWaitMs);
    timer.unref(); // a stopped sync stops waiting on its own; this timer must not keep the process up
    const off = dns.onSwap((index) => {
      if (serves(index)) done();
    });
  });
}
