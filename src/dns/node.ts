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
    n = Object.freeze({ zone: nameKey(zone), defined: false });
    if (ents.size < 10_000) ents.set(zone, n);
  }
  return n;
}

/** [key, zone] of each proper parent of `name` below and excluding the apex `zone`. */
export function parentsOf(name: string, zone: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let p = name; p.length > zone.length;) {
    p = p.substring(p.indexOf('.') + 1);
    if (p.length <= zone.length) break;
    out.push([nameKey(p), zone]);
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
  const rr = (rec: Rr['rec']): Rr => ({ name, ttl, rec });
  const sets: Array<[keyof NameNode, Rr[], Rr[]]> = [];
  const glueFor = (target: string): Rr[] => {
    const t = table.get(target);
    if (!t) return [];
    const out: Rr[] = [];
    for (const a of t.a ?? []) out.push({ name: target, ttl, rec: { type: TYPE.A, data: a } });
    for (const a of t.aaaa ?? []) out.push({ name: target, ttl, rec: { type: TYPE.AAAA, data: a } });
    return out;
  };
  if (r.a?.length) sets.push(['a', r.a.map((data) => rr({ type: TYPE.A, data })), []]);
  if (r.aaaa?.length) sets.push(['aaaa', r.aaaa.map((data) => rr({ type: TYPE.AAAA, data })), []]);
  if (r.srv?.length) {
    const srv = dedupeSrv(r.srv);
    sets.push(['srv', srv.map((data) => rr({ type: TYPE.SRV, data })), srv.flatMap((s) => glueFor(s.target))]);
  }
  if (r.ptr?.length)
    sets.push([
      'ptr',
      r.ptr
        .slice()
        .sort()
        .map((data) => rr({ type: TYPE.PTR, data })),
      [],
    ]);
  if (soa) {
    sets.push(['soa', [rr({ type: TYPE.SOA, data: soa })], []]);
    sets.push(['ns', [rr({ type: TYPE.NS, data: nsName })], glueFor(nsName)]);
  }
  const node: NameNode = { zone: nameKey(zone), defined: sets.length > 0 || r.owned === true, src: { name, recs: r } };
  const enc = node as unknown as Record<string, Encoded>;
  for (const [field, answers, additional] of sets) enc[field] = encodeSections(arena, name, answers, [], additional);
  // ANY: every RRset of the name; with a single set that is the same body (without additional records).
  if (sets.length === 1) node.any = enc[sets[0][0]].lean ?? enc[sets[0][0]];
  else if (sets.length > 0)
    node.any = encodeSections(
      arena,
      name,
      sets.flatMap((s) => s[1]),
    );
  return node;
}

function dedupeSrv(srv: NonNullable<NameRecords['srv']>): NonNullable<NameRecords['srv']> {
  const seen = new Set<string>();
  return srv.filter((s) => {
    const k = `${s.target} ${s.port}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
