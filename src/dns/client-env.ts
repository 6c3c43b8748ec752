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
    if (this.ranges.length === 0) return this.defaultEnv; // no client CIDRs: one view, nothing to look up per query
    const hit = this.cache.get(address);
    if (hit !== undefined) return hit;
    const env = this.match(address);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(address, env);
    return env;
  }

  /**
   * The environment of a client subnet (EDNS Client Subnet, RFC 7871): the most specific
   * environment CIDR that holds the whole subnet, by the same ranges as `envFor`. `scope` is how
   * many leading bits of an address decide that answer, so a resolver caches it for just those
   * clients: the matched CIDR's length, raised past every other environment CIDR the answer must
   * not spill into (else the answer cached for the default view would reach environment clients).
   * A subnet shorter than an environment CIDR it overlaps cannot be placed: the default view, with
   * a scope that asks for that many bits.
   */
  envForSubnet(family: number, address: Uint8Array, source: number): { env: string; scope: number } {
    const bytes = new Uint8Array(family === 1 ? 4 : 16);
    bytes.set(address.subarray(0, bytes.length));
    const addr = ipaddr.fromByteArray(Array.from(bytes));
    let env = this.defaultEnv;
    let matched: Range | null = null;
    for (const r of this.ranges) {
      if (r.net.kind() === addr.kind() && r.prefix <= source && addr.match(r.net, r.prefix)) {
        matched = r;
        env = r.env;
        break;
      }
    }
    let scope = matched ? matched.prefix : 0;
    for (const r of this.ranges) {
      if (r === matched || r.net.kind() !== addr.kind()) continue;
      const common = commonBits(addr.toByteArray(), r.net.toByteArray());
      if (common < Math.min(source, r.prefix))
        scope = Math.max(scope, common + 1); // apart: the first differing bit separates them
      else if (r.prefix > source) scope = Math.max(scope, r.prefix); // r lies inside the subnet: its length tells them apart
      // else r holds the whole subnet and is less specific than the match: nothing to add
    }
    return { env, scope: Math.min(scope, family === 1 ? 32 : 128) };
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

/** Leading bits two addresses of one family share. */
function commonBits(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ^ b[i];
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return a.length * 8;
}
