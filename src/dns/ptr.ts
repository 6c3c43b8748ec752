/**
 * The PTR name of one address: the primary domains of every direct app serving it, kept sorted
 * and counted so that one app's tasks coming and going costs a binary search, not a re-sort.
 */
import { Arena } from './encoder';
import { inserted, removed } from './lists';
import { encodeNode, zoneKey, type NameNode } from './node';
import { wireLength } from './wire';

/**
 * Bytes of PTR records one answer may hold: a DNS message is at most 65,535 bytes (TCP), so an
 * address behind thousands of apps (a host-networked agent) could never be answered in full. The
 * first domains in sorted order that surely fit are encoded; the rest would only ever be truncated.
 */
const MAX_PTR_BYTES = 60_000;
/** Upper bound of one uncompressed PTR record beyond its name: owner pointer, type, class, TTL, length. */
const RECORD_OVERHEAD = 12;

const NO_GLUE = new Map();

/**
 * Sets up to this many domains are encoded at once; bigger ones (an agent's address behind
 * hundreds of host-networked apps) on the first question for them: with apps coming and going
 * every few ms such a set would otherwise be re-encoded at every change and hardly ever asked for.
 */
const EAGER_MAX = 32;

/** Lists longer than this grow in place (amortized); shorter ones are copied at exact size. */
const EXACT_MAX = 16;

/**
 * Small PTR nodes encoded into one shared buffer (a full build's flush: one Buffer instead of one
 * per address). A node's `buf` is set when the batch is sealed. The buffer lives while any node in
 * it is served: a node replaced by a later patch leaves its bytes there until the next full build
 * (tens of bytes per address, against ~200 bytes of Buffer bookkeeping per address saved).
 */
export class NodeBatch {
  readonly arena = new Arena(65536);
  private readonly nodes: NameNode[] = [];

  add(node: NameNode): void {
    this.nodes.push(node);
  }

  seal(): void {
    const buf = this.arena.seal();
    for (const n of this.nodes) n.buf = buf;
  }
}

/** Who stands behind one reverse name in one environment. */
export class PtrSet {
  /** Distinct domains, sorted. */
  private sorted: string[] = [];
  /**
   * Claims beyond the first, by domain: (app, address) pairs behind one domain. Almost every
   * domain has one, so there is no map until some domain has two.
   */
  private extra: Map<string, number> | null = null;
  private node: NameNode | null = null;
  /** How many of `sorted` the encoded node holds (the rest did not fit); Infinity until encoded. */
  private cut = Infinity;

  constructor(
    readonly rev: string,
    readonly zone: string,
  ) {}

  get size(): number {
    return this.sorted.length;
  }

  /** Adds one claim of `domain`; true when the encoded answer must change. */
  add(domain: string): boolean {
    const i = lowerBound(this.sorted, domain);
    if (this.sorted[i] === domain) {
      const extra = (this.extra ??= new Map());
      extra.set(domain, (extra.get(domain) ?? 0) + 1);
      return false;
    }
    if (this.sorted.length < EXACT_MAX) this.sorted = inserted(this.sorted, i, domain);
    else this.sorted.splice(i, 0, domain);
    return this.touched(i, this.sorted.length - 1);
  }

  /** Drops one claim of `domain`; true when the encoded answer must change. */
  remove(domain: string): boolean {
    const i = lowerBound(this.sorted, domain);
    if (this.sorted[i] !== domain) return false;
    const more = this.extra?.get(domain);
    if (more !== undefined) {
      if (more > 1) this.extra!.set(domain, more - 1);
      else if (this.extra!.delete(domain) && this.extra!.size === 0) this.extra = null;
      return false;
    }
    if (this.sorted.length <= EXACT_MAX) this.sorted = removed(this.sorted, i);
    else this.sorted.splice(i, 1);
    return this.touched(i, this.sorted.length + 1);
  }

  /** The PTR node (cached until the encoded prefix changes). */
  encoded(nsName: string, ttl: number, batch: NodeBatch | null = null): NameNode {
    if (this.node) return this.node;
    this.cut = Infinity;
    if (this.sorted.length <= EAGER_MAX) {
      const { node, cut } = encodePtr(this.rev, this.zone, this.sorted, nsName, ttl, batch);
      this.cut = cut;
      return (this.node = node);
    }
    // Lazy: the node stands for the list as it is now. While it is the current node every change
    // replaces it (the cut is unknown), so the list it is realized from is still that list: no copy.
    // A replaced node is no longer served (the name is re-resolved in the same synchronous flush).
    let real: NameNode | null = null;
    const realize = (): NameNode => {
      if (!real) {
        const r = encodePtr(this.rev, this.zone, this.sorted, nsName, ttl);
        real = r.node;
        if (this.node === lazy) this.cut = r.cut;
      }
      return real;
    };
    const lazy: NameNode = { zone: zoneKey(this.zone), defined: true };
    for (const f of ['buf', 'src', 'ptr', 'any'] as const) Object.defineProperty(lazy, f, { enumerable: true, get: () => realize()[f] });
    return (this.node = lazy);
  }

  /**
   * A change at index `i` of a list that had `before` entries. Past the first domain that did not
   * fit (index `cut`) it is invisible: a fresh encoding would stop at the same place.
   */
  private touched(i: number, before: number): boolean {
    if (this.node && this.cut < before && i > this.cut) return false;
    this.node = null;
    return true;
  }
}

/** The first domains that surely fit in one message, encoded. */
function encodePtr(
  rev: string,
  zone: string,
  sorted: readonly string[],
  nsName: string,
  ttl: number,
  batch: NodeBatch | null = null,
): { node: NameNode; cut: number } {
  let bytes = 0;
  let cut = 0;
  for (; cut < sorted.length; cut++) {
    bytes += wireLength(sorted[cut]) + RECORD_OVERHEAD;
    if (bytes > MAX_PTR_BYTES) break;
  }
  const a = batch?.arena ?? new Arena();
  const node = encodeNode(a, rev, { zone, ptr: sorted.slice(0, cut) }, zone, null, nsName, NO_GLUE, ttl);
  if (batch) batch.add(node);
  else node.buf = a.seal();
  return { node, cut };
}

function lowerBound(list: readonly string[], v: string): number {
  let lo = 0,
    hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
