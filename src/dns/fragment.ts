/** One app's encoded names (a fragment of the index), and the checks that decide when to reuse it. Pure. */
import type { EnvironmentConfig, Service } from '../model/types';
import { Arena } from './encoder';
import { encodeNode, parentsOf, type NameNode } from './node';
import { serviceRecords, type NameRecords } from './records';
import { reverseName } from './reverse';
import { nameKey } from './wire';

/** Row width of `Fragment.parents`. */
export const PARENT = 2;
/** Row width of `Fragment.ptrs`. */
export const PTR = 4;

/** One encoded name of an app. */
export interface FragmentNode {
  appId: string;
  name: string;
  key: string;
  recs: NameRecords;
  node: NameNode;
}

/** A service's encoded names, reusable while the service does not change. */
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
 * Encodes one app's names (domains, SRV names, per-task names) into a fragment of its own. Never
 * throws: an app whose records cannot be encoded publishes nothing and is reported in `skipped`,
 * so one bad app never blocks the index (docs/reliability.md, rule 4).
 */
export function buildFragment(svc: Service, ctx: FragmentContext): Fragment {
  try {
    return encodeFragment(svc, ctx);
  } catch (err) {
    return { svc, env: svc.env, nodes: [], parents: [], ptrs: [], skipped: [`${svc.appId}: ${(err as Error).message}`] };
  }
}

function encodeFragment(svc: Service, ctx: FragmentContext): Fragment {
  const r = serviceRecords(svc, { zoneOf: ctx.zoneOf, environments: ctx.environments });
  const arena = new Arena();
  // Kept as long as the app is unchanged: lists of exact size, not grown by push.
  const nodes: Fragment['nodes'] = new Array(r.names.size);
  /** Dotted parent → its zone, in first-seen order. */
  const parents = new Map<string, string>();
  let i = 0;
  for (const [name, recs] of r.names) {
    const node = encodeNode(arena, name, recs, recs.zone, null, ctx.nsName, r.names, ctx.ttl);
    const n: FragmentNode = { appId: svc.appId, name, key: nameKey(name), recs, node };
    node.src = n; // the same name and records: one object rather than two per name
    nodes[i++] = n;
    for (const p of parentsOf(name, recs.zone)) if (!r.names.has(p)) parents.set(p, recs.zone);
  }
  const buf = arena.seal();
  for (const n of nodes) n.node.buf = buf;
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
