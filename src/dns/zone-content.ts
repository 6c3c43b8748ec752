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
  /** Every record but the SOA, the apex NS first, each once. */
  records: Rr[];
  /** `rrKey` of each record, in the same order. */
  keys: string[];
}

/** Names read between two points where a sliced read may let queries in. */
const SLICE_NAMES = 512;

/**
 * The zone `zoneKey` (a name key) as `env` sees it in `index`, or null when berth does not serve
 * it, as steps: a zone of 10,000 apps holds over 100,000 records, too many to read between two
 * queries. A patch applied between two steps may show in part; the caller labels the result with
 * the serial it started from (a client holding it then asks for the change), see transfer.ts.
 */
export function* zoneVersionSteps(index: DnsIndex, zoneKey: string, env: string): Generator<void, ZoneVersion | null> {
  const info = index.zones.get(zoneKey);
  if (!info) return null;
  const soa = info.soa;
  const ttl = soa.minimum;
  const records: Rr[] = [{ name: info.name, ttl, rec: { type: TYPE.NS, data: soa.mname } }];
  const keys: string[] = [rrKey(records[0])];
  const seen = new Set<string>();
  let n = 0;
  for (const table of [index.envs.get(env), index.envs.get(index.defaultEnv)]) {
    if (!table) continue;
    for (const [key, node] of table) {
      if ((++n & (SLICE_NAMES - 1)) === 0) yield;
      if (node.zone !== zoneKey || seen.has(key)) continue;
      seen.add(key);
      const served = lookup(index, env, key);
      if (served) recordsOf(served, ttl, records, keys);
    }
  }
  return { zone: info.name, serial: soa.serial, soa: { name: info.name, ttl, rec: { type: TYPE.SOA, data: soa } }, records, keys };
}

/** `zoneVersionSteps` in one go (tests, small zones). */
export function zoneVersion(index: DnsIndex, zoneKey: string, env: string): ZoneVersion | null {
  const steps = zoneVersionSteps(index, zoneKey, env);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Appends the records of one served node (SOA and NS of an apex come from the zone, not from here). */
function recordsOf(node: NameNode, ttl: number, records: Rr[], keys: string[]): void {
  const src = node.src;
  if (!node.defined || !src) return;
  const name = src.name;
  const r = src.recs;
  const add = (rr: Rr): void => {
    records.push(rr);
    keys.push(rrKey(rr));
  };
  // A, AAAA and PTR lists hold each value once (records.ts); SRV lists may repeat a target.
  for (const data of r.a ?? []) add({ name, ttl, rec: { type: TYPE.A, data } });
  for (const data of r.aaaa ?? []) add({ name, ttl, rec: { type: TYPE.AAAA, data } });
  for (const data of r.ptr ?? []) add({ name, ttl, rec: { type: TYPE.PTR, data } });
  if (!r.srv?.length) return;
  const from = keys.length;
  for (const data of r.srv) {
    const rr: Rr = { name, ttl, rec: { type: TYPE.SRV, data } };
    const k = rrKey(rr);
    if (keys.indexOf(k, from) < 0) {
      records.push(rr);
      keys.push(k);
    }
  }
}

/** A record's identity for diffs between versions (owner, type and data; TTLs are all the same). */
export function rrKey(rr: Rr): string {
  const r = rr.rec;
  switch (r.type) {
    case TYPE.SRV:
      return `${rr.name} ${r.type} ${r.data.port} ${r.data.target} ${r.data.priority} ${r.data.weight}`;
    case TYPE.SOA:
      return `${rr.name} ${r.type} ${r.data.serial}`;
    default:
      return `${rr.name} ${r.type} ${r.data}`;
  }
}

/** RFC 1982: true when serial `a` is newer than `b`. */
export function serialNewer(a: number, b: number): boolean {
  const d = (a - b) >>> 0;
  return d !== 0 && d < 0x80000000;
}
