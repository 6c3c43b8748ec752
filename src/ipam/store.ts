/** The storage port of IPAM; `KnexIpamStore` is the real adapter (PostgreSQL or PGlite). */
import type { Allocation, IpamEvent, Pool, PoolPlan, PoolUsage } from './types';

export interface AllocateRequest {
  pool: string;
  appId: string;
  /** A fixed address, or null for the next one. */
  ip: string | null;
  actor: string;
  /** A claim takes an address a running container already uses, ignoring its quarantine. */
  claim?: boolean;
}

export interface Release {
  ip: string;
  allocationId: number;
  availableAt: string;
}

export interface AllocationFilter {
  appId?: string;
  pool?: string;
  q?: string;
  after?: { pool: string; ip: string };
  offset?: number;
  limit: number;
}

export interface EventQuery {
  limit: number;
  /** Only events with a smaller id (paging backwards). */
  beforeId?: number;
  appId?: string;
}

/** Storage for pools, addresses and the audit trail. Errors are thrown as `BerthError`. */
export interface IpamStore {
  createPool(plan: PoolPlan, actor: string): Promise<void>;
  listPools(): Promise<Pool[]>;
  getPool(name: string): Promise<Pool | null>;
  /** Refuses (POOL_IN_USE) while addresses are allocated, unless `force`. */
  deletePool(name: string, force: boolean, actor: string): Promise<void>;
  /** Usage of every pool, counted by the database. */
  usage(): Promise<Map<string, PoolUsage>>;
  allocate(req: AllocateRequest): Promise<{ allocation: Allocation; created: boolean }>;
  getAllocation(pool: string, appId: string): Promise<Allocation | null>;
  /**
   * Ordered by pool name, then address. `q`: case-insensitive substring of the app id or address;
   * `after`: only allocations after this (pool, address) (keyset paging); `offset`: rows to skip.
   */
  findAllocations(filter: AllocationFilter): Promise<Allocation[]>;
  /** Null when the app holds nothing (idempotent); STALE_ALLOCATION when `allocationId` is old. */
  release(pool: string, appId: string, allocationId: number | null, actor: string): Promise<Release | null>;
  events(pool: string, q: EventQuery): Promise<IpamEvent[]>;
  reconcile(
    pool: string,
    live: string[],
    snapshotAt: Date,
    graceSeconds: number,
    maxPerPass: number,
  ): Promise<{ marked: number; cleared: number; released: number; busy: boolean }>;
  /** Marks free addresses in [first, last] reserved; ADDRESS_TAKEN (and nothing changes) if one is allocated. */
  reserve(pool: string, range: { first: string; last: string; text: string }, reason: string, actor: string): Promise<number>;
  /** Frees operator reservations in [first, last] (the gateway and Docker ranges stay). */
  unreserve(pool: string, range: { first: string; last: string; text: string }, actor: string): Promise<number>;
  /** The pool whose allocation window holds `ip`, if any. */
  poolForAddress(ip: string): Promise<string | null>;
}
