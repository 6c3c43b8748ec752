/**
 * Response rate limiting for UDP, in the style of BIND and NSD RRL: a token bucket per client
 * prefix (/24 for IPv4, /56 for IPv6) and response class, refilled at `responsesPerSecond`. A
 * response over the limit is dropped, except every `slip`-th one, which goes out truncated (TC=1)
 * so a real client behind that prefix retries over TCP, where a spoofed source cannot follow.
 *
 * O(1) per packet and bounded: a fixed table of typed arrays, two candidate slots per key, the
 * least recently used of the two replaced on a miss. No allocation on the query path.
 */

/** What to do with one response. */
export const RRL_SEND = 0;
export const RRL_DROP = 1;
export const RRL_SLIP = 2;
export type RrlAction = typeof RRL_SEND | typeof RRL_DROP | typeof RRL_SLIP;

/** Response classes, each with its own bucket (an NXDOMAIN flood does not starve real answers). */
export const CLASS_ANSWER = 0;
export const CLASS_NEGATIVE = 1; // NXDOMAIN and NODATA
export const CLASS_ERROR = 2; // FORMERR, SERVFAIL, NOTIMP, REFUSED, BADVERS
export const RRL_CLASSES = ['answer', 'negative', 'error'] as const;

export interface RrlOptions {
  /** Responses per second per prefix and class; 0 turns rate limiting off. */
  responsesPerSecond: number;
  /** A prefix over its limit stays limited until its average over this many seconds is back under it. */
  windowSeconds: number;
  /** Every `slip`-th limited response is sent truncated instead of dropped; 0: drop them all. */
  slip: number;
  /** Table slots (a power of two); prefixes beyond it share slots and evict each other. */
  tableSize?: number;
}

/** The class of a reply from its header: RCODE and answer count (a truncated answer is still an answer). */
export function responseClass(reply: Buffer): number {
  const rcode = reply[3] & 0x0f;
  if (rcode === 0) return reply[6] === 0 && reply[7] === 0 && (reply[2] & 0x02) === 0 ? CLASS_NEGATIVE : CLASS_ANSWER;
  return rcode === 3 ? CLASS_NEGATIVE : CLASS_ERROR;
}

export class ResponseRateLimiter {
  private readonly k0: Uint32Array;
  private readonly k1: Uint32Array;
  /** Tokens left (negative: debt, down to -rate × window). */
  private readonly balance: Float64Array;
  /** When the slot was last charged (ms); 0: never used. */
  private readonly last: Float64Array;
  /** Limited responses in the current episode, for the slip count. */
  private readonly limited: Uint32Array;
  private readonly mask: number;
  private readonly rate: number;
  private readonly floor: number;
  private readonly slip: number;
  /** The prefix of the last address parsed (scratch, so parsing allocates nothing). */
  private p0 = 0;
  private p1 = 0;
  private readonly groups = new Uint16Array(8);

  constructor(opts: RrlOptions) {
    const size = opts.tableSize ?? 16384;
    if (size < 2 || (size & (size - 1)) !== 0) throw new Error('rrl: tableSize must be a power of two');
    this.k0 = new Uint32Array(size);
    this.k1 = new Uint32Array(size);
    this.balance = new Float64Array(size);
    this.last = new Float64Array(size);
    this.limited = new Uint32Array(size);
    this.mask = size - 1;
    this.rate = opts.responsesPerSecond;
    this.floor = -opts.responsesPerSecond * Math.max(opts.windowSeconds - 1, 0);
    this.slip = opts.slip;
  }

  get enabled(): boolean {
    return this.rate > 0;
  }

  /** Charges one response of class `cls` to `address`'s prefix at `nowMs` (monotonic); says what to do with it. */
  check(address: string, cls: number, nowMs: number): RrlAction {
    if (this.rate <= 0) return RRL_SEND;
    this.prefix(address);
    const k0 = this.p0,
      k1 = (this.p1 | cls) >>> 0;
    const h = (Math.imul(k0, 0x9e3779b1) ^ Math.imul(k1 ^ (k0 >>> 15), 0x85ebca77)) >>> 0;
    let i = (h ^ (h >>> 16)) & this.mask;
    const j = i ^ 1;
    if (this.last[i] === 0 || this.k0[i] !== k0 || this.k1[i] !== k1) {
      if (this.last[j] !== 0 && this.k0[j] === k0 && this.k1[j] === k1) i = j;
      else {
        // A miss: take the slot of the two used least recently; the newcomer starts with a full bucket.
        if (this.last[j] < this.last[i]) i = j;
        this.k0[i] = k0;
        this.k1[i] = k1;
        this.balance[i] = this.rate;
        this.last[i] = nowMs;
        this.limited[i] = 0;
      }
    }
    const elapsed = nowMs - this.last[i];
    let b = this.balance[i];
    if (elapsed > 0) b = Math.min(this.rate, b + (elapsed * this.rate) / 1000);
    this.last[i] = nowMs || 1;
    b -= 1;
    if (b >= 0) {
      this.balance[i] = b;
      this.limited[i] = 0;
      return RRL_SEND;
    }
    this.balance[i] = b < this.floor ? this.floor : b;
    const n = ++this.limited[i];
    return this.slip > 0 && n % this.slip === 0 ? RRL_SLIP : RRL_DROP;
  }

  /**
   * Sets (p0, p1) to the address's prefix: IPv4 /24 in p0 (p1 = 0), IPv6 /56 in p0 and the top 24
   * bits of p1 with a family bit; the low bits of p1 are left for the class. IPv4-mapped IPv6
   * addresses count as IPv4.
   */
  private prefix(a: string): void {
    // One pass for the common case, a dotted quad (possibly after "::ffff:"): the first three
    // octets, counted from the last ':'. indexOf/lastIndexOf cost more than the whole loop.
    let v = 0,
      o = 0,
      dots = 0;
    for (let k = 0; k < a.length; k++) {
      const c = a.charCodeAt(k);
      if (c === 0x2e) {
        v = v * 256 + (o & 0xff);
        o = 0;
        if (++dots === 3) {
          this.p0 = v >>> 0;
          this.p1 = 0;
          return;
        }
      } else if (c === 0x3a) {
        v = 0;
        o = 0;
        dots = 0;
      } else o = o * 10 + (c - 0x30);
    }
    this.prefix6(a);
  }

  /** IPv6: groups before "::" from the front, after it from the back. */
  private prefix6(a: string): void {
    const g = this.groups;
    g.fill(0);
    const gap = a.indexOf('::');
    const head = gap < 0 ? a.length : gap;
    let n = 0,
      v = 0,
      digits = 0;
    for (let k = 0; k <= head && n < 8; k++) {
      const c = k < head ? a.charCodeAt(k) : 0x3a;
      if (c === 0x3a) {
        if (digits > 0) g[n++] = v;
        v = 0;
        digits = 0;
      } else if (c === 0x25)
        break; // %zone
      else {
        v = v * 16 + hex(c);
        digits++;
      }
    }
    if (gap >= 0) {
      // Count the tail's groups first, then write them right-aligned.
      let end = a.indexOf('%', gap);
      if (end < 0) end = a.length;
      let count = 0;
      for (let k = gap + 2; k < end; k++) if (a.charCodeAt(k) === 0x3a) count++;
      if (end > gap + 2) count++;
      let pos = 8 - count;
      v = 0;
      digits = 0;
      for (let k = gap + 2; k <= end && pos < 8; k++) {
        const c = k < end ? a.charCodeAt(k) : 0x3a;
        if (c === 0x3a) {
          if (pos >= n) g[pos] = v;
          pos++;
          v = 0;
          digits = 0;
        } else {
          v = v * 16 + hex(c);
          digits++;
        }
      }
    }
    this.p0 = ((g[0] << 16) | g[1]) >>> 0;
    // /56: group 2 and the high byte of group 3, then the IPv6 family bit, then 2 bits of class.
    this.p1 = ((((g[2] << 8) | (g[3] >>> 8)) << 8) | 0x80) >>> 0;
  }
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : 0;
}
