/** IpamStore on knex: PostgreSQL or PGlite, through the plpgsql functions of migration 001. */
import type { Knex } from 'knex';
import { BerthError } from '../errors';
import { isViolation, mapDbError } from './db-errors';
import type { AllocateRequest, AllocationFilter, EventQuery, IpamStore, Release } from './store';
import type { Allocation, IpamEvent, Pool, PoolPlan, PoolUsage } from './types';

type Row = Record<string, unknown>;

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
const num = (v: unknown): number => Number(v);
const json = <T>(v: unknown, fallback: T): T => (v == null ? fallback : typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

const POOL_COLUMNS = `name, family(cidr) AS family, cidr::text AS cidr, masklen(cidr) AS prefix_length, host(gateway) AS gateway,
  host(alloc_first) AS alloc_first, host(alloc_last) AS alloc_last, reserved, aux_addresses, ip_range::text AS ip_range,
  docker_network, bridge_name, quarantine_seconds, created_at`;

function toPool(r: Row): Pool {
  return {
    name: String(r.name),
    family: num(r.family) === 6 ? 6 : 4,
    cidr: String(r.cidr),
    prefixLength: num(r.prefix_length),
    gateway: (r.gateway as string | null) ?? null,
    allocationRange: { first: String(r.alloc_first), last: String(r.alloc_last) },
    reserved: json<string[]>(r.reserved, []),
    auxAddresses: json<Record<string, string>>(r.aux_addresses, {}),
    ipRange: (r.ip_range as string | null) ?? null,
    dockerNetwork: (r.docker_network as string | null) ?? null,
    bridgeName: (r.bridge_name as string | null) ?? null,
    quarantineSeconds: num(r.quarantine_seconds),
    createdAt: iso(r.created_at),
  };
}

const ALLOCATION_SELECT = `SELECT p.name AS pool, a.owner, host(a.ip) AS ip, masklen(p.cidr) AS prefix_length,
  host(p.gateway) AS gateway, a.allocation_id, a.allocated_at
  FROM ipam_address a JOIN ipam_pool p ON p.id = a.pool_id`;

function toAllocation(r: Row, pool?: string, appId?: string): Allocation {
  return {
    pool: pool ?? String(r.pool),
    appId: appId ?? String(r.owner),
    ip: String(r.ip).replace(/\/\d+$/, ''),
    prefixLength: num(r.prefix_length),
    gateway: r.gateway == null ? null : String(r.gateway).replace(/\/\d+$/, ''),
    allocationId: num(r.allocation_id),
    allocatedAt: iso(r.allocated_at),
  };
}

/** Locks the pool row against a concurrent delete; POOL_NOT_FOUND when absent. */
async function lockPool(trx: Knex.Transaction, pool: string): Promise<number> {
  const { rows } = await trx.raw('SELECT id FROM ipam_pool WHERE name = ? FOR SHARE', [pool]);
  if (!rows.length) throw new BerthError('POOL_NOT_FOUND', `pool ${pool} not found`, { pool });
  return num(rows[0].id);
}

async function event(trx: Knex.Transaction, poolId: number, pool: string, action: string, actor: string, detail: Record<string, unknown>): Promise<void> {
  await trx.raw(`INSERT INTO ipam_event (pool_id, pool_name, action, actor, detail) VALUES (?, ?, ?, ?, ?::jsonb)`, [
    poolId,
    pool,
    action,
    actor,
    JSON.stringify(detail),
  ]);
}

export class KnexIpamStore implements IpamStore {
  constructor(private readonly knex: Knex) {}

  async createPool(plan: PoolPlan, actor: string): Promise<void> {
    try {
      await this.knex.transaction(async (trx) => {
        const { rows } = await trx.raw(
          `INSERT INTO ipam_pool (name, cidr, gateway, alloc_first, alloc_last, docker_network, bridge_name, ip_range,
             aux_addresses, reserved, quarantine_seconds)
           VALUES (?, ?::cidr, ?::inet, ?::inet, ?::inet, ?, ?, ?::cidr, ?::jsonb, ?::jsonb, ?) RETURNING id`,
          [
            plan.name,
            plan.cidr,
            plan.gateway,
            plan.allocFirst,
            plan.allocLast,
            plan.dockerNetwork,
            plan.bridgeName,
            plan.ipRange,
            JSON.stringify(plan.auxAddresses),
            JSON.stringify(plan.reserved),
            plan.quarantineSeconds,
          ],
        );
        const id = num(rows[0].id);
        const pop = await trx.raw('SELECT ipam_populate(?) AS n', [id]);
        for (const r of plan.reservations) {
          await trx.raw(
            `UPDATE ipam_address SET state = 'reserved', reserved_reason = ?
              WHERE pool_id = ? AND ip BETWEEN ?::inet AND ?::inet AND state = 'free'`,
            [r.reason, id, r.first, r.last],
          );
        }
        await trx.raw(`INSERT INTO ipam_event (pool_id, pool_name, action, actor, detail) VALUES (?, ?, 'pool_create', ?, ?::jsonb)`, [
          id,
          plan.name,
          actor,
          JSON.stringify({
            cidr: plan.cidr,
            addresses: num(pop.rows[0].n),
            reservations: plan.reservations,
            ...(plan.overridden.length ? { allowSpecial: plan.overridden } : {}),
          }),
        ]);
      });
    } catch (err) {
      if (isViolation(err, '23P01', 'ipam_pool_no_overlap')) {
        const { rows } = await this.knex.raw('SELECT name, cidr::text AS cidr FROM ipam_pool WHERE cidr && ?::cidr ORDER BY name', [plan.cidr]);
        throw new BerthError('POOL_OVERLAP', `${plan.cidr} overlaps ${rows.map((r: Row) => `${r.name} (${r.cidr})`).join(', ') || 'another pool'}`, {
          overlaps: rows,
        });
      }
      if (isViolation(err, '23505')) throw new BerthError('POOL_EXISTS', `pool ${plan.name} already exists`, { pool: plan.name });
      throw err;
    }
  }

  async listPools(): Promise<Pool[]> {
    const { rows } = await this.knex.raw(`SELECT ${POOL_COLUMNS} FROM ipam_pool ORDER BY name`);
    return rows.map(toPool);
  }

  async getPool(name: string): Promise<Pool | null> {
    const { rows } = await this.knex.raw(`SELECT ${POOL_COLUMNS} FROM ipam_pool WHERE name = ?`, [name]);
    return rows.length ? toPool(rows[0]) : null;
  }

  async deletePool(name: string, force: boolean, actor: string): Promise<void> {
    await this.knex.transaction(async (trx) => {
      const { rows } = await trx.raw('SELECT id FROM ipam_pool WHERE name = ? FOR UPDATE', [name]);
      if (!rows.length) throw new BerthError('POOL_NOT_FOUND', `pool ${name} not found`, { pool: name });
      const id = num(rows[0].id);
      const held = await trx.raw(`SELECT owner, host(ip) AS ip FROM ipam_address WHERE pool_id = ? AND state = 'allocated' ORDER BY ip`, [id]);
      if (held.rows.length && !force) {
        throw new BerthError('POOL_IN_USE', `pool ${name} has ${held.rows.length} allocated address(es); release them or delete with force`, {
          allocated: held.rows.length,
        });
      }
      await trx.raw(`INSERT INTO ipam_event (pool_id, pool_name, action, actor, detail) VALUES (?, ?, 'pool_delete', ?, ?::jsonb)`, [
        id,
        name,
        actor,
        JSON.stringify({ force, allocations: held.rows }),
      ]);
      await trx.raw('DELETE FROM ipam_pool WHERE id = ?', [id]);
    });
  }

  async usage(): Promise<Map<string, PoolUsage>> {
    const { rows } = await this.knex.raw('SELECT * FROM ipam_usage()');
    return new Map(
      rows.map((r: Row) => [
        String(r.pool_name),
        { capacity: num(r.capacity), allocated: num(r.allocated), quarantined: num(r.quarantined), reserved: num(r.reserved), available: num(r.available) },
      ]),
    );
  }

  async allocate(req: AllocateRequest): Promise<{ allocation: Allocation; created: boolean }> {
    const ctx = { pool: req.pool, appId: req.appId, ...(req.ip ? { ip: req.ip } : {}) };
    for (let attempt = 1; ; attempt++) {
      try {
        const { rows } = await this.knex.raw('SELECT * FROM ipam_allocate(?, ?, ?::inet, ?, ?)', [req.pool, req.appId, req.ip, req.actor, req.claim ?? false]);
        return { allocation: toAllocation(rows[0], req.pool, req.appId), created: Boolean(rows[0].created) };
      } catch (err) {
        // The per-app advisory lock makes this unreachable; if it ever were bypassed, the unique
        // (pool, owner) index refuses the second row and one retry returns the first (docs/ipam.md "Allocation design").
        if (attempt === 1 && isViolation(err, '23505', 'ipam_address_owner_uq')) continue;
        throw mapDbError(err, ctx);
      }
    }
  }

  async getAllocation(pool: string, appId: string): Promise<Allocation | null> {
    const { rows } = await this.knex.raw(`${ALLOCATION_SELECT} WHERE p.name = ? AND a.owner = ?`, [pool, appId]);
    return rows.length ? toAllocation(rows[0]) : null;
  }

  async findAllocations(filter: AllocationFilter): Promise<Allocation[]> {
    const where: string[] = [`a.state = 'allocated'`];
    const args: Knex.RawBinding[] = [];
    if (filter.appId !== undefined) {
      where.push('a.owner = ?');
      args.push(filter.appId);
    }
    if (filter.pool !== undefined) {
      where.push('p.name = ?');
      args.push(filter.pool);
    }
    if (filter.q) {
      // strpos, not LIKE: a `%` or `_` in the search text matches itself, not anything.
      where.push(`(strpos(lower(a.owner), ?) > 0 OR strpos(host(a.ip), ?) > 0)`);
      args.push(filter.q.toLowerCase(), filter.q.toLowerCase());
    }
    if (filter.after) {
      // Keyset paging on the ORDER BY below: (pool name, address) is unique.
      where.push('(p.name, a.ip) > (?, ?::inet)');
      args.push(filter.after.pool, filter.after.ip);
    }
    const { rows } = await this.knex.raw(`${ALLOCATION_SELECT} WHERE ${where.join(' AND ')} ORDER BY p.name, a.ip LIMIT ? OFFSET ?`, [
      ...args,
      filter.limit,
      filter.offset ?? 0,
    ]);
    return rows.map((r: Row) => toAllocation(r));
  }

  async release(pool: string, appId: string, allocationId: number | null, actor: string): Promise<Release | null> {
    try {
      const { rows } = await this.knex.raw('SELECT host(ip) AS ip, allocation_id, available_at FROM ipam_release(?, ?, ?::bigint, ?)', [
        pool,
        appId,
        allocationId,
        actor,
      ]);
      return rows.length ? { ip: String(rows[0].ip), allocationId: num(rows[0].allocation_id), availableAt: iso(rows[0].available_at) } : null;
    } catch (err) {
      throw mapDbError(err, { pool, appId, ...(allocationId !== null ? { allocationId } : {}) });
    }
  }

  async events(pool: string, q: EventQuery): Promise<IpamEvent[]> {
    const { rows: p } = await this.knex.raw('SELECT id FROM ipam_pool WHERE name = ?', [pool]);
    if (!p.length) throw new BerthError('POOL_NOT_FOUND', `pool ${pool} not found`, { pool });
    const where = ['pool_id = ?'];
    const args: Knex.RawBinding[] = [p[0].id];
    if (q.beforeId !== undefined) {
      where.push('id < ?');
      args.push(q.beforeId);
    }
    if (q.appId !== undefined) {
      where.push('owner = ?');
      args.push(q.appId);
    }
    const { rows } = await this.knex.raw(
      `SELECT id, at, pool_name, host(ip) AS ip, owner, allocation_id, action, actor, detail FROM ipam_event
        WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
      [...args, q.limit],
    );
    return rows.map((r: Row) => ({
      id: num(r.id),
      at: iso(r.at),
      pool: String(r.pool_name),
      ip: (r.ip as string | null) ?? null,
      appId: (r.owner as string | null) ?? null,
      allocationId: r.allocation_id == null ? null : num(r.allocation_id),
      action: r.action as IpamEvent['action'],
      actor: String(r.actor),
      detail: json<Record<string, unknown> | null>(r.detail, null),
    }));
  }

  async reconcile(pool: string, live: string[], snapshotAt: Date, graceSeconds: number, maxPerPass: number) {
    try {
      // The app list travels as one JSON parameter: knex would expand a JS array into a list of `?`.
      const { rows } = await this.knex.raw(
        `SELECT * FROM ipam_reconcile(?, ARRAY(SELECT jsonb_array_elements_text(?::jsonb)), ?::timestamptz, make_interval(secs => ?), ?)`,
        [pool, JSON.stringify(live), snapshotAt.toISOString(), graceSeconds, maxPerPass],
      );
      const r = rows[0];
      return { marked: num(r.marked), cleared: num(r.cleared), released: num(r.released), busy: Boolean(r.busy) };
    } catch (err) {
      throw mapDbError(err, { pool });
    }
  }

  async reserve(pool: string, range: { first: string; last: string; text: string }, reason: string, actor: string): Promise<number> {
    return this.knex.transaction(async (trx) => {
      const id = await lockPool(trx, pool);
      // Lock the whole range first: allocators skip locked rows, so none can be taken meanwhile.
      const { rows } = await trx.raw(
        `SELECT host(ip) AS ip, owner, state FROM ipam_address WHERE pool_id = ? AND ip BETWEEN ?::inet AND ?::inet ORDER BY ip FOR UPDATE`,
        [id, range.first, range.last],
      );
      const taken = rows.filter((r: Row) => r.state === 'allocated');
      if (taken.length) {
        throw new BerthError('ADDRESS_TAKEN', `${taken.length} address(es) in ${range.text} are allocated (first: ${taken[0].ip} to ${taken[0].owner})`, {
          allocated: taken.slice(0, 20),
        });
      }
      const upd = await trx.raw(
        `UPDATE ipam_address SET state = 'reserved', reserved_reason = ? WHERE pool_id = ? AND ip BETWEEN ?::inet AND ?::inet AND state = 'free'`,
        [reason, id, range.first, range.last],
      );
      await trx.raw(`UPDATE ipam_pool SET reserved = reserved || ?::jsonb WHERE id = ? AND NOT reserved @> ?::jsonb`, [
        JSON.stringify([range.text]),
        id,
        JSON.stringify([range.text]),
      ]);
      await event(trx, id, pool, 'reserve', actor, { range: range.text, reason, addresses: upd.rowCount ?? 0 });
      return upd.rowCount ?? 0;
    });
  }

  async unreserve(pool: string, range: { first: string; last: string; text: string }, actor: string): Promise<number> {
    return this.knex.transaction(async (trx) => {
      const id = await lockPool(trx, pool);
      const upd = await trx.raw(
        `UPDATE ipam_address SET state = 'free', reserved_reason = NULL
          WHERE pool_id = ? AND ip BETWEEN ?::inet AND ?::inet AND state = 'reserved'
            AND reserved_reason <> 'gateway' AND reserved_reason NOT LIKE 'docker %'`,
        [id, range.first, range.last],
      );
      await trx.raw(`UPDATE ipam_pool SET reserved = reserved - ?::text WHERE id = ?`, [range.text, id]);
      await event(trx, id, pool, 'unreserve', actor, { range: range.text, addresses: upd.rowCount ?? 0 });
      return upd.rowCount ?? 0;
    });
  }

  async poolForAddress(ip: string): Promise<string | null> {
    const { rows } = await this.knex.raw('SELECT p.name FROM ipam_pool p WHERE ?::inet BETWEEN p.alloc_first AND p.alloc_last', [ip]);
    return rows.length ? String(rows[0].name) : null;
  }
}
