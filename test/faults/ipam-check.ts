/**
 * What must hold in the database after an IPAM fault, read straight from the tables (not through
 * berth): who holds which address, no address or app twice, and an audit event for every holding.
 */
import type { Knex } from 'knex';

export interface PoolState {
  /** app id → address, for every allocated row of the pool. */
  held: Map<string, string>;
  rows: number;
  distinctIps: number;
  distinctOwners: number;
  /** `allocate` events in the audit trail of the pool. */
  allocateEvents: number;
  /** Allocated rows without the `allocate` event that made them (same app, address, allocation id). */
  unaudited: number;
}

export async function poolState(knex: Knex, pool: string): Promise<PoolState> {
  const rows = (
    await knex.raw(
      `select host(a.ip) as ip, a.owner, a.allocation_id,
            exists (select 1 from ipam_event e where e.pool_id = a.pool_id and e.action = 'allocate'
                     and e.owner = a.owner and e.ip = a.ip and e.allocation_id = a.allocation_id) as audited
       from ipam_address a join ipam_pool p on p.id = a.pool_id
      where p.name = ? and a.state = 'allocated'`,
      [pool],
    )
  ).rows as Array<{ ip: string; owner: string; audited: boolean }>;
  const events = (await knex.raw(`select count(*)::int as n from ipam_event where pool_name = ? and action = 'allocate'`, [pool])).rows[0].n as number;
  return {
    held: new Map(rows.map((r) => [r.owner, r.ip])),
    rows: rows.length,
    distinctIps: new Set(rows.map((r) => r.ip)).size,
    distinctOwners: new Set(rows.map((r) => r.owner)).size,
    allocateEvents: events,
    unaudited: rows.filter((r) => !r.audited).length,
  };
}
