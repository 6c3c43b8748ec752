/** Which environment a DNS client belongs to, by its source address (`BERTH_ENVIRONMENTS[env].clients`). Pure. */
import ipaddr from 'ipaddr.js';
import type { EnvironmentConfig } from '../model/types';

type Range = { env: string; net: ipaddr.IPv4 | ipaddr.IPv6; prefix: number };

/** Bounded so a flood of spoofed sources cannot grow memory; a miss costs one CIDR scan. */
const CACHE_LIMIT = 10_000;

/** Maps client addresses to environments; the most specific CIDR wins, else the default env. */
export class EnvironmentMatcher {
  private readonly ranges: Range[] = [];
  private readonly cache = new Map<string, string>();

  constructor(
    environments: Record<string, EnvironmentConfig>,
    private readonly defaultEnv: string,
  ) {
    for (const [env, cfg] of Object.entries(environments)) {
      for (const cidr of cfg.clients) {
        const [net, prefix] = ipaddr.parseCIDR(cidr);
        this.ranges.push({ env, net, prefix });
      }
    }
    this.ranges.sort((a, b) => b.prefix - a.prefix);
  }

  /** The environment of a client address (as reported by the socket, IPv4-mapped IPv6 included). */
  envFor(address: string): string {
    const hit = this.cache.get(address);
    if (hit !== undefined) return hit;
    const env = this.match(address);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(address, env);
    return env;
  }

  private match(address: string): string {
    if (this.ranges.length === 0) return this.defaultEnv;
    let addr: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      addr = ipaddr.process(address.split('%')[0]); // drop an IPv6 zone id; un-map ::ffff:a.b.c.d
    } catch {
      return this.defaultEnv;
    }
    for (const r of this.ranges) {
      if (r.net.kind() === addr.kind() && addr.match(r.net, r.prefix)) return r.env;
    }
    return this.defaultEnv;
  }
}
