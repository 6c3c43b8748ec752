/**
 * One app's names (a fragment of the index), and the checks that decide when to reuse it. Pure.
 *
 * A fragment is checked when it is built but encoded at the first question for any of its names:
 * a full build of 10,000 apps then costs the records and the tables, not the encoding of 100,000
 * names most of which no client asks for before the app changes again.
 */
import type { EnvironmentConfig, Service } from '../model/types';
import { Arena, checkU16, type Encoded } from './encoder';
import { encodeNode, parentsOf, zoneKey, type NameNode } from './node';
import { serviceRecords, type NameRecords } from './records';
import { reverseName } from './reverse';
import { nameKey } from './wire';

/** Row width of `Fragment.parents`. */
export const PARENT = 2;
/** Row width of `Fragment.ptrs`. */
export const PTR = 4;

/** One name of an app. */
export interface FragmentNode {
  appId: string;
  name: string;
  key: string;
  recs: NameRecords;
  node: NameNode;
}

/** A service's names, reusable while the service does not change. */
export interface Fragment {
  svc: Service;
  env: string;
  nodes: FragmentNode[];
  /**
   * Parent names that must exist as empty non-terminals, as a flat table of `PARENT` columns: key,
   * dotted zone (one list per app rather than a pair per parent).
   */
  parents: string[];
  /** Per served address (direct services), a flat table of `PTR` columns: reverse name, its key, primary domain, zone. */
  ptrs: string[];
  skipped: string[];
}

export interface FragmentContext {
  zoneOf: (name: string) => string | null;
  environments: Record<string, EnvironmentConfig>;
  nsName: string;
  ttl: number;
}

/**
 * Builds one app's fragment. Never throws: an app whose records fail a check publishes nothing and
 * is reported in `skipped`, so one bad app never blocks the index (docs/reliability.md, rule 4).
 */
export function buildFragment(svc: Service, ctx: FragmentContext): Fragment {
  try {
    return makeFragment(svc, ctx);
  } catch (err) {
    return { svc, env: svc.env, nodes: [], parents: [], ptrs: [], skipped: [`${svc.appId}: ${(err as Error).message}`] };
  }
}

function makeFragment(svc: Service, ctx: FragmentContext): Fragment {
  const r = serviceRecords(svc, { zoneOf: ctx.zoneOf, environments: ctx.environments });
  // Everything the encoder would refuse is refused here, while the app can still be skipped whole:
  // names and addresses were checked by serviceRecords, the TTL by the builder; SRV ports remain.
  for (const recs of r.names.values()) if (recs.srv) for (const s of recs.srv) checkU16(s.port);
  // Kept as long as the app is unchanged: lists of exact size, not grown by push.
  const nodes: FragmentName[] = new Array(r.names.size);
  const encoding = new FragmentEncoding(nodes, ctx.nsName, ctx.ttl);
  /** Dotted parent → its zone, in first-seen order. */
  const parents = new Map<string, string>();
  let i = 0;
  for (const [name, recs] of r.names) {
    nodes[i++] = new FragmentName(svc.appId, name, recs, encoding);
    for (const p of parentsOf(name, recs.zone)) if (!r.names.has(p)) parents.set(p, recs.zone);
  }
  const ptrs: string[] = [];
  for (const [address, domain] of r.ptrs) {
    const rev = reverseName(address);
    // A served address outside every pool gets a zone of its own: its exact reverse name.
    if (rev) ptrs.push(rev, nameKey(rev), domain, ctx.zoneOf(rev) ?? rev);
  }
  const parentRows: string[] = [];
  for (const [p, zone] of parents) parentRows.push(nameKey(p), zone);
  return { svc, env: svc.env, nodes, parents: parentRows.slice(), ptrs: ptrs.slice(), skipped: r.skipped };
}

/**
 * One name of an app: the claim the tables keep (`FragmentNode`), its own node (`node` and `src`
 * are the object itself, so a name costs one object until it is asked for) and, once some name of
 * the app was asked for, its encoded answers.
 */
class FragmentName implements FragmentNode, NameNode {
  readonly key: string;
  readonly zone: string;
  /** A name with a record set, or an app's own domain (defined even with no serving task). */
  readonly defined: boolean;
  /** The encoded node, made by the fragment's `FragmentEncoding` (null until then). */
  encodedNode: NameNode | null = null;

  constructor(
    readonly appId: string,
    readonly name: string,
    readonly recs: NameRecords,
    private readonly encoding: FragmentEncoding,
  ) {
    this.key = nameKey(name);
    this.zone = zoneKey(recs.zone);
    // As encodeNode decides it: some record set, or owned.
    this.defined = !!(recs.a?.length || recs.aaaa?.length || recs.srv?.length || recs.ptr?.length || recs.owned);
  }

  get node(): NameNode {
    return this;
  }
  get src(): { name: string; recs: NameRecords } {
    return this;
  }
  get buf(): Buffer | undefined {
    return this.encoded().buf;
  }
  get a(): Encoded | undefined {
    return this.encoded().a;
  }
  get aaaa(): Encoded | undefined {
    return this.encoded().aaaa;
  }
  get srv(): Encoded | undefined {
    return this.encoded().srv;
  }
  get ptr(): Encoded | undefined {
    return this.encoded().ptr;
  }
  get any(): Encoded | undefined {
    return this.encoded().any;
  }
  // An app's names never carry the zone's SOA and NS (apex.ts adds them over the app's node).
  get soa(): undefined {
    return undefined;
  }
  get ns(): undefined {
    return undefined;
  }

  private encoded(): NameNode {
    if (this.encodedNode === null) this.encoding.encode();
    return this.encodedNode!;
  }
}

/** Encodes all names of one fragment at once, into one buffer, the first time one is needed. */
class FragmentEncoding {
  constructor(
    private names: readonly FragmentName[] | null,
    private readonly nsName: string,
    private readonly ttl: number,
  ) {}

  /** Gives every name of the fragment its encoded node (once). */
  encode(): void {
    const names = this.names;
    if (names === null) return;
    this.names = null;
    const glue = new Map<string, NameRecords>();
    for (const n of names) glue.set(n.name, n.recs);
    const arena = new Arena();
    let nodes: NameNode[];
    try {
      nodes = names.map((n) => encodeNode(arena, n.name, n.recs, n.recs.zone, null, this.nsName, glue, this.ttl));
      const buf = arena.seal();
      for (const node of nodes) node.buf = buf;
    } catch {
      // Not reached: makeFragment and the builder checked every value the encoder checks. Should
      // it happen, the names answer with no records rather than failing every later question.
      nodes = names.map((n) => ({ zone: n.zone, defined: n.defined }));
    }
    for (let i = 0; i < names.length; i++) {
      nodes[i].src = names[i];
      names[i].encodedNode = nodes[i];
    }
  }
}

/** Equal as far as DNS is concerned (cheaper than serialising 10,000 services per build). */
export function sameService(a: Service, b: Service): boolean {
  if (a === b) return true;
  if (a.env !== b.env || a.appId !== b.appId || a.port !== b.port || a.dns !== b.dns || a.portName !== b.portName || a.servicePort !== b.servicePort)
    return false;
  if (!sameList(a.domains, b.domains) || a.endpoints.length !== b.endpoints.length || (a.paths === undefined) !== (b.paths === undefined)) return false;
  for (let i = 0; i < a.endpoints.length; i++) {
    const x = a.endpoints[i],
      y = b.endpoints[i];
    if (x.taskId !== y.taskId || x.address !== y.address || x.port !== y.port) return false;
  }
  return true;
}

export function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
