import type { DnsServer } from '../dns/server';
import type { IpamService } from '../ipam/service';
import type { Logger } from '../log';

/**
 * PTR zones follow the pools: DNS is told the pool CIDRs again whenever they change (pools are
 * created rarely, so a slow poll is enough and costs one small query).
 */
export function reverseNetworksFollower(ipam: IpamService, dns: DnsServer, logger: Logger, intervalMs = 10_000): () => Promise<void> {
  let last = '';
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = ipam
      .listPools()
      .then((pools) => {
        const cidrs = pools.map((p) => p.cidr).sort();
        const key = cidrs.join(',');
        if (key !== last) {
          last = key;
          dns.setReverseNetworks(cidrs);
        }
      })
      .catch((err: Error) => logger.debug({ err: err.message }, 'pool list for reverse zones failed; keeping the last'));
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
