/**
 * The name tables of a DNS index, kept together with who claims each name, so that one app's
 * names can be replaced in place without looking at any other app (docs/dns.md "Following the registry": an index patch costs
 * the changed apps, not the catalog).
 *
 * A name in an environment can be claimed by app names (usually one app; two apps sharing a domain
 * are merged), by PTR records (the apps behind an address), and as the parent of other names (an
 * empty non-terminal). The served node follows from the claims in that order of precedence, with
 * the zone's SOA and NS added at an apex. `put`/`remove` only record claims and mark names dirty;
 * `flush` resolves the dirty names, so callers decide which changes a query may see together.
 */
import { serviceKey } from '../model/service-key';
import { Apexes } from './apex';
import { Arena, encodeSoaTail, type SoaData } from './encoder';
import { PARENT, PTR, type Fragment, type FragmentNode } from './fragment';
import { inserted, removed } from './lists';
import { encodeNode, ent, type GlueSource, type NameNode } from './node';
import { NodeBatch, PtrSet } from './ptr';
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

const NO_NAMES: readonly FragmentNode[] = Object.freeze([]);

/** Everything that claims one name in one environment. */
class Claim {
  /** App names, sorted by app id (the order a full catalog lists them in); exact size, replaced on change. */
  names: readonly FragmentNode[] = NO_NAMES;
  /** Apps for which this is a parent of one of their names. */
  ents = 0;
  ptr: PtrSet | null = null;

  constructor(readonly zone: string) {}
}

/**
 * What the claims table holds per name: the name of one app stands for its own claim (almost every
 * name: no Claim and no list for it); anything more (two apps, a parent, a PTR set) is a Claim.
 */
type Entry = Claim | FragmentNode;

/** Served tables plus the claims behind them. Not safe to share between two indexes being built. */
export class NameTables {
  /** env → name key → node: what queries read. Mutated in place by `flush`. */
  readonly envs = new Map<string, Map<string, NameNode>>();
  /** Zones by name key: what queries read. */
  readonly zones = new Map<string, ZoneInfo>();
  private readonly claims = new Map<string, Map<string, Entry>>();
  /** By `fragmentId`. */
  private readonly fragments = new Map<string, Fragment>();
  private readonly appEnvs = new Map<string, string[]>();
  /** Apex name key → dotted zone (base zones and the own zones of addresses outside every pool). */
  private readonly apexes = new Map<string, string>();
  /** Envs holding a PTR set at an address's own zone, by zone key. */
  private readonly ownZones = new Map<string, number>();
  private readonly dirty = new Map<string, Set<string>>();
  /** Until the first flush every name is dirty: a full build resolves them all without tracking each. */
  private bulk = true;
  private readonly nsKey: string;
  private soa: SoaData;
  private soaTail: Buffer;
  private readonly apexNodes: Apexes;
  /** During the first flush: the small PTR nodes, encoded into one buffer. */
  private batch: NodeBatch | null = null;
  private readonly skippedBy = new Map<string, string[]>();
  private skippedList: string[] | null = [];

  constructor(
    private readonly o: TablesOptions,
    serial: number,
  ) {
    this.nsKey = nameKey(o.nsName);
    this.apexNodes = new Apexes(o);
    this.soa = this.soaData(serial);
    this.soaTail = encodeSoaTail(o.ttl, this.soa);
    this.table(o.defaultEnv);
    for (const z of o.baseZones) this.addZone(z);
    this.mark(o.defaultEnv, this.nsKey); // its glue node, unless an app claims the name
  }

  get serial(): number {
    return this.soa.serial;
  }

  get defaultEnv(): string {
    return this.o.defaultEnv;
  }

  get fragmentCount(): number {
    return this.fragments.size;
  }

  fragment(env: string, key: string): Fragment | undefined {
    return this.fragments.get(fragmentId(env, key));
  }

  /** Environments the service (by `serviceKey`) has names in (one, except in hand-made catalogs). */
  envsOf(key: string): readonly string[] {
    return this.appEnvs.get(key) ?? [];
  }

  /** Names across environments. */
  get names(): number {
    let n = 0;
    for (const t of this.envs.values()) n += t.size;
    return n;
  }

  /** Apps' domains outside every zone and values that failed validation. */
  skipped(): string[] {
    if (this.skippedList === null) this.skippedList = [...this.skippedBy.values()].flat();
    return this.skippedList;
  }

  /** Replaces the app's names in the fragment's environment. */
  put(f: Fragment): void {
    const key = serviceKey(f.svc);
    const id = fragmentId(f.env, key);
    const old = this.fragments.get(id);
    if (!old) this.appEnvs.set(key, [...this.envsOf(key), f.env]);
    this.fragments.set(id, f);
    // New claims before dropping the old ones: a PTR or parent name the app keeps never looks
    // unclaimed for a moment (an address shared by thousands of apps is not re-encoded).
    this.claim(f, id);
    if (old) this.unclaim(old, id);
  }

  /** Removes the app's names in `env`. */
  remove(env: string, key: string): void {
    const id = fragmentId(env, key);
    const old = this.fragments.get(id);
    if (!old) return;
    this.fragments.delete(id);
    const envs = this.envsOf(key).filter((e) => e !== env);
    if (envs.length > 0) this.appEnvs.set(key, envs);
    else this.appEnvs.delete(key);
    this.unclaim(old, id);
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
    for (const key of this.apexes.keys()) this.markApex(key);
  }

  /**
   * Resolves every dirty name; yields every `every` names so a big flush can be sliced (a query
   * between two slices may then see part of it). Returns how many served nodes changed.
   */
  *flush(every = Infinity): Generator<void, number> {
    let changed = 0;
    let n = 0;
    if (this.bulk) {
      // Every name is new: resolved in the order marking each would give (each environment's
      // claims; then, in the default one, the apexes and the NS name nothing claims).
      this.bulk = false;
      this.batch = new NodeBatch();
      const def = this.o.defaultEnv;
      const defClaims = this.claimsOf(def);
      const rest = [...this.apexes.keys()].filter((k) => !defClaims.has(k));
      if (!defClaims.has(this.nsKey) && !this.apexes.has(this.nsKey)) rest.push(this.nsKey);
      for (const [env, claims] of this.claims) {
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
    for (const [env, keys] of this.dirty) {
      const t = this.table(env);
      const claims = this.claimsOf(env);
      for (const key of keys) {
        if (++n % every === 0) yield;
        if (this.resolve(env, key, t, claims)) changed++;
      }
    }
    this.dirty.clear();
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

  // ---------------------------------------------------------------- claims

  private claim(f: Fragment, id: string): void {
    const env = f.env;
    const claims = this.claimsOf(env);
    for (const n of f.nodes) {
      if (!claims.has(n.key)) claims.set(n.key, n);
      else {
        const c = claimAt(claims, n.key, n.recs.zone);
        c.names = insertByApp(c.names, n);
      }
      this.mark(env, n.key);
    }
    for (let i = 0; i < f.parents.length; i += PARENT) {
      const key = f.parents[i];
      const c = claimAt(claims, key, f.parents[i + 1]);
      if (c.ents++ === 0) this.mark(env, key);
    }
    for (let i = 0; i < f.ptrs.length; i += PTR) {
      const rev = f.ptrs[i],
        key = f.ptrs[i + 1],
        domain = f.ptrs[i + 2],
        zone = f.ptrs[i + 3];
      const c = claimAt(claims, key, zone);
      if (!c.ptr) c.ptr = new PtrSet(rev, zone);
      const first = c.ptr.size === 0;
      if (c.ptr.add(domain)) this.mark(env, key);
      if (first && zone === rev) this.ownZone(key, zone, 1);
    }
    if (f.skipped.length > 0) {
      this.skippedBy.set(id, f.skipped);
      this.skippedList = null;
    }
  }

  private unclaim(f: Fragment, id: string): void {
    const env = f.env;
    const claims = this.claimsOf(env);
    for (const n of f.nodes) {
      const c = claims.get(n.key);
      if (!c) continue;
      // An empty claim in its place, as a Claim left without names: `resolve` drops it.
      if (c === n) claims.set(n.key, new Claim(n.recs.zone));
      else if (c instanceof Claim) {
        const i = c.names.indexOf(n);
        if (i >= 0) c.names = c.names.length === 1 ? NO_NAMES : removed(c.names, i);
      }
      this.mark(env, n.key);
    }
    for (let i = 0; i < f.parents.length; i += PARENT) {
      const key = f.parents[i];
      const c = claims.get(key);
      if (c instanceof Claim && --c.ents === 0) this.mark(env, key);
    }
    for (let i = 0; i < f.ptrs.length; i += PTR) {
      const rev = f.ptrs[i],
        key = f.ptrs[i + 1],
        domain = f.ptrs[i + 2],
        zone = f.ptrs[i + 3];
      const c = claims.get(key);
      if (!(c instanceof Claim) || !c.ptr) continue;
      if (c.ptr.remove(domain)) this.mark(env, key);
      if (c.ptr.size > 0) continue;
      c.ptr = null;
      if (zone === rev) this.ownZone(key, zone, -1);
    }
    // Only its own entry: `put` claims the replacement before unclaiming this one.
    if (this.skippedBy.get(id) === f.skipped && this.skippedBy.delete(id)) this.skippedList = null;
  }

  /** An address outside every pool is a zone of its own while some environment has a PTR there. */
  private ownZone(key: string, zone: string, delta: number): void {
    const n = (this.ownZones.get(key) ?? 0) + delta;
    if (n > 0) this.ownZones.set(key, n);
    else this.ownZones.delete(key);
    if (n === 1 && delta > 0) this.addZone(zone);
    if (n === 0) {
      this.apexes.delete(key);
      this.zones.delete(key);
      this.markApex(key);
      this.apexNodes.forgetZone(key);
    }
  }

  private addZone(zone: string): void {
    const key = nameKey(zone);
    if (this.apexes.has(key)) return;
    this.apexes.set(key, zone);
    this.zones.set(key, { name: zone, nameLength: wireLength(zone), soaTail: this.soaTail, soa: this.soa });
    this.markApex(key);
  }

  /** An apex is served in the default env and wherever an env has something at that name. */
  private markApex(key: string): void {
    this.mark(this.o.defaultEnv, key);
    for (const [env, claims] of this.claims) if (claims.has(key)) this.mark(env, key);
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
    const claims = this.claimsOf(env);
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

  private mark(env: string, key: string): void {
    if (this.bulk) return;
    let s = this.dirty.get(env);
    if (!s) this.dirty.set(env, (s = new Set()));
    s.add(key);
  }

  private table(env: string): Map<string, NameNode> {
    let t = this.envs.get(env);
    if (!t) this.envs.set(env, (t = new Map()));
    return t;
  }

  private claimsOf(env: string): Map<string, Entry> {
    let c = this.claims.get(env);
    if (!c) this.claims.set(env, (c = new Map()));
    return c;
  }

  private soaData(serial: number): SoaData {
    return { mname: this.o.nsName, rname: this.o.rname, serial, refresh: 3600, retry: 600, expire: 86400, minimum: this.o.ttl };
  }
}

/** A flat string (joined, not a rope): the fragment maps keep it for as long as the app is unchanged. */
function fragmentId(env: string, key: string): string {
  return [env, key].join(' ');
}

/** The Claim of `key`, made (first claimant's zone) or grown from one app's name in place. */
function claimAt(claims: Map<string, Entry>, key: string, zone: string): Claim {
  const e = claims.get(key);
  if (e instanceof Claim) return e;
  const c = new Claim(e ? e.recs.zone : zone);
  if (e) c.names = [e];
  claims.set(key, c);
  return c;
}

/** `names` with `n`, ordered by app id, so merged answers list apps as a full build would. */
function insertByApp(names: readonly FragmentNode[], n: FragmentNode): readonly FragmentNode[] {
  let i = names.length;
  while (i > 0 && names[i - 1].appId > n.appId) i--;
  return inserted(names, i, n);
}
