/**
 * The served name tables of a DNS index, resolved from who claims each name (`claims.ts`), so that
 * one app's names can be replaced in place without looking at any other app (docs/dns.md "Following the registry": an index patch costs
 * the changed apps, not the catalog).
 *
 * The served node of a name follows from its claims in order of precedence (app names, then PTR
 * records, then being the parent of other names), with the zone's SOA and NS added at an apex.
 * Claims only mark names dirty; `flush` resolves the dirty names, so callers decide which changes
 * a query may see together.
 */
import { Apexes } from './apex';
import { Claim, NameClaims, type Entry } from './claims';
import { Arena, encodeSoaTail, type SoaData } from './encoder';
import type { Fragment } from './fragment';
import { encodeNode, ent, type GlueSource, type NameNode } from './node';
import { NodeBatch } from './ptr';
import { mergeRecords, type NameRecords } from './records';
import { nameKey, wireLength } from './wire';

export interface ZoneInfo {
  name: string;
  /** Wire length of the apex name (for the authority pointer into the question). */
  nameLength: number;
  /** SOA bytes after the owner name, for NXDOMAIN/NODATA authority sections. */
  soaTail: Buffer;
  /** The SOA those bytes encode (zone transfers write it whole). */
  soa: SoaData;
}

export interface TablesOptions {
  /** Zones served whatever the registry holds (configured zones and pool reverse zones), dotted. */
  baseZones: ReadonlySet<string>;
  defaultEnv: string;
  nsName: string;
  /** Addresses of `nsName` when it lies inside a served zone (NS glue). */
  nsGlue: string[];
  /** Zone of `nsName`, or null when outside every zone. */
  nsZone: string | null;
  rname: string;
  ttl: number;
}

/** Served tables plus the claims behind them. Not safe to share between two indexes being built. */
export class NameTables {
  /** env → name key → node: what queries read. Mutated in place by `flush`. */
  readonly envs = new Map<string, Map<string, NameNode>>();
  /** Zones by name key: what queries read. */
  readonly zones = new Map<string, ZoneInfo>();
  private readonly claims: NameClaims;
  /** Apex name key → dotted zone (base zones and the own zones of addresses outside every pool). */
  private readonly apexes = new Map<string, string>();
  /** Envs holding a PTR set at an address's own zone, by zone key. */
  private readonly ownZones = new Map<string, number>();
  private readonly nsKey: string;
  private soa: SoaData;
  private soaTail: Buffer;
  private readonly apexNodes: Apexes;
  /** During the first flush: the small PTR nodes, encoded into one buffer. */
  private batch: NodeBatch | null = null;

  constructor(
    private readonly o: TablesOptions,
    serial: number,
  ) {
    this.claims = new NameClaims(o.defaultEnv, (key, zone, delta) => this.ownZone(key, zone, delta));
    this.nsKey = nameKey(o.nsName);
    this.apexNodes = new Apexes(o);
    this.soa = this.soaData(serial);
    this.soaTail = encodeSoaTail(o.ttl, this.soa);
    this.table(o.defaultEnv);
    for (const z of o.baseZones) this.addZone(z);
    this.claims.mark(o.defaultEnv, this.nsKey); // its glue node, unless an app claims the name
  }

  get serial(): number {
    return this.soa.serial;
  }

  get defaultEnv(): string {
    return this.o.defaultEnv;
  }

  get fragmentCount(): number {
    return this.claims.fragmentCount;
  }

  fragment(env: string, key: string): Fragment | undefined {
    return this.claims.fragment(env, key);
  }

  /** Environments the service (by `serviceKey`) has names in (one, except in hand-made catalogs). */
  envsOf(key: string): readonly string[] {
    return this.claims.envsOf(key);
  }

  /** Names across environments. */
  get names(): number {
    let n = 0;
    for (const t of this.envs.values()) n += t.size;
    return n;
  }

  /** Apps' domains outside every zone and values that failed validation. */
  skipped(): string[] {
    return this.claims.skipped();
  }

  /** Replaces the app's names in the fragment's environment. */
  put(f: Fragment): void {
    this.claims.put(f);
  }

  /** Removes the app's names in `env`. */
  remove(env: string, key: string): void {
    this.claims.remove(env, key);
  }

  /** A new SOA serial: every apex is re-encoded at the next `flush`. */
  setSerial(serial: number): void {
    if (serial === this.soa.serial) return;
    this.soa = this.soaData(serial);
    this.soaTail = encodeSoaTail(this.o.ttl, this.soa);
    for (const z of this.zones.values()) {
      z.soaTail = this.soaTail;
      z.soa = this.soa;
    }
    for (const key of this.apexes.keys()) this.claims.markApex(key);
  }

  /**
   * Resolves every dirty name; yields every `every` names so a big flush can be sliced (a query
   * between two slices may then see part of it). Returns how many served nodes changed.
   */
  *flush(every = Infinity): Generator<void, number> {
    let changed = 0;
    let n = 0;
    if (this.claims.bulk) {
      // Every name is new: resolved in the order marking each would give (each environment's
      // claims; then, in the default one, the apexes and the NS name nothing claims).
      this.claims.endBulk();
      this.batch = new NodeBatch();
      const def = this.o.defaultEnv;
      const defClaims = this.claims.of(def);
      const rest = [...this.apexes.keys()].filter((k) => !defClaims.has(k));
      if (!defClaims.has(this.nsKey) && !this.apexes.has(this.nsKey)) rest.push(this.nsKey);
      for (const [env, claims] of this.claims.byEnv) {
        const t = this.table(env);
        for (const [key, c] of claims) {
          if (++n % every === 0) yield;
          if (this.resolve(env, key, t, claims, c)) changed++;
        }
        if (env !== def) continue;
        for (const key of rest) {
          if (++n % every === 0) yield;
          if (this.resolve(env, key, t, claims)) changed++;
        }
      }
      this.batch.seal();
      this.batch = null;
    }
    const dirty = this.claims.dirty;
    for (const [env, keys] of dirty) {
      const t = this.table(env);
      const claims = this.claims.of(env);
      for (const key of keys) {
        if (++n % every === 0) yield;
        if (this.resolve(env, key, t, claims)) changed++;
      }
    }
    dirty.clear();
    return changed;
  }

  /** `flush` in one go: the changes since the last flush become visible together. */
  flushNow(): number {
    const steps = this.flush();
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
    }
  }

  // ---------------------------------------------------------------- zones

  /** An address outside every pool is a zone of its own while some environment has a PTR there. */
  private ownZone(key: string, zone: string, delta: number): void {
    const n = (this.ownZones.get(key) ?? 0) + delta;
    if (n > 0) this.ownZones.set(key, n);
    else this.ownZones.delete(key);
    if (n === 1 && delta > 0) this.addZone(zone);
    if (n === 0) {
      this.apexes.delete(key);
      this.zones.delete(key);
      this.claims.markApex(key);
      this.apexNodes.forgetZone(key);
    }
  }

  private addZone(zone: string): void {
    const key = nameKey(zone);
    if (this.apexes.has(key)) return;
    this.apexes.set(key, zone);
    this.zones.set(key, { name: zone, nameLength: wireLength(zone), soaTail: this.soaTail, soa: this.soa });
    this.claims.markApex(key);
  }

  // ---------------------------------------------------------------- resolution

  /** Sets the served node of one name from its claims (`c`, when the caller holds it); true when it changed. */
  private resolve(env: string, key: string, t: Map<string, NameNode>, claims: Map<string, Entry>, c = claims.get(key)): boolean {
    let node: NameNode | undefined;
    if (c && !(c instanceof Claim)) node = c.node;
    else if (c) {
      if (c.names.length === 1) node = c.names[0].node;
      else if (c.names.length > 1) node = this.merged(env, c);
      else if (c.ptr && c.ptr.size > 0) node = c.ptr.encoded(this.o.nsName, this.o.ttl, this.batch);
      else if (c.ents > 0) node = ent(c.zone);
      else claims.delete(key);
    }
    const apex = this.apexes.get(key);
    if (apex !== undefined && (node || env === this.o.defaultEnv)) node = this.apexNodes.node(env, key, apex, node, this.soa);
    else if (apex !== undefined)
      this.apexNodes.forget(env, key); // nothing left at this apex in this env
    else if (!node && key === this.nsKey && env === this.o.defaultEnv) node = this.apexNodes.nsGlueNode();
    const before = t.get(key);
    if (node === before) return false;
    if (node) t.set(key, node);
    else t.delete(key);
    return true;
  }

  /** Two apps claiming one name: their records answered together. */
  private merged(env: string, c: Claim): NameNode {
    const first = c.names[0];
    const recs: NameRecords = { ...first.recs, a: first.recs.a?.slice(), aaaa: first.recs.aaaa?.slice(), ptr: first.recs.ptr?.slice() };
    for (let i = 1; i < c.names.length; i++) mergeRecords(recs, c.names[i].recs);
    const a = new Arena();
    const node = encodeNode(a, first.name, recs, recs.zone, null, this.o.nsName, this.glue(env), this.o.ttl);
    node.buf = a.seal();
    return node;
  }

  /** SRV glue of a merged name: the records the target's own claims give it. */
  private glue(env: string): GlueSource {
    const claims = this.claims.of(env);
    return {
      get(name: string): NameRecords | undefined {
        const c = claims.get(nameKey(name));
        if (c && !(c instanceof Claim)) return c.recs;
        if (!c || c.names.length === 0) return undefined;
        if (c.names.length === 1) return c.names[0].recs;
        const recs: NameRecords = { zone: c.zone };
        for (const n of c.names) mergeRecords(recs, n.recs);
        return recs;
      },
    };
  }

  // ---------------------------------------------------------------- plumbing

  private table(env: string): Map<string, NameNode> {
    let t = this.envs.get(env);
    if (!t) this.envs.set(env, (t = new Map()));
    return t;
  }

  private soaData(serial: number): SoaData {
    return { mname: this.o.nsName, rname: this.o.rname, serial, refresh: 3600, retry: 600, expire: 86400, minimum: this.o.ttl };
  }
}
