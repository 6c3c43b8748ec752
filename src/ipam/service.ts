/** IpamService: validation, logging and metrics around an IpamStore. What routes, CLI and the reconciler call. */
import { BerthError, isBerthError } from '../errors';
import type { Logger } from '../log';
import { DEFAULT_LABEL_PREFIX, labelNames } from '../model/labels';
import { formatIp } from './address';
import { dockerNetworkCommand } from './docker';
import type { IpamMetrics } from './metrics';
import { applyAllocation, dockerNetworkFor, readIpRequest } from './prepare';
import type { AllocationFilter, IpamStore } from './store';
import type { Allocation, ClaimResult, IpamEvent, Pool, PoolSpec, PoolUsage, PoolWithUsage, ReconcileOptions, ReconcileResult } from './types';
import { checkAppId, checkIp, checkPoolName, planPool, planReservation } from './validate';

export interface IpamServiceOptions {
  store: IpamStore;
  logger: Logger;
  metrics?: IpamMetrics;
  /** Label prefix (BERTH_LABEL_PREFIX); `<prefix>ip` is read by prepareApp. */
  labelPrefix?: string;
  /** Pool used by `berth.ip=auto` when several pools exist. */
  defaultPool?: string;
}

const EMPTY_USAGE: PoolUsage = { capacity: 0, allocated: 0, quarantined: 0, reserved: 0, available: 0 };

export class IpamService {
  private readonly store: IpamStore;
  private readonly log: Logger;
  private readonly ipLabel: string;

  constructor(private readonly opts: IpamServiceOptions) {
    this.store = opts.store;
    this.log = opts.logger.child({ component: 'ipam' });
    this.ipLabel = labelNames(opts.labelPrefix ?? DEFAULT_LABEL_PREFIX).ip;
  }

  /** Creates and populates a pool (a /16 takes about a second). */
  async createPool(spec: PoolSpec, actor = 'api'): Promise<PoolWithUsage> {
    const plan = planPool(spec);
    await this.track(() => this.store.createPool(plan, actor));
    this.log.info({ pool: plan.name, cidr: plan.cidr, actor }, 'pool created');
    return this.getPool(plan.name);
  }

  async listPools(): Promise<PoolWithUsage[]> {
    const [pools, usage] = await Promise.all([this.store.listPools(), this.store.usage()]);
    return pools.map((p) => ({ ...p, usage: usage.get(p.name) ?? EMPTY_USAGE }));
  }

  /** A pool with its usage; POOL_NOT_FOUND otherwise. */
  async getPool(name: string): Promise<PoolWithUsage> {
    const pool = await this.requirePool(name);
    const usage = await this.store.usage();
    return { ...pool, usage: usage.get(pool.name) ?? EMPTY_USAGE };
  }

  async deletePool(name: string, opts: { force?: boolean; actor?: string } = {}): Promise<void> {
    await this.track(() => this.store.deletePool(name, opts.force ?? false, opts.actor ?? 'api'));
    this.log.info({ pool: name, force: opts.force ?? false, actor: opts.actor }, 'pool deleted');
  }

  /** Reserves an address, CIDR or first-last range of a pool (refused while any of it is allocated). */
  async reserve(pool: string, address: string, opts: { reason?: string; actor?: string } = {}): Promise<{ pool: string; address: string; addresses: number }> {
    const range = planReservation((await this.requirePool(pool)).cidr, address);
    const n = await this.track(() => this.store.reserve(pool, range, opts.reason ?? 'reserved', opts.actor ?? 'api'));
    this.log.info({ pool, range: range.text, addresses: n, actor: opts.actor }, 'addresses reserved');
    return { pool, address: range.text, addresses: n };
  }

  /** Frees operator reservations (the gateway and Docker ranges stay reserved). */
  async unreserve(pool: string, address: string, opts: { actor?: string } = {}): Promise<{ pool: string; address: string; addresses: number }> {
    const range = planReservation((await this.requirePool(pool)).cidr, address);
    const n = await this.track(() => this.store.unreserve(pool, range, opts.actor ?? 'api'));
    this.log.info({ pool, range: range.text, addresses: n, actor: opts.actor }, 'addresses unreserved');
    return { pool, address: range.text, addresses: n };
  }

  /** Usage of every pool, counted by the database. */
  usage(): Promise<Map<string, PoolUsage>> {
    return this.store.usage();
  }

  /**
   * Idempotent per app: the app's current address (created false), else its previous one if
   * still free, else the oldest-available free address. `ip` asks for that exact address.
   */
  async allocate(pool: string, appId: string, opts: { ip?: string; actor?: string } = {}): Promise<{ allocation: Allocation; created: boolean }> {
    const end = this.opts.metrics?.allocationSeconds.startTimer();
    try {
      checkAppId(appId);
      const ip = opts.ip === undefined ? null : formatIp(checkIp(opts.ip, 'ip'));
      const r = await this.store.allocate({ pool, appId, ip, actor: opts.actor ?? 'api' });
      end?.({ result: r.created ? 'created' : 'existing' });
      if (r.created) this.log.info({ pool, appId, ip: r.allocation.ip, allocationId: r.allocation.allocationId, actor: opts.actor }, 'ip allocated');
      return r;
    } catch (err) {
      end?.({ result: 'error' });
      throw await this.enrich(this.count(err), pool);
    }
  }

  /** The app's allocation in `pool`; ALLOCATION_NOT_FOUND (or POOL_NOT_FOUND) otherwise. */
  async getAllocation(pool: string, appId: string): Promise<Allocation> {
    checkAppId(appId);
    const a = await this.store.getAllocation(pool, appId);
    if (a) return a;
    await this.requirePool(pool);
    throw new BerthError('ALLOCATION_NOT_FOUND', `${appId} holds no address in pool ${pool}`, { pool, appId });
  }

  /** Allocations, by app id (every pool) and/or pool. */
  async findAllocations(filter: Omit<AllocationFilter, 'limit'> & { limit?: number }): Promise<Allocation[]> {
    if (filter.appId !== undefined) checkAppId(filter.appId);
    if (filter.after !== undefined) checkIp(filter.after.ip, 'cursor');
    if (filter.pool !== undefined) await this.requirePool(filter.pool);
    return this.store.findAllocations({ ...filter, limit: filter.limit ?? 1000 });
  }

  /**
   * Releases into quarantine. Idempotent (null when nothing is held); with `allocationId`, refuses
   * (STALE_ALLOCATION) when the app holds a newer allocation than the caller knows about.
   */
  async release(pool: string, appId: string, opts: { allocationId?: number; actor?: string } = {}) {
    try {
      checkAppId(appId);
      const r = await this.store.release(pool, appId, opts.allocationId ?? null, opts.actor ?? 'api');
      if (r) this.log.info({ pool, appId, ip: r.ip, allocationId: r.allocationId, availableAt: r.availableAt, actor: opts.actor }, 'ip released');
      return r;
    } catch (err) {
      throw this.count(err);
    }
  }

  /** Audit trail of a pool, newest first. */
  events(pool: string, q: { limit?: number; beforeId?: number; appId?: string } = {}): Promise<IpamEvent[]> {
    if (q.appId !== undefined) checkAppId(q.appId);
    return this.store.events(pool, { limit: q.limit ?? 100, beforeId: q.beforeId, appId: q.appId });
  }

  /** The `docker network create` command for the pool. */
  async dockerNetwork(pool: string) {
    return dockerNetworkCommand(await this.requirePool(pool));
  }

  /**
   * Fills a Marathon app definition whose `berth.ip` is `auto` or `auto:<pool>`: allocates, and
   * returns the definition with the literal IP label and Docker `net`/`ip` parameters.
   * Definitions without an `auto` request come back unchanged with `allocation` null.
   */
  async prepareApp(definition: unknown, actor = 'api'): Promise<{ app: Record<string, unknown>; allocation: Allocation | null; created: boolean }> {
    const { appId, request } = readIpRequest(definition, this.ipLabel);
    const app = definition as Record<string, unknown>;
    if (request.kind === 'none') return { app, allocation: null, created: false };
    const pool = await this.requirePool(request.pool ?? (await this.defaultPoolName()));
    dockerNetworkFor(app, pool); // refuse before allocating: a bad request changes nothing
    const { allocation, created } = await this.allocate(pool.name, appId, { actor });
    return { app: applyAllocation(app, this.ipLabel, pool, allocation), allocation, created };
  }

  /**
   * One reconciliation pass (docs/ipam.md "Reconciliation with Marathon"). `snapshotAt` must be taken BEFORE fetching
   * Marathon's apps. Never acts on an empty answer, nor when too many allocations vanish at once.
   */
  async reconcile(pool: string, liveAppIds: readonly string[], snapshotAt: Date, opts: ReconcileOptions = {}): Promise<ReconcileResult> {
    const usage = (await this.store.usage()).get(checkPoolName(pool));
    if (!usage) throw new BerthError('POOL_NOT_FOUND', `pool ${pool} not found`, { pool });
    const live = [...new Set(liveAppIds)];
    const none = { pool, marked: 0, cleared: 0, released: 0 };
    if (usage.allocated > 0 && live.length === 0) {
      this.log.warn({ pool, allocated: usage.allocated }, 'reconcile skipped: Marathon answered with no apps');
      return { ...none, skipped: 'empty-answer' };
    }
    const held = await this.store.findAllocations({ pool, limit: 1_000_000 });
    const liveSet = new Set(live);
    const missing = held.filter((a) => !liveSet.has(a.appId)).length;
    const maxRatio = opts.maxMissingRatio ?? 0.5;
    // A few deleted apps in a small pool are normal (1 of 1 is 100 %); many at once smells of a
    // partial Marathon answer (docs/ipam.md "Reconciliation with Marathon", circuit breakers).
    if (missing > (opts.minMissingForRatio ?? 5) && missing / held.length > maxRatio) {
      this.log.warn({ pool, missing, allocated: held.length }, 'reconcile skipped: too many allocations missing at once');
      return { ...none, skipped: 'too-many-missing' };
    }
    const r = await this.store.reconcile(pool, live, snapshotAt, opts.graceSeconds ?? 600, opts.maxPerPass ?? 200);
    if (r.marked || r.cleared || r.released) this.log.info({ pool, ...r }, 'ipam reconciled');
    return r.busy ? { ...none, skipped: 'busy' } : { pool, marked: r.marked, cleared: r.cleared, released: r.released };
  }

  /** Records that a running container of `appId` already uses `ip` (found in Marathon, unknown here). */
  async claim(pool: string, appId: string, ip: string): Promise<ClaimResult> {
    try {
      checkAppId(appId);
      const addr = formatIp(checkIp(ip, 'ip'));
      const { allocation, created } = await this.store.allocate({ pool, appId, ip: addr, actor: 'reconciler', claim: true });
      if (created) this.log.info({ pool, appId, ip: addr }, 'ip claimed for a running app');
      return { status: created ? 'claimed' : 'already-held', allocation };
    } catch (err) {
      if (isBerthError(err) && err.code !== 'POOL_NOT_FOUND') {
        const owner = typeof err.details.heldBy === 'string' ? err.details.heldBy : undefined;
        return { status: 'conflict', code: err.code, message: err.message, ...(owner ? { owner } : {}) };
      }
      throw err;
    }
  }

  /** Name of the pool whose allocation window holds `ip`, or null. */
  poolForAddress(ip: string): Promise<string | null> {
    return this.store.poolForAddress(formatIp(checkIp(ip, 'ip')));
  }

  private async requirePool(name: string): Promise<Pool> {
    const pool = await this.store.getPool(name);
    if (!pool) throw this.count(new BerthError('POOL_NOT_FOUND', `pool ${name} not found`, { pool: name }));
    return pool;
  }

  private async defaultPoolName(): Promise<string> {
    if (this.opts.defaultPool) return this.opts.defaultPool;
    const pools = await this.store.listPools();
    if (pools.length === 1) return pools[0].name;
    throw new BerthError('INVALID_APP_DEFINITION', `${pools.length} pools exist and no default pool is configured: use ${this.ipLabel}=auto:<pool>`, {
      pools: pools.map((p) => p.name),
    });
  }

  private async track<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.count(err);
    }
  }

  private count(err: unknown): unknown {
    this.opts.metrics?.errors.inc({ code: isBerthError(err) ? err.code : 'INTERNAL' });
    return err;
  }

  /** Exhaustion says how much is in quarantine: "exhausted" with 500 quarantined is a different problem. */
  private async enrich(err: unknown, pool: string): Promise<unknown> {
    if (!isBerthError(err) || err.code !== 'POOL_EXHAUSTED') return err;
    const u = await this.store
      .usage()
      .then((m) => m.get(pool))
      .catch(() => undefined);
    return u ? new BerthError(err.code, `${err.message} (${u.quarantined} in quarantine, ${u.reserved} reserved)`, { ...err.details, usage: u }) : err;
  }
}
