/**
 * Agent host names → addresses for host-networked tasks (DNS answers need addresses). Resolution is
 * async and cached here, outside the pure model, which only reads the cache through `lookup`.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { Clock } from '../clock';
import { systemClock } from '../clock';

/** What the registry needs: warm the cache for some names, then read it synchronously. */
export interface HostResolver {
  prime(hosts: Iterable<string>): Promise<void>;
  lookup(host: string): string | undefined;
}

export interface CachingResolverOptions {
  /** Resolve one name to one address; defaults to the system resolver (getaddrinfo). */
  resolve?: (host: string) => Promise<string>;
  clock?: Clock;
  /** Agent addresses change rarely; re-resolve after this long. */
  ttlMs?: number;
  /** Retry failed names after this long (failures are not cached for long, agents come back). */
  negativeTtlMs?: number;
  /** At most this many lookups in flight (getaddrinfo runs on libuv's 4-thread pool). */
  concurrency?: number;
}

interface Entry {
  address: string | undefined;
  expires: number;
}

/** A resolver with positive and negative caching; a failed re-resolution keeps the last good address. */
export class CachingHostResolver implements HostResolver {
  private readonly cache = new Map<string, Entry>();
  private readonly resolve: (host: string) => Promise<string>;
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly concurrency: number;

  constructor(opts: CachingResolverOptions = {}) {
    this.resolve = opts.resolve ?? (async (h) => (await dnsLookup(h, { verbatim: true })).address);
    this.clock = opts.clock ?? systemClock;
    this.ttlMs = opts.ttlMs ?? 300_000;
    this.negativeTtlMs = opts.negativeTtlMs ?? 10_000;
    this.concurrency = opts.concurrency ?? 8;
  }

  async prime(hosts: Iterable<string>): Promise<void> {
    const now = this.clock.now();
    const todo = [...new Set(hosts)].filter((h) => (this.cache.get(h)?.expires ?? 0) <= now);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < todo.length) {
        const host = todo[next++];
        const prev = this.cache.get(host);
        try {
          const address = await this.resolve(host);
          this.cache.set(host, { address, expires: this.clock.now() + this.ttlMs });
        } catch {
          this.cache.set(host, { address: prev?.address, expires: this.clock.now() + this.negativeTtlMs });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, todo.length) }, worker));
  }

  lookup(host: string): string | undefined {
    return this.cache.get(host)?.address;
  }
}

/** A fixed table, for tests and the simulator (whose agents are named). */
export class StaticHostResolver implements HostResolver {
  constructor(private readonly table: Record<string, string> = {}) {}
  async prime(): Promise<void> {}
  lookup(host: string): string | undefined {
    return this.table[host];
  }
}
