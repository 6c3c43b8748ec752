/**
 * Client addresses that proved they are real by completing a DNS query over TCP (a spoofed source
 * cannot finish a TCP handshake). Such a client may get UDP answers larger than the amplification
 * limit. Bounded: at most `max` addresses, each for `ttlMs` after its last TCP query; when full,
 * the address verified longest ago goes first.
 *
 * Weaker than DNS cookies (RFC 7873): the proof is per address, not per packet, so a packet spoofed
 * with a verified address gets the full answer too (still under the rate limit).
 */
export class VerifiedClients {
  /** address → expiry (ms); Map order is refresh order, oldest first. */
  private readonly until = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
  ) {}

  /** Records a TCP query from `address` at `nowMs`. */
  add(address: string, nowMs: number): void {
    if (this.max <= 0) return;
    this.until.delete(address);
    this.until.set(address, nowMs + this.ttlMs);
    if (this.until.size > this.max) {
      for (const oldest of this.until.keys()) {
        this.until.delete(oldest);
        break;
      }
    }
  }

  /** True when `address` completed a TCP query within the last `ttlMs`. */
  has(address: string, nowMs: number): boolean {
    if (this.until.size === 0) return false;
    const t = this.until.get(address);
    if (t === undefined) return false;
    if (t >= nowMs) return true;
    this.until.delete(address);
    return false;
  }

  get size(): number {
    return this.until.size;
  }
}
