/**
 * IPAM's answer to "who holds this fixed IP?" for the model's pool-ownership rule (docs/ipam.md
 * "Fixed IPs in managed pools"): one query per registry plan, over exactly the addresses the
 * planned apps use, so an allocation made a moment ago (API, `/v1/apps/prepare`) is always seen.
 */
import type { Knex } from 'knex';
import type { PoolHolderLookup } from '../model/spec';
import { formatIp, parseIp } from './address';

type Row = Record<string, unknown>;

export type Holding = NonNullable<ReturnType<PoolHolderLookup>>;

/**
 * What the rule says about an address inside a pool's allocation window (the addresses IPAM
 * manages; the rest of the CIDR is the operator's). Mirrors what reconciliation's claim does with
 * it (migrations/001_ipam.ts `ipam_allocate` with `p_claim`), so the two never disagree:
 * - allocated: its owner is the holder (another app is refused with IP_ALLOCATED_TO_OTHER);
 * - free, even in quarantine: no refusal; reconciliation claims it for the app using it;
 * - reserved, or not allocatable at all: no app may use it (IP_NOT_ALLOCATED), as a claim is refused.
 */
export function holdingOf(row: { pool: string; state: string | null; owner: string | null; reason: string | null }): Holding | undefined {
  if (row.state === 'allocated' && row.owner !== null) return { pool: row.pool, holder: row.owner };
  if (row.state === 'free') return undefined;
  const reason = row.state === 'reserved' ? `reserved (${row.reason ?? 'reserved'})` : 'not allocatable (network or broadcast address)';
  return { pool: row.pool, holder: null, reason };
}

function canonical(ip: string): string | null {
  const p = parseIp(ip);
  return p ? formatIp(p) : null;
}

/** The holdings of `ips` (addresses in no pool are absent), read in one query. */
export async function loadPoolHolders(knex: Knex, ips: Iterable<string>): Promise<PoolHolderLookup> {
  const wanted = new Set<string>();
  for (const ip of ips) {
    const c = canonical(ip);
    if (c !== null) wanted.add(c);
  }
  const held = new Map<string, Holding>();
  if (wanted.size > 0) {
    // The list travels as one JSON parameter (knex would expand an array into a list of `?`).
    const { rows } = await knex.raw(
      `WITH x AS MATERIALIZED (SELECT t.v::inet AS ip FROM jsonb_array_elements_text(?::jsonb) AS t(v))
       SELECT host(x.ip) AS ip, p.name AS pool, a.state, a.owner, a.reserved_reason
         FROM x JOIN ipam_pool p ON x.ip BETWEEN p.alloc_first AND p.alloc_last
         LEFT JOIN ipam_address a ON a.ip = x.ip AND a.pool_id = p.id`,
      [JSON.stringify([...wanted])],
    );
    for (const r of rows as Row[]) {
      const ip = canonical(String(r.ip));
      const h = holdingOf({
        pool: String(r.pool),
        state: r.state == null ? null : String(r.state),
        owner: r.owner == null ? null : String(r.owner),
        reason: r.reserved_reason == null ? null : String(r.reserved_reason),
      });
      if (ip !== null && h) held.set(ip, h);
    }
  }
  return (ip) => {
    const c = canonical(ip);
    return c === null ? undefined : held.get(c);
  };
}
