import type { Knex } from 'knex';
import { systemClock, type Clock } from '../clock';
import { BaseLeadership, type LeadershipBaseOptions } from './base';
import { elect, heartbeat, knexQuery, pruneMembers } from './sql';

export interface EmbeddedLeadershipOptions extends LeadershipBaseOptions {
  knex: Knex;
  /** How often the member heartbeat is refreshed (default 1000 ms); only for /v1/cluster. */
  heartbeatMs?: number;
  clock?: Clock;
}

/**
 * The embedded database (PGlite) lives inside this process, so there is exactly one replica and
 * it leads from `start()`. Same tables and epoch as on PostgreSQL, so writers fence the same way
 * (and an embedded database later moved to PostgreSQL keeps counting epochs).
 */
export class EmbeddedLeadership extends BaseLeadership {
  private readonly knex: Knex;
  private readonly heartbeatMs: number;
  private readonly clock: Clock;
  private timer: unknown = null;
  private started = false;
  private stopped = false;

  constructor(opts: EmbeddedLeadershipOptions) {
    super(opts);
    this.knex = opts.knex;
    this.heartbeatMs = opts.heartbeatMs ?? 1000;
    this.clock = opts.clock ?? systemClock;
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('leadership already started');
    this.started = true;
    const { epoch, acquiredAt } = await this.knex.transaction(async (trx) => {
      const q = knexQuery(trx);
      const won = await elect(q, this.id, this.self.url);
      await heartbeat(q, this.self, 'leader', won.epoch);
      return won;
    });
    await pruneMembers(knexQuery(this.knex)).catch(() => undefined);
    this.becomeLeader(epoch, acquiredAt);
    this.scheduleHeartbeat();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.loseLeadership('stopped');
    await knexQuery(this.knex)('DELETE FROM cluster_member WHERE id = ?', [this.id]).catch(() => undefined);
  }

  private scheduleHeartbeat(): void {
    const t = this.clock.setTimeout(() => {
      if (this.stopped) return;
      heartbeat(knexQuery(this.knex), this.self, 'leader', this.epoch())
        .catch((err: Error) => this.logger.debug({ err: err.message }, 'heartbeat failed'))
        .finally(() => {
          if (!this.stopped) this.scheduleHeartbeat();
        });
    }, this.heartbeatMs);
    (t as { unref?: () => void }).unref?.();
    this.timer = t;
  }
}
