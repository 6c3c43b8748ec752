/**
 * The records of one zone as one environment view sees them: what a zone transfer sends. Names are
 * resolved with the same rule as queries (`lookup`: the environment's own names, the default
 * environment's for the rest), so a secondary serving a view answers what berth would. Pure.
 */
import type { DnsIndex, NameNode } from './build';
import type { Rr } from './encoder';
import { lookup } from './view';
import { TYPE } from './wire';

/** One version of a zone in one view: its SOA and the other records, each with a key for diffs. */
export interface ZoneVersion {
  zone: string;
  serial: number;
  soa: Rr;
  /** Every record but the SOA, sorted by key (NS first at the apex, then by name). */
  records: Rr[];
  keys: string[];
}

/** The zone `zoneKey` (a name key) as `env` sees it in `index`, or null when berth does not serve it. */
export function zoneVersion(index: DnsIndex, zoneKey: string, env: string): ZoneVersion | null {
  const info = index.zones.get(zoneKey);
  if (!info) return null;
  const ttl = info.soa.minimum;
  const byKey = new Map<string, Rr>();
  const put = (rr: Rr): void => {
    const k = rrKey(rr);
    if (!byKey.has(k)) byKey.set(k, rr);
  };
  put({ name: info.name, ttl, rec: { type: TYPE.NS, data: info.soa.mname } });
  const seen = new Set<string>();
  for (const table of [index.envs.get(env), index.envs.get(index.defaultEnv)]) {
    if (!table) continue;
    for (const [key, node] of table) {
      if (node.zone !== zoneKey || seen.has(key)) continue;
      seen.add(key);
      const served = lookup(index, env, key);
      if (served) recordsOf(served, ttl, put);
    }
  }
  const keys = [...byKey.keys()].sort();
  return {
    zone: info.name,
    serial: info.soa.serial,
    soa: { name: info.name, ttl, rec: { type: TYPE.SOA, data: info.soa } },
    records: keys.map((k) => byKey.get(k)!),
    keys,
  };
}

/** The records of one served node (SOA and NS of an apex come from the zone, not from here). */
function recordsOf(node: NameNode, ttl: number, put: (rr: Rr) => void): void {
  const src = node.src;
  if (!node.defined || !src) return;
  const name = src.name;
  const r = src.recs;
  for (const data of r.a ?? []) put({ name, ttl, rec: { type: TYPE.A, data } });
  for (const data of r.aaaa ?? []) put({ name, ttl, rec: { type: TYPE.AAAA, data } });
  for (const data of r.srv ?? []) put({ name, ttl, rec: { type: TYPE.SRV, data } });
  // A PTR set holds the domains that fit one answer; the node's own list is what queries get.
  for (const data of r.ptr ?? []) put({ name, ttl, rec: { type: TYPE.PTR, data } });
}

/** A record's identity for diffs between versions (owner, type and data; TTLs are all the same). */
export function rrKey(rr: Rr): string {
  const r = rr.rec;
  // Apex NS sorts first, so a transfer starts with the zone's own records.
  const head = r.type === TYPE.NS ? ' ' : '';
  switch (r.type) {
    case TYPE.SRV:
      return `${head}${rr.name} ${r.type} ${r.data.priority} ${r.data.weight} ${r.data.port} ${r.data.target}`;
    case TYPE.SOA:
      return `${rr.name} ${r.type} ${r.data.serial}`;
    default:
      return `${head}${rr.name} ${r.type} ${r.data}`;
  }
}

/** RFC 1982: true when serial `a` is newer than `b`. */
export function serialNewer(a: number, b: number): boolean {
  const d = (a - b) >>> 0;
  return d !== 0 && d < 0x80000000;
}
