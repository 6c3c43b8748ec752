/** One name's node in an environment table, and how its answers are encoded. Pure. */
import { Arena, encodeSections, type Encoded, type Rr, type SoaData } from './encoder';
import type { NameRecords } from './records';
import { nameKey, TYPE } from './wire';

/** One name in one environment. `defined` is false for empty non-terminals (names that exist only as parents). */
export interface NameNode {
  /** Key (see `nameKey`) of the zone the name lies in. */
  zone: string;
  defined: boolean;
  /** Holds the bytes every `Encoded` of this node points into. */
  buf?: Buffer;
  /** The dotted name and records it was encoded from (to merge a name claimed twice, or add an apex). */
  src?: { name: string; recs: NameRecords };
  a?: Encoded;
  aaaa?: Encoded;
  srv?: Encoded;
  ptr?: Encoded;
  soa?: Encoded;
  ns?: Encoded;
  any?: Encoded;
}

/** By dotted zone name (the strings come from cached fragments, so their hashes are cached too). */
const ents = new Map<string, NameNode>();

/** The (shared, immutable) empty non-terminal node of a zone. */
export function ent(zone: string): NameNode {
  let n = ents.get(zone);
  if (!n) {
    n = Object.freeze({ zone: zoneKey(zone), defined: false });
    if (ents.size < 10_000) ents.set(zone, n);
  }
  return n;
}

/** Each proper parent (dotted) of `name` below and excluding the apex `zone`. */
export function parentsOf(name: string, zone: string): string[] {
  const out: string[] = [];
  for (let p = name; p.length > zone.length;) {
    p = p.substring(p.indexOf('.') + 1);
    if (p.length <= zone.length) break;
    out.push(p);
  }
  return out;
}

/** Records of a dotted name, for the addresses of SRV and NS targets (glue). */
export interface GlueSource {
  get(name: string): NameRecords | undefined;
}

/** Encodes every record set of a name (and ANY); `table` supplies SRV/NS targets' addresses as glue. */
export function encodeNode(
  arena: Arena,
  name: string,
  r: NameRecords,
  zone: string,
  soa: SoaData | null,
  nsName: string,
  table: GlueSource,
  ttl: number,
): NameNode {
  const node: NameNode = { zone: zoneKey(zone), defined: false, src: { name, recs: r } };
  // Sets in a fixed order (A, AAAA, SRV, PTR, SOA, NS): ANY lists them in that order.
  const sets: Rr[][] = [];
  let last: Encoded | undefined;
  const put = (answers: Rr[], additional: Rr[] = []): Encoded => {
    sets.push(answers);
    return (last = encodeSections(arena, name, answers, [], additional));
  };
  if (r.a?.length) node.a = put(r.a.map((data) => ({ name, ttl, rec: { type: TYPE.A, data } })));
  if (r.aaaa?.length) node.aaaa = put(r.aaaa.map((data) => ({ name, ttl, rec: { type: TYPE.AAAA, data } })));
  if (r.srv?.length) {
    const srv = dedupeSrv(r.srv);
    const glue: Rr[] = [];
    for (const s of srv) glueFor(table, s.target, ttl, glue);
    node.srv = put(
      srv.map((data) => ({ name, ttl, rec: { type: TYPE.SRV, data } })),
      glue,
    );
  }
  if (r.ptr?.length)
    node.ptr = put(
      r.ptr
        .slice()
        .sort()
        .map((data) => ({ name, ttl, rec: { type: TYPE.PTR, data } })),
    );
  if (soa) {
    node.soa = put([{ name, ttl, rec: { type: TYPE.SOA, data: soa } }]);
    node.ns = put([{ name, ttl, rec: { type: TYPE.NS, data: nsName } }], glueFor(table, nsName, ttl, []));
  }
  node.defined = sets.length > 0 || r.owned === true;
  // ANY: every RRset of the name; with a single set that is the same body (without additional records).
  if (sets.length === 1) node.any = last!.lean ?? last;
  else if (sets.length > 0) node.any = encodeSections(arena, name, sets.flat());
  return node;
}

/** Appends the A and AAAA records `table` holds for `target` to `out`. */
function glueFor(table: GlueSource, target: string, ttl: number, out: Rr[]): Rr[] {
  const t = table.get(target);
  if (!t) return out;
  for (const a of t.a ?? []) out.push({ name: target, ttl, rec: { type: TYPE.A, data: a } });
  for (const a of t.aaaa ?? []) out.push({ name: target, ttl, rec: { type: TYPE.AAAA, data: a } });
  return out;
}

/**
 * The key of a zone (dotted): a handful of zones stand behind every node, so each key is made once
 * and one string is shared by all of them.
 */
export function zoneKey(zone: string): string {
  let k = zoneKeys.get(zone);
  if (k === undefined) {
    k = nameKey(zone);
    if (zoneKeys.size < 10_000) zoneKeys.set(zone, k);
  }
  return k;
}
const zoneKeys = new Map<string, string>();

function dedupeSrv(srv: NonNullable<NameRecords['srv']>): NonNullable<NameRecords['srv']> {
  if (srv.length < 2) return srv;
  const seen = new Set<string>();
  return srv.filter((s) => {
    const k = `${s.target} ${s.port}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
