import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Knex } from 'knex';
import { BerthError } from '../errors';
import type { Logger } from '../log';
import { assertEpoch } from './fence';
import type { ClusterMetrics } from './metrics';
import type { Self } from './sql';
import type { Leadership, LeadershipEvents, LossReason, Role } from './types';

/** Options shared by both implementations. */
export interface LeadershipBaseOptions {
  /** Replica id; default `<hostname>-<pid>-<random>` (unique per process start). */
  id?: string;
  /** Where this replica's API is reached (shown to operators in /v1/cluster). */
  apiUrl?: string | null;
  logger: Logger;
  metrics?: ClusterMetrics;
}

/** A default replica id: readable in pg_stat_activity and logs, unique across restarts. */
function defaultReplicaId(): string {
  return `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** State, events, metrics and the fence common to the PostgreSQL and embedded implementations. */
export abstract class BaseLeadership extends EventEmitter implements Leadership {
  readonly id: string;
  protected readonly self: Self;
  protected readonly logger: Logger;
  private readonly metrics?: ClusterMetrics;
  private current: { epoch: number; since: Date } | null = null;

  constructor(opts: LeadershipBaseOptions) {
    super();
    this.id = opts.id ?? defaultReplicaId();
    this.self = { id: this.id, url: opts.apiUrl ?? null, startedAt: new Date() };
    this.logger = opts.logger.child({ component: 'cluster', replica: this.id });
    this.metrics = opts.metrics;
  }

  abstract start(): Promise<void>;

  // Typed event methods (EventEmitter's own signatures are untyped).
  override on<E extends keyof LeadershipEvents>(event: E, listener: (...args: LeadershipEvents[E]) => void): this {
    return super.on(event, listener as (...a: unknown[]) => void);
  }

  override once<E extends keyof LeadershipEvents>(event: E, listener: (...args: LeadershipEvents[E]) => void): this {
    return super.once(event, listener as (...a: unknown[]) => void);
  }

  override off<E extends keyof LeadershipEvents>(event: E, listener: (...args: LeadershipEvents[E]) => void): this {
    return super.off(event, listener as (...a: unknown[]) => void);
  }

  abstract stop(): Promise<void>;

  get startedAt(): Date {
    return this.self.startedAt;
  }

  apiUrl(): string | null {
    return this.self.url;
  }

  setApiUrl(url: string | null): void {
    this.self.url = url;
  }

  isLeader(): boolean {
    return this.current !== null;
  }

  role(): Role {
    return this.current ? 'leader' : 'standby';
  }

  epoch(): number | null {
    return this.current?.epoch ?? null;
  }

  leaderSince(): Date | null {
    return this.current?.since ?? null;
  }

  async assertLeader(trx: Knex.Transaction, epoch: number | null = this.epoch()): Promise<number> {
    // Cheap local check first: a replica that knows it lost (or work captured in an older epoch)
    // fails without a round trip; the SQL fence covers what this process cannot know yet.
    if (epoch === null || this.current?.epoch !== epoch) {
      throw new BerthError('NOT_LEADER', `replica ${this.id} is not the leader${epoch === null ? '' : ` in epoch ${epoch}`}`, {
        replica: this.id,
        epoch,
        currentEpoch: this.epoch(),
      });
    }
    await assertEpoch(trx, epoch);
    return epoch;
  }

  protected becomeLeader(epoch: number, since: Date): void {
    this.current = { epoch, since };
    this.metrics?.isLeader.set(1);
    this.metrics?.epoch.set(epoch);
    this.metrics?.leaderSince.set(since.getTime() / 1000);
    this.metrics?.elections.inc();
    this.logger.info({ epoch }, 'elected leader');
    this.safeEmit('elected', epoch);
  }

  /** Drops leadership (no-op when not leading) and tells listeners synchronously. */
  protected loseLeadership(reason: LossReason, detail?: string): void {
    if (!this.current) return;
    const { epoch } = this.current;
    this.current = null;
    this.metrics?.isLeader.set(0);
    this.metrics?.epoch.set(0);
    this.metrics?.leaderSince.set(0);
    this.metrics?.losses.inc({ reason });
    if (reason === 'stopped') this.logger.info({ epoch }, 'leadership released');
    else this.logger.warn({ epoch, reason, detail }, 'leadership lost');
    this.safeEmit('lost', reason);
  }

  protected countConnectionError(): void {
    this.metrics?.connectionErrors.inc();
  }

  // A throwing listener must not break the election loop (it would leave state half-updated).
  private safeEmit<E extends keyof LeadershipEvents>(event: E, ...args: LeadershipEvents[E]): void {
    // rawListeners: calling a `once` wrapper is what removes it.
    for (const l of this.rawListeners(event)) {
      try {
        (l as (...a: unknown[]) => void)(...args);
      } catch (err) {
        this.logger.error({ err, event }, 'leadership listener failed');
      }
    }
  }
}
