import pg from 'pg';
import { systemClock, type Clock } from '../clock';
import { BaseLeadership, type LeadershipBaseOptions } from './base';
import { clientQuery, elect, heartbeat, pruneMembers, type Query } from './sql';

/** Options of the PostgreSQL leadership (all times in ms). */
export interface PgLeadershipOptions extends LeadershipBaseOptions {
  /** PostgreSQL URL; leadership uses its own connection, never the knex pool. */
  databaseUrl: string;
  /** Standbys try to acquire this often, ±20 % jitter (default 1000). */
  retryMs?: number;
  /** Cap of the backoff while the database is unreachable (default 5000). */
  maxRetryMs?: number;
  /** The leader probes its connection and writes its heartbeat this often (default 1000). */
  probeIntervalMs?: number;
  /** A probe or acquire query slower than this counts as a lost connection (default 2000). */
  queryTimeoutMs?: number;
  /** Connecting slower than this is a failed attempt (default 3000). */
  connectTimeoutMs?: number;
  /** How long the epoch bump may wait for writers still fenced in the previous epoch (default 30000). */
  electLockTimeoutMs?: number;
  /**
   * The server ends our session when it stays silent this long (PostgreSQL `idle_session_timeout`),
   * which releases the lock when the leader's host vanishes without closing its socket (default 15000).
   */
  idleSessionTimeoutMs?: number;
  /** After losing leadership, wait this long before competing again so healthy standbys go first (default 2 × retryMs). */
  rejoinDelayMs?: number;
  /** Name hashed into the advisory lock key; replicas of one deployment share it (default `berth:cluster-leader`). */
  lockName?: string;
  clock?: Clock;
}

/**
 * Leadership on PostgreSQL: a session-level advisory lock held on a dedicated connection decides
 * who leads; an epoch bump in `cluster_leader` fences the previous leader's writes. The lock lives
 * exactly as long as that connection, so any sign that the connection is gone (error, end, failed
 * or slow probe) means leadership is gone, announced at once with `lost`.
 */
export class PgLeadership extends BaseLeadership {
  private readonly o: Required<Omit<PgLeadershipOptions, keyof LeadershipBaseOptions>>;
  private conn: pg.Client | null = null;
  private timer: unknown = null;
  private inflight: Promise<void> | null = null;
  private started = false;
  private stopped = false;
  private failures = 0;
  private rejoinAt = 0;

  constructor(opts: PgLeadershipOptions) {
    super(opts);
    const retryMs = opts.retryMs ?? 1000;
    this.o = {
      databaseUrl: opts.databaseUrl,
      retryMs,
      maxRetryMs: opts.maxRetryMs ?? 5000,
      probeIntervalMs: opts.probeIntervalMs ?? 1000,
      queryTimeoutMs: opts.queryTimeoutMs ?? 2000,
      connectTimeoutMs: opts.connectTimeoutMs ?? 3000,
      electLockTimeoutMs: opts.electLockTimeoutMs ?? 30000,
      idleSessionTimeoutMs: opts.idleSessionTimeoutMs ?? 15000,
      rejoinDelayMs: opts.rejoinDelayMs ?? 2 * retryMs,
      lockName: opts.lockName ?? 'berth:cluster-leader',
      clock: opts.clock ?? systemClock,
    };
    // The server would end a session that is legitimately quiet between attempts or probes. (During
    // backoff and the rejoin delay the connection is already closed.)
    const quiet = Math.max(this.o.probeIntervalMs, this.o.retryMs * 1.2) + this.o.queryTimeoutMs;
    if (this.o.idleSessionTimeoutMs <= quiet) {
      throw new Error(`idleSessionTimeoutMs (${this.o.idleSessionTimeoutMs}) must exceed the longest quiet time between queries (${quiet} ms)`);
    }
  }

  /** Makes a first attempt (so a lone replica leads when this returns), then keeps competing. Never throws for database trouble. */
  async start(): Promise<void> {
    if (this.started) throw new Error('leadership already started');
    this.started = true;
    await this.runTick();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.timer = null;
    // A standby's attempt may be waiting on a connect or on the epoch bump's lock: cut it short.
    if (!this.isLeader() && this.inflight && this.conn) this.dropConnection(null, 'stopping');
    await this.inflight;
    const client = this.conn;
    this.conn = null;
    // Tell listeners before the lock goes, so leader-only work stops before a standby can start.
    this.loseLeadership('stopped');
    if (client) {
      await clientQuery(client, 1000)('DELETE FROM cluster_member WHERE id = ?', [this.id]).catch(() => undefined);
      await closeClient(client);
    }
  }

  private runTick(): Promise<void> {
    const run = this.tick().finally(() => {
      this.inflight = null;
      if (!this.stopped) this.schedule();
    });
    this.inflight = run;
    return run;
  }

  private schedule(): void {
    const o = this.o;
    let delay: number;
    if (this.isLeader()) delay = o.probeIntervalMs;
    else {
      const base = Math.min(o.maxRetryMs, o.retryMs * 2 ** Math.min(this.failures, 10));
      delay = Math.max(base * (0.8 + Math.random() * 0.4), this.rejoinAt - o.clock.now());
    }
    const t = o.clock.setTimeout(() => {
      this.timer = null;
      void this.runTick();
    }, delay);
    // The loop alone must not keep a CLI process alive.
    (t as { unref?: () => void }).unref?.();
    this.timer = t;
  }

  private async tick(): Promise<void> {
    try {
      if (this.isLeader()) await this.probe();
      else if (this.o.clock.now() >= this.rejoinAt) await this.attempt();
      if (this.failures > 0) this.logger.info({ after: this.failures }, 'leadership connection healthy again');
      this.failures = 0;
    } catch (err) {
      if (this.stopped) return; // stop() cut the attempt short: not a failure
      this.failures++;
      this.countConnectionError();
      // One line per streak (then every 10th), not one per retry while the database is down.
      if (this.failures === 1 || this.failures % 10 === 0) {
        this.logger.warn({ err: (err as Error).message, failures: this.failures }, 'leadership connection failed');
      }
      this.dropConnection(this.isLeader() ? 'probe' : null, (err as Error).message);
    }
  }

  private async attempt(): Promise<void> {
    const client = this.conn ?? (await this.connect());
    const q = clientQuery(client, this.o.queryTimeoutMs);
    const [row] = await q('SELECT pg_try_advisory_lock(hashtextextended(?, 0)) AS locked', [this.o.lockName]);
    if (!row?.locked) {
      await heartbeat(q, this.self, 'standby', null);
      return;
    }
    // Only the lock holder gets here. The bump waits (up to the lock timeout) for writers still
    // fenced in the previous epoch; it commits atomically with our member row.
    const slow = clientQuery(client, this.o.electLockTimeoutMs + this.o.queryTimeoutMs);
    await q('BEGIN');
    await q(`SET LOCAL lock_timeout = '${Math.round(this.o.electLockTimeoutMs)}ms'`);
    const { epoch, acquiredAt } = await elect(slow, this.id, this.self.url);
    await heartbeat(q, this.self, 'leader', epoch);
    await q('COMMIT');
    // The connection may have died (and with it the lock) while we committed, or stop() began.
    if (client !== this.conn || this.stopped) return;
    this.becomeLeader(epoch, acquiredAt);
    await pruneMembers(q).catch(() => undefined);
  }

  private async probe(): Promise<void> {
    const client = this.conn;
    if (!client) throw new Error('leadership connection missing');
    const epoch = this.epoch();
    const recorded = await heartbeat(clientQuery(client, this.o.queryTimeoutMs), this.self, 'leader', epoch);
    if (recorded !== epoch && this.isLeader()) {
      // Someone bumped the epoch without our lock (manual intervention): the fence already refuses us.
      this.dropConnection('superseded', `epoch ${recorded} recorded, ours is ${epoch}`);
    }
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.o.databaseUrl,
      connectionTimeoutMillis: this.o.connectTimeoutMs,
      keepAlive: true,
      // Operators find the replica holding the lock in pg_stat_activity / pg_locks by this name.
      application_name: `berth:${this.id}`.slice(0, 63),
    });
    client.on('error', (err) => this.onConnectionGone(client, err.message));
    client.on('end', () => this.onConnectionGone(client, 'connection ended'));
    try {
      await client.connect();
      await clientQuery(client, this.o.queryTimeoutMs)(`SET idle_session_timeout = '${Math.round(this.o.idleSessionTimeoutMs)}ms'`);
    } catch (err) {
      void closeClient(client);
      throw err;
    }
    if (this.stopped) {
      void closeClient(client);
      throw new Error('leadership stopped');
    }
    this.conn = client;
    return client;
  }

  // Events of a connection we already dropped are ignored (its loss was handled then).
  private onConnectionGone(client: pg.Client, detail: string): void {
    if (client !== this.conn) return;
    this.countConnectionError();
    this.dropConnection('connection', detail);
  }

  /** Closes the leadership connection; when leading, loses leadership with `reason`. */
  private dropConnection(reason: 'connection' | 'probe' | 'superseded' | null, detail: string): void {
    const client = this.conn;
    this.conn = null;
    if (this.isLeader() && reason) {
      this.rejoinAt = this.o.clock.now() + this.o.rejoinDelayMs;
      this.loseLeadership(reason, detail);
    }
    if (client) void closeClient(client);
  }
}

/** Ends a client; if the server does not answer in time, destroys the socket (which also frees the lock server-side). */
async function closeClient(client: pg.Client, timeoutMs = 1000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = client.end().catch(() => undefined);
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), timeoutMs)));
  if ((await Promise.race([ended, late])) === 'late') {
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  }
  clearTimeout(timer);
}

export type { Query };
