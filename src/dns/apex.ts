/**
 * Zone apexes and the NS name's glue: the nodes the index adds on top of what apps claim. An apex
 * answers SOA and NS (encoded here) plus whatever an app or a PTR set has at that name; the NS
 * name, when it lies inside a served zone, answers its configured addresses unless an app claims it.
 */
import { Arena, type Encoded, type SoaData } from './encoder';
import { encodeNode, type GlueSource, type NameNode } from './node';
import type { NameRecords } from './records';

export interface ApexOptions {
  nsName: string;
  /** Addresses of `nsName` when it lies inside a served zone (NS glue). */
  nsGlue: string[];
  /** Zone of `nsName`, or null when outside every zone. */
  nsZone: string | null;
  ttl: number;
}

const EMPTY = new Map<string, NameRecords>();

/** The apex nodes of one set of tables, cached per environment until the serial or the node below changes. */
export class Apexes {
  /** env → key → the apex node and what it was encoded from. */
  private readonly cache = new Map<string, Map<string, { serial: number; from: NameNode | undefined; node: NameNode }>>();
  private glueNode: NameNode | null = null;

  constructor(private readonly o: ApexOptions) {}

  /** The apex node of `zone` (dotted; `key` its name key) in `env` over `from`, what apps have there. */
  node(env: string, key: string, zone: string, from: NameNode | undefined, soa: SoaData): NameNode {
    let cache = this.cache.get(env);
    if (!cache) this.cache.set(env, (cache = new Map()));
    const hit = cache.get(key);
    if (hit && hit.serial === soa.serial && hit.from === from) return hit.node;
    const node = withApex(zone, from, soa, this.o.nsName, this.nsRecs(), this.o.ttl);
    cache.set(key, { serial: soa.serial, from, node });
    return node;
  }

  /** Nothing is left at this apex in `env`. */
  forget(env: string, key: string): void {
    this.cache.get(env)?.delete(key);
  }

  /** The zone is gone (an address's own zone comes and goes with its tasks): its apex nodes too. */
  forgetZone(key: string): void {
    for (const cache of this.cache.values()) cache.delete(key);
  }

  /** The NS name's own A/AAAA (default env), unless an app claims that name. */
  nsGlueNode(): NameNode | undefined {
    const { nsGlue, nsZone, nsName, ttl } = this.o;
    if (nsGlue.length === 0 || nsZone === null) return undefined;
    if (!this.glueNode) {
      const a = new Arena();
      this.glueNode = encodeNode(a, nsName, this.nsRecs().get(nsName)!, nsZone, null, nsName, EMPTY, ttl);
      this.glueNode.buf = a.seal();
    }
    return this.glueNode;
  }

  private nsRecs(): Map<string, NameRecords> {
    const { nsGlue: glue, nsZone, nsName } = this.o;
    if (glue.length === 0 || nsZone === null) return EMPTY;
    return new Map([[nsName, { zone: nsZone, a: glue.filter((x) => !x.includes(':')), aaaa: glue.filter((x) => x.includes(':')) }]]);
  }
}

/**
 * An apex: SOA and NS encoded here; the records an app (or a PTR set) has at that name are reused
 * as they are encoded, read through on first use (the apex of an address's own zone may hold a lazily
 * encoded PTR set of thousands of apps, and the serial moves every second). ANY, the one answer that
 * needs them all in one body, is encoded on the first ANY question.
 */
function withApex(zone: string, from: NameNode | undefined, soa: SoaData, nsName: string, glue: GlueSource, ttl: number): NameNode {
  const a = new Arena();
  const own = encodeNode(a, zone, { zone }, zone, soa, nsName, glue, ttl);
  own.buf = a.seal();
  if (!from?.defined) return own;
  return new ApexNode(own, zone, from, soa, nsName, glue, ttl);
}

/**
 * An apex over another node's records. Its read-through fields are getters on the prototype: every
 * served address outside the pools is an apex of its own zone, and per-instance accessors (a
 * closure, context and accessor pair per field) cost ~1.5 KB each, a fifth of an index's heap.
 */
const UNSET = Symbol('unset');

class ApexNode implements NameNode {
  readonly zone: string;
  readonly defined = true;
  readonly buf: Buffer | undefined;
  readonly soa: Encoded | undefined;
  readonly ns: Encoded | undefined;
  /** Read-through values, computed on first use (`UNSET` until then). */
  private cache: { src: unknown; a: unknown; aaaa: unknown; srv: unknown; ptr: unknown; any: unknown } | null = null;

  constructor(
    own: NameNode,
    private readonly name: string,
    private readonly from: NameNode,
    private readonly soaData: SoaData,
    private readonly nsName: string,
    private readonly glue: GlueSource,
    private readonly ttl: number,
  ) {
    this.zone = own.zone;
    this.buf = own.buf;
    this.soa = own.soa;
    this.ns = own.ns;
  }

  get src(): NameNode['src'] {
    return this.once('src', () => ({ name: this.name, recs: this.from.src!.recs }));
  }
  get a(): Encoded | undefined {
    return this.borrowed('a');
  }
  get aaaa(): Encoded | undefined {
    return this.borrowed('aaaa');
  }
  get srv(): Encoded | undefined {
    return this.borrowed('srv');
  }
  get ptr(): Encoded | undefined {
    return this.borrowed('ptr');
  }
  get any(): Encoded | undefined {
    return this.once('any', () => {
      const b = new Arena();
      const full = encodeNode(b, this.name, this.from.src!.recs, this.name, this.soaData, this.nsName, this.glue, this.ttl);
      const buf = b.seal();
      return full.any && { ...full.any, buf, lean: full.any.lean && { ...full.any.lean, buf } };
    });
  }

  /** The other node's answer, pointing at that node's bytes. */
  private borrowed(f: 'a' | 'aaaa' | 'srv' | 'ptr'): Encoded | undefined {
    return this.once(f, () => {
      const e = this.from[f];
      const buf = this.from.buf;
      return e && { ...e, buf: e.buf ?? buf, lean: e.lean && { ...e.lean, buf: e.lean.buf ?? buf } };
    });
  }

  private once<T>(field: 'src' | 'a' | 'aaaa' | 'srv' | 'ptr' | 'any', make: () => T): T {
    const c = (this.cache ??= { src: UNSET, a: UNSET, aaaa: UNSET, srv: UNSET, ptr: UNSET, any: UNSET });
    if (c[field] === UNSET) c[field] = make();
    return c[field] as T;
  }
}
