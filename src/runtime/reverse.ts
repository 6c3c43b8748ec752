import type { DnsServer } from '../dns/server';
import type { IpamService } from '../ipam/service';
import type { Logger } from '../log';
import { coalesce } from './coalesce';

/**
 * PTR zones follow the pools: DNS is told the pool CIDRs again whenever they change (pools are
 * created rarely, so a slow poll is enough and costs one small query).
 */
export function reverseNetworksFollower(ipam: IpamService, dns: DnsServer, logger: Logger, intervalMs = 10_000): () => Promise<void> {
  let last = '';
  const loop = coalesce({
    everyMs: intervalMs,
    run: async () => {
      const cidrs = (await ipam.listPools()).map((p) => p.cidr).sort();
      const key = cidrs.join(',');
      if (key !== last) {
        last = key;
        dns.setReverseNetworks(cidrs);
      }
    },
    onError: (err) => logger.debug({ err: (err as Error).message }, 'pool list for reverse zones failed; keeping the last'),
  });
  loop.request({ immediate: true });
  return () => loop.stop();
}
