/**
 * The DNS index: immutable per-environment name tables with every answer pre-encoded, built off to
 * the side from a registry snapshot and swapped whole by the server. Pure.
 *
 * Builds are incremental underneath: each service's names are encoded once into a fragment that is
 * reused while the service is unchanged, so a change to one app among 10,000 costs a re-encode of
 * that app plus assembling the tables, not a re-encode of everything.
 */
import type { EnvironmentConfig, Service } from '../model/types';
import { buildFragment, glueTable, safeEnvs, sameList, sameService, type Fragment } from './fragment';
import { encodeNode, ent, parentsOf, type NameNode } from './node';
import { mergeRecords, type NameRecords } from './records';
import { reverseZones } from './reverse';
import { Arena, encodeSoaTail, type SoaData } from './encoder';
import { checkName, nameKey, wireLength } from './wire';

export type { NameNode } from './node';

export interface ZoneInfo {
  name: string;
  /** Wire length of the apex name (for the authority pointer into the question). */
  nameLength: number;
  /** SOA bytes after the owner name, for NXDOMAIN/NODATA authority sections. */
  soaTail: Buffer;
}

export interface DnsIndex {
  /** False until the registry has been loaded once: in-zone questions get SERVFAIL. */
  loaded: boolean;
  position: number;
  serial: number;
  /** Zones by name key. */
  zones: Map<string, ZoneInfo>;
  /** env → name key → node. */
  envs: Map<string, Map<string, NameNode>>;
  defaultEnv: string;
  names: number;
  skipped: string[];
}

export interface IndexOptions {
  zones: string[];
  reverseNetworks: string[];
  ttl: number;
  environments: Record<string, EnvironmentConfig>;
  defaultEnv: string;
  /** NS target and SOA MNAME; default `ns.<first zone>`. */
  nsName?: string;
  /** Addresses for `nsName` when it lies inside a served zone. */
  nsAddresses?: string[];
}

export interface IndexMeta { loaded: boolean; position: number; serial: number }

type PtrEntry = { domains: string[]; node: NameNode; parents: Array<[string, string]> };

/** Builds indexes for successive snapshots, reusing the encoding of unchanged services. */
export class IndexBuilder {
  private fragments = new Map<string, Fragment>();
  private ptrNodes = new Map<string, Map<string, PtrEntry>>();
  private readonly baseZones: Set<string>;
  private last: DnsIndex | null = null;
  private readonly nsName: string;

  constructor(private readonly opts: IndexOptions) {
    this.nsName = (opts.nsName ?? `ns.${opts.zones[0]}`).toLowerCase();
    // Fail at construction, not on every build: these names go into every SOA and NS record.
    for (const n of [this.nsName, ...opts.zones]) checkName(n);
    this.baseZones = new Set(opts.zones.map((z) => z.toLowerCase()));
    for (const cidr of opts.reverseNetworks) for (const z of reverseZones(cidr)) this.baseZones.add(z);
  }

  /** The build, yielding every few hundred items so the caller can run it in slices between queries. */
  *build(services: readonly Service[], meta: IndexMeta): Generator<void, DnsIndex> {
    const { opts, nsName } = this;
    const zoneNames = new Set(this.baseZones);
    const soa: SoaData = { mname: nsName, rname: `hostmaster.${opts.zones[0]}`, serial: meta.serial, refresh: 3600, retry: 600, expire: 86400, minimum: opts.ttl };

    // 1. One fragment per service, from the cache when the service is unchanged.
    const fragments = new Map<string, Fragment>();
    let count = 0;
    let changed = this.last === null || this.last.loaded !== meta.loaded;
    for (const svc of meta.loaded ? services : []) {
      if ((++count & 127) === 0) yield;
      const id = `${svc.env} ${svc.appId}`;
      const old = fragments.get(id) ?? this.fragments.get(id);
      const reuse = old !== undefined && sameService(old.svc, svc);
      changed ||= !reuse;
      fragments.set(id, reuse ? old : buildFragment(svc, { zoneOf: (n) => this.zoneOf(n, this.baseZones), environments: opts.environments, nsName, ttl: opts.ttl }));
    }
    changed ||= fragments.size !== this.fragments.size;
    this.fragments = fragments;
    // Nothing DNS-visible changed (e.g. a new app version with the same tasks): same tables, same serial.
    if (!changed && this.last) return (this.last = { ...this.last, position: meta.position });

    // 2. Assemble the tables; a name claimed twice is merged and re-encoded.
    const tables = new Map<string, Map<string, NameNode>>([[opts.defaultEnv, new Map()]]);
    const table = (env: string) => { let t = tables.get(env); if (!t) tables.set(env, (t = new Map())); return t; };
    const arena = new Arena(4096);
    const late: Array<[Map<string, NameNode>, string, () => NameNode]> = [];
    const skipped: string[] = [];
    // Two apps can claim one name only if a domain repeats in an env, or a domain looks like a derived
    // name (first label `t-…` or `_…`). Envs without either skip the per-name lookup: with 100k names
    // the lookups are a third of a rebuild.
    const safe = safeEnvs(fragments.values());
    for (const f of fragments.values()) {
      if (!safe.has(f.env)) continue;
      const t = table(f.env);
      for (const [k, z] of f.parents) t.set(k, ent(z)); // first, so real names overwrite them below
    }
    for (const f of fragments.values()) {
      if ((++count & 127) === 0) yield;
      const t = table(f.env);
      skipped.push(...f.skipped);
      if (safe.has(f.env)) {
        for (const n of f.nodes) t.set(n.key, n.node);
        continue;
      }
      for (const n of f.nodes) {
        const seen = t.get(n.key);
        if (!seen) { t.set(n.key, n.node); continue; }
        // Copy before merging: the fragment's records are cached for the next build.
        const recs: NameRecords = { ...seen.src!.recs, a: seen.src!.recs.a?.slice(), aaaa: seen.src!.recs.aaaa?.slice(), ptr: seen.src!.recs.ptr?.slice() };
        mergeRecords(recs, n.recs);
        const merged: NameNode = { zone: seen.zone, defined: true, src: { name: n.name, recs } };
        t.set(n.key, merged);
        late.push([t, n.key, () => encodeNode(arena, n.name, recs, recs.zone, null, nsName, glueTable(t), opts.ttl)]);
      }
    }

    // 3. PTR names per environment, reused while the same domains stand behind an address.
    const ptrNodes = new Map<string, Map<string, PtrEntry>>();
    const byRev = new Map<string, Map<string, { rev: string; zone: string; domains: string[] }>>();
    for (const f of fragments.values()) {
      let m = byRev.get(f.env);
      for (const [rev, revKey, domain, zone] of f.ptrs) {
        if (!m) byRev.set(f.env, (m = new Map()));
        const e = m.get(revKey);
        if (!e) m.set(revKey, { rev, zone, domains: [domain] });
        else if (!e.domains.includes(domain)) e.domains.push(domain);
      }
    }
    const ptrApart = opts.zones.every((z) => !z.endsWith('arpa'));
    for (const [env, m] of byRev) {
      const t = table(env);
      const cached = this.ptrNodes.get(env);
      const kept = new Map<string, PtrEntry>();
      ptrNodes.set(env, kept);
      for (const [revKey, { rev, zone, domains }] of m) {
        if ((++count & 255) === 0) yield;
        if (zone === rev) zoneNames.add(zone); // an address outside every pool: a zone of its own
        if (domains.length > 1) domains.sort();
        let p = cached?.get(revKey);
        if (!p || !sameList(p.domains, domains)) {
          const a = new Arena();
          const node = encodeNode(a, rev, { zone, ptr: domains }, zone, null, nsName, new Map(), opts.ttl);
          node.buf = a.seal();
          p = { domains, node, parents: parentsOf(rev, zone) };
        }
        kept.set(revKey, p);
        if (ptrApart) {
          // Reverse names never meet forward names here, and no reverse name is another's parent.
          t.set(revKey, p.node);
          for (const [k, z] of p.parents) t.set(k, ent(z));
        } else {
          if (!t.has(revKey)) t.set(revKey, p.node);
          for (const [k, z] of p.parents) if (!t.has(k)) t.set(k, ent(z));
        }
      }
    }
    this.ptrNodes = ptrNodes;

    // 4. Apexes (SOA, NS) in the default env and wherever an env defines an apex name; the NS name.
    const nsZone = this.zoneOf(nsName, zoneNames);
    const glue = nsZone !== null ? (opts.nsAddresses ?? []) : [];
    const nsRecs = (): Map<string, NameRecords> => {
      const m = new Map<string, NameRecords>();
      if (glue.length > 0) m.set(nsName, { zone: nsZone!, a: glue.filter((a) => !a.includes(':')), aaaa: glue.filter((a) => a.includes(':')) });
      return m;
    };
    for (const [env, t] of tables) {
      for (const z of zoneNames) {
        const key = nameKey(z);
        const existing = t.get(key);
        if (env !== opts.defaultEnv && !existing) continue;
        const own = existing?.src?.recs ?? { zone: z };
        late.push([t, key, () => encodeNode(arena, z, own, z, soa, nsName, nsRecs(), opts.ttl)]);
      }
      if (env === opts.defaultEnv && glue.length > 0 && !t.has(nameKey(nsName))) {
        late.push([t, nameKey(nsName), () => encodeNode(arena, nsName, nsRecs().get(nsName)!, nsZone!, null, nsName, new Map(), opts.ttl)]);
      }
    }
    for (const [t, key, make] of late) { if ((++count & 63) === 0) yield; t.set(key, make()); }
    const lateBuf = arena.seal();
    for (const [t, key] of late) { const n = t.get(key)!; if (!n.buf) n.buf = lateBuf; }

    // 5. Empty non-terminals: parents of every name, up to its apex (RFC 8020: NODATA, never NXDOMAIN).
    for (const f of fragments.values()) {
      if (safe.has(f.env)) continue; // done before the names
      const t = table(f.env);
      for (const [k, z] of f.parents) if (!t.has(k)) t.set(k, ent(z));
    }

    const zones = new Map<string, ZoneInfo>();
    const soaTail = encodeSoaTail(opts.ttl, soa);
    for (const z of zoneNames) zones.set(nameKey(z), { name: z, nameLength: wireLength(z), soaTail });
    let names = 0;
    for (const t of tables.values()) names += t.size;
    return this.last = { loaded: meta.loaded, position: meta.position, serial: meta.serial, zones, envs: tables, defaultEnv: opts.defaultEnv, names, skipped };
  }

  private zoneOf(name: string, zones: Set<string>): string | null {
    for (let i = 0; ; i = name.indexOf('.', i) + 1) {
      const n = i === 0 ? name : name.substring(i);
      if (zones.has(n)) return n;
      if (name.indexOf('.', i) < 0) return null;
    }
  }
}

/** Builds one index without reuse (tests, tools). */
export function buildIndex(services: readonly Service[], opts: IndexOptions, meta: IndexMeta): DnsIndex {
  const steps = new IndexBuilder(opts).build(services, meta);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}
