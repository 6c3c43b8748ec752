import type { Service } from '../model/types';
import { hashSizesFor, type HashSizes } from './names-hash';
import { inSlices } from '../slices';

/** Longest server name Nginx accepts (a DNS name); longer values are invalid and never rendered. */
export const MAX_NAME = 253;

/**
 * The server names of the http services, counted from one run to the next for http.conf's hash
 * sizes (names-hash.ts), which depend on the longest name and the number of distinct names only.
 * A service object already counted costs a map lookup; only services that are new or gone since
 * the last run are looked into, so a run over 10,000 services does not rebuild a set of every name.
 */
export class NameCensus {
  private readonly counted = new Map<Service, { run: number }>();
  /** How many counted services carry each name. */
  private readonly refs = new Map<string, number>();
  /** Distinct names per length. */
  private readonly byLength = new Uint32Array(MAX_NAME + 1);
  private run = 0;

  /**
   * Counts the services `sizes` has not seen yet, in slices with the event loop free in between (a
   * first run meets 10,000 of them: tens of milliseconds in one piece); `sizes` then finds them counted.
   */
  async prepare(services: readonly Service[]): Promise<void> {
    await inSlices(services, (s) => {
      if (s.proxy !== 'http' || !Array.isArray(s.domains) || this.counted.has(s)) return;
      this.counted.set(s, { run: this.run });
      this.count(s, 1);
    });
  }

  /** Hash sizes for the names of `services` (proxy http) and `extra` names (of files kept from an older definition). */
  sizes(services: readonly Service[], extra: readonly string[]): HashSizes {
    const run = ++this.run;
    let seen = 0;
    for (const s of services) {
      if (s.proxy !== 'http' || !Array.isArray(s.domains)) continue;
      const known = this.counted.get(s);
      if (known) {
        if (known.run !== run) seen++;
        known.run = run;
        continue;
      }
      this.counted.set(s, { run });
      seen++;
      this.count(s, 1);
    }
    if (this.counted.size > seen)
      for (const [s, c] of this.counted)
        if (c.run !== run) {
          this.counted.delete(s);
          this.count(s, -1);
        }
    let longest = MAX_NAME;
    while (longest > 0 && this.byLength[longest] === 0) longest--;
    let unique = this.refs.size;
    const extras = new Set<string>();
    for (const n of extra)
      if (!this.refs.has(n) && !extras.has(n)) {
        extras.add(n);
        unique++;
        longest = Math.max(longest, n.length);
      }
    return hashSizesFor(longest, unique);
  }

  private count(s: Service, by: 1 | -1): void {
    // Only lengths and the count matter, so a length check stands in for full validation (which
    // costs more than the rest of this together); renderServices validates what reaches Nginx.
    // A name listed twice by one service counts once for it.
    for (const d of new Set(s.domains))
      if (typeof d === 'string' && d.length <= MAX_NAME) {
        const n = (this.refs.get(d) ?? 0) + by;
        if (n === 0) {
          this.refs.delete(d);
          this.byLength[d.length]--;
        } else {
          if (n === 1 && by === 1) this.byLength[d.length]++;
          this.refs.set(d, n);
        }
      }
  }
}
