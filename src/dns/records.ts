/**
 * Services → plain record sets per environment (no encoding yet). Pure.
 *
 * Naming scheme (documented for operators):
 * - `<domain>`                      A/AAAA: `dns=direct` → the serving endpoints' addresses;
 *                                   `dns=proxy` → the environment's `proxyAddresses`; `dns=none` → not in DNS.
 * - `_<port-name>._tcp.<domain>`    SRV, one per serving task, and `_<port>._tcp.<domain>` with the
 *                                   declared port number; targets are the per-task names below and
 *                                   carry the task's own port (SRV always describes the tasks, also
 *                                   with `dns=proxy`).
 * - `<task-label>.<domain>`         A/AAAA of that task. The label is `t-` + the first 8 hex digits of
 *                                   the UUID in the Marathon task id (stable for the task's life);
 *                                   on a clash inside one service, an FNV-1a hash of the whole id.
 * - PTR `<reverse of address>`      → the primary domain of every `direct` service serving that address.
 * A service with `berth.path` shares its domains by prefix: it adds only the proxy addresses to
 * them (never its tasks, SRV or per-task names); the domain's `/` app contributes as above.
 * Domains outside every configured zone are skipped (berth is not authoritative for them).
 */
import type { EnvironmentConfig, Service } from '../model/types';
import type { SrvData } from './encoder';
import { isAppId, isDomain, isEnv, isPortName } from '../rules';
import { checkName, ipv4Bytes, ipv6Bytes } from './wire';

/** The records of one name in one environment. */
export interface NameRecords {
  /** The zone (dotted) the name lies in. */
  zone: string;
  /** A service's own domain: defined in its environment even with no serving task (no fallback then). */
  owned?: boolean;
  a?: string[];
  aaaa?: string[];
  srv?: SrvData[];
  ptr?: string[];
}

export interface GatherOptions {
  /** Returns the zone (dotted) a name belongs to, or null when outside every zone. */
  zoneOf: (name: string) => string | null;
  environments: Record<string, EnvironmentConfig>;
}

/** What one service contributes to its environment. */
export interface ServiceRecords {
  names: Map<string, NameRecords>;
  /** [address, primary domain] for the PTR records of `direct` services. */
  ptrs: Array<[string, string]>;
  /** Domains skipped because no configured zone contains them, or values that failed validation. */
  skipped: string[];
}

/** The record sets of one service (its domains, SRV names and per-task names). */
export function serviceRecords(svc: Service, opts: GatherOptions): ServiceRecords {
  const table = new Map<string, NameRecords>();
  const out: ServiceRecords = { names: table, ptrs: [], skipped: [] };
  if (svc.dns === 'none') return out;
  // The same rules as the model and Nginx (src/rules): a service Nginx would refuse is not in DNS either.
  if (!isAppId(svc.appId) || !isEnv(svc.env)) {
    out.skipped.push(`${JSON.stringify(svc.appId).slice(0, 300)}: invalid app id or environment`);
    return out;
  }
  const domains: Array<[string, string]> = [];
  for (const raw of svc.domains) {
    const d = raw.toLowerCase();
    const zone = isDomain(d) && validName(d) ? opts.zoneOf(d) : null;
    if (zone !== null) domains.push([d, zone]);
    else out.skipped.push(`${svc.appId}: ${d} is outside the DNS zones`);
  }
  if (domains.length === 0) return out;

  // A path app shares its domains with other apps (docs/labels.md "Path prefixes"): its names lead
  // to Nginx only, and its tasks are not published under a name another app also answers for.
  const shared = svc.paths !== undefined;
  const serving = shared ? [] : svc.endpoints.filter((e) => validAddress(e.address));
  const addrs = svc.dns === 'proxy' || shared ? (opts.environments[svc.env]?.proxyAddresses ?? []).filter(validAddress) : serving.map((e) => e.address);
  const labels = taskLabels(serving.map((e) => e.taskId));
  const ports = [String(svc.servicePort)];
  if (svc.portName && isPortName(svc.portName)) ports.push(svc.portName.toLowerCase());

  for (const [domain, zone] of domains) {
    const node = get(table, domain, zone);
    node.owned = true;
    for (const a of addrs) add(node, a);
    const srv: SrvData[] = [];
    serving.forEach((e, i) => {
      const target = flat(labels[i], '.', domain);
      if (!validName(target)) return;
      add(get(table, target, zone), e.address);
      srv.push({ priority: 0, weight: 10, port: e.port, target });
    });
    if (srv.length === 0) continue;
    const exact = srv.slice();
    for (const p of ports) {
      const name = flat('_', p, '._tcp.', domain);
      if (!validName(name)) continue;
      const n = get(table, name, zone);
      n.srv = n.srv ? n.srv.concat(exact) : exact;
    }
  }
  if (svc.dns === 'direct') for (const e of serving) out.ptrs.push([e.address, domains[0][0]]);
  // The lists are kept as long as the app is unchanged: exact-size copies, not arrays grown by push (17 slots for 3).
  for (const n of table.values()) {
    if (n.a && n.a.length > 1) n.a = n.a.slice();
    if (n.aaaa && n.aaaa.length > 1) n.aaaa = n.aaaa.slice();
  }
  return out;
}

/**
 * One flat string: a template literal of a long name is a rope (a cons string), and the flattened
 * copy a Map lookup makes would be kept alongside it for as long as the index holds the name.
 */
function flat(...parts: string[]): string {
  return parts.join('');
}

/** Merges `from` into `into` (two sources for one name). */
export function mergeRecords(into: NameRecords, from: NameRecords): void {
  for (const a of from.a ?? []) push(into, 'a', a);
  for (const a of from.aaaa ?? []) push(into, 'aaaa', a);
  for (const p of from.ptr ?? []) push(into, 'ptr', p);
  if (from.srv) into.srv = (into.srv ?? []).concat(from.srv);
  if (from.owned) into.owned = true;
}

/** Adds an address to the A or AAAA set by its family. */
export function add(node: NameRecords, address: string): void {
  push(node, address.includes(':') ? 'aaaa' : 'a', address);
}

/** Adds a value to a list of the node, once. */
export function push(node: NameRecords, field: 'a' | 'aaaa' | 'ptr', value: string): void {
  const list = node[field];
  if (!list) node[field] = [value];
  else if (!list.includes(value)) list.push(value);
}

/** The record set of `name`, created empty on first use. */
export function get(table: Map<string, NameRecords>, name: string, zone: string): NameRecords {
  let n = table.get(name);
  if (!n) table.set(name, (n = { zone }));
  return n;
}

function validName(name: string): boolean {
  try {
    checkName(name);
    return true;
  } catch {
    return false;
  }
}

function validAddress(address: string): boolean {
  try {
    if (address.includes(':')) ipv6Bytes(address);
    else ipv4Bytes(address);
    return true;
  } catch {
    return false;
  }
}

const UUID_HEAD = /([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** Stable per-task DNS labels, unique within one service. */
export function taskLabels(taskIds: readonly string[]): string[] {
  const used = new Set<string>();
  return taskIds.map((id) => {
    const m = UUID_HEAD.exec(id);
    let label = m ? `t-${m[1].toLowerCase()}` : `t-${fnv1a(id)}`;
    if (used.has(label)) label = `t-${fnv1a(id)}`;
    for (let i = 2; used.has(label); i++) label = `t-${fnv1a(id)}-${i}`;
    used.add(label);
    return label;
  });
}

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
