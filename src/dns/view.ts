/**
 * What one environment's clients see: the environment's own names, and the default environment's
 * for every name it does not define (docs/dns.md "Environments"). `lookup` is that rule, for
 * queries and zone transfers alike; reverse names follow from it, so a PTR answer lists exactly the
 * names that resolve to the address in that view.
 */
import type { DnsIndex, NameNode } from './build';
import { Arena } from './encoder';
import { encodeNode, ent } from './node';
import { keyName, nameKey } from './wire';

/** Reverse names end in `.arpa`: only those may need a PTR set put together per view. */
const ARPA = '\x04arpa';
/** Merged PTR nodes kept per served index (an index object lives until the next patch or build). */
const CACHE_MAX = 4096;
const cache = new WeakMap<DnsIndex, Map<string, NameNode>>();
const NO_GLUE = new Map();

/** The node answering `key` for a client of `env`. */
export function lookup(index: DnsIndex, env: string, key: string): NameNode | undefined {
  const node = forward(index, env, key);
  if (env === index.defaultEnv || !key.endsWith(ARPA)) return node;
  return reverse(index, env, key) ?? node;
}

/** The forward rule: a name the environment defines is its own; every other name is the default environment's. */
function forward(index: DnsIndex, env: string, key: string): NameNode | undefined {
  if (env === index.defaultEnv) return index.envs.get(env)?.get(key);
  const own = index.envs.get(env)?.get(key);
  if (own && own.defined) return own;
  const fallback = index.envs.get(index.defaultEnv)?.get(key);
  return fallback && (fallback.defined || !own) ? fallback : own;
}

/**
 * The PTR set of a reverse name in `env`: the environment's own domains at that address, plus the
 * default environment's domains that still resolve from the default in `env` (by `forward`) — not
 * those the environment redefines elsewhere. Undefined when the forward rule's node is already
 * that answer (no default PTR set, or nothing to add or drop). Apexes keep the forward rule.
 */
function reverse(index: DnsIndex, env: string, key: string): NameNode | undefined {
  const fallback = index.envs.get(index.defaultEnv)?.get(key);
  if (!fallback?.defined || fallback.soa) return undefined;
  const theirs = fallback.src?.recs.ptr;
  if (!theirs?.length) return undefined;
  const own = index.envs.get(env)?.get(key);
  if (own?.soa) return undefined;
  const mine = own?.defined ? (own.src?.recs.ptr ?? []) : [];
  const defaults = index.envs.get(index.defaultEnv)!;
  const kept = theirs.filter((d) => {
    const k = nameKey(d);
    return forward(index, env, k) === defaults.get(k);
  });
  if (mine.length === 0 && kept.length === theirs.length) return fallback;
  if (kept.length === 0 && own?.defined) return own;

  let byKey = cache.get(index);
  if (!byKey) cache.set(index, (byKey = new Map()));
  const id = `${env} ${key}`;
  const hit = byKey.get(id);
  if (hit) return hit;
  const recs = fallback.src!.recs;
  const domains = [...new Set([...mine, ...kept])].sort();
  let node: NameNode;
  if (domains.length === 0) node = ent(recs.zone);
  else {
    const a = new Arena();
    const ttl = index.zones.get(fallback.zone)?.soa.minimum ?? 0;
    node = encodeNode(a, keyName(key), { zone: recs.zone, ptr: domains }, recs.zone, null, '', NO_GLUE, ttl);
    node.buf = a.seal();
  }
  if (byKey.size >= CACHE_MAX) byKey.clear();
  byKey.set(id, node);
  return node;
}
