import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { systemClock, type Clock } from '../../clock';
import type { ReadinessCheck } from '../../http/app';
import type { Logger } from '../../log';
import { coalesce, type Coalescer } from '../../runtime/coalesce';
import type { RegistryView } from '../../registry/view';
import type { LuaAdmin } from './client';
import { deltaBody, EntryBuilder, fullBody, type DictEntries } from './entries';

export interface LuaPusherOptions {
  admin: LuaAdmin;
  view: RegistryView;
  logger: Logger;
  metricsRegistry: Registry;
  clock?: Clock;
  /** Batching window after a registry change (default 200 ms): a burst of changes is one push. */
  delayMs?: number;
  /** How often the dict's state is checked when nothing changes (default 1 s): notices an Nginx restart. */
  pollMs?: number;
  /** Readiness turns false once pushes have failed (the dict may be stale) for this long (default 5 s). */
  staleAfterMs?: number;
}

/** Longest pause between retries of a failed push: short, since Nginx serves stale endpoints meanwhile. */
const MAX_BACKOFF_MS = 2000;

/** What readiness and the status show. */
export interface LuaPusherStatus {
  /** Boot id of the dict berth last filled completely (null: none yet, or a restart was seen). */
  boot: string | null;
  /** Registry position the dict holds. */
  pushedPosition: number | null;
  /** Since when pushes fail (ISO), null when the last one succeeded. */
  failingSince: string | null;
  lastError: string | null;
}

/**
 * Keeps Nginx's endpoint dict (BERTH_NGINX_DYNAMIC=lua) equal to the registry without reloads.
 * A registry change arms a `delayMs` window; the run then pushes only the upstreams that changed
 * since the last confirmed push. Every run first reads the dict's boot id: a new one (Nginx was
 * restarted and lost its shared memory) or an upstream count that differs from what berth pushed
 * makes it a full push, which replaces the whole dict. Failed runs are retried with a short backoff.
 */
export class LuaPusher {
  private readonly clock: Clock;
  private readonly loop: Coalescer;
  private readonly entries = new EntryBuilder();
  private readonly metrics: ReturnType<typeof pusherMetrics>;
  private unsubscribe: (() => void) | null = null;
  /** What the dict holds, as far as berth confirmed (null: unknown, next push is full). */
  private pushed: DictEntries | null = null;
  private boot: string | null = null;
  private pushedPosition: number | null = null;
  private failures = 0;
  private failingSince: number | null = null;
  private lastError: string | null = null;

  constructor(private readonly opts: LuaPusherOptions) {
    this.clock = opts.clock ?? systemClock;
    this.metrics = pusherMetrics(opts.metricsRegistry);
    this.loop = coalesce({
      clock: this.clock,
      everyMs: opts.pollMs ?? 1000,
      run: () => this.run(),
      onError: (err) => opts.logger.warn({ err: (err as Error).message }, 'lua endpoint push failed'),
    });
  }

  start(): void {
    this.unsubscribe = this.opts.view.onChange(() => this.loop.request({ delayMs: this.delay() }));
    this.loop.request({ immediate: true });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.loop.stop();
  }

  /** Pushes the latest registry now; resolves once a run that started after the call finished (it never rejects). */
  flush(): Promise<void> {
    return this.loop.flush();
  }

  status(): LuaPusherStatus {
    return {
      boot: this.boot,
      pushedPosition: this.pushedPosition,
      failingSince: this.failingSince === null ? null : new Date(this.failingSince).toISOString(),
      lastError: this.lastError,
    };
  }

  /**
   * Not ready until a full push into the dict of the running Nginx was confirmed (at start and after
   * an Nginx restart), nor while pushes have been failing for longer than `staleAfterMs`.
   */
  readiness(): ReadinessCheck {
    return {
      name: 'nginx-lua',
      check: async () => {
        const detail = this.status();
        if (this.pushed === null) return { ok: false, detail: { ...detail, reason: 'the endpoint dict has not been filled since Nginx (or berth) started' } };
        const stale = this.failingSince !== null && this.clock.now() - this.failingSince > (this.opts.staleAfterMs ?? 5000);
        if (stale) return { ok: false, detail: { ...detail, reason: 'endpoint pushes keep failing: Nginx may serve stale endpoints' } };
        return { ok: true, detail };
      },
    };
  }

  /** While failing, a registry change does not retry sooner than the backoff. */
  private delay(): number {
    const base = this.opts.delayMs ?? 200;
    return this.failures === 0 ? base : Math.max(base, this.backoff());
  }

  private backoff(): number {
    return Math.min(MAX_BACKOFF_MS, (this.opts.delayMs ?? 200) * 2 ** Math.max(0, this.failures - 1));
  }

  private async run(): Promise<void> {
    try {
      await this.push();
      this.failures = 0;
      this.failingSince = null;
      this.lastError = null;
    } catch (err) {
      const message = (err as Error).message;
      if (this.failures === 0) this.opts.logger.warn({ err: message }, 'lua endpoint push failed; retrying');
      this.failures++;
      this.failingSince ??= this.clock.now();
      this.lastError = message;
      this.metrics.failures.inc();
      this.loop.request({ delayMs: this.backoff() });
    }
  }

  private async push(): Promise<void> {
    const snapshot = await this.opts.view.snapshot();
    // An unloaded registry is an empty catalog, not "no endpoints anywhere": never push it.
    if (!snapshot.loaded) return;
    const state = await this.opts.admin.state();
    const desired = this.entries.build(snapshot.services);
    const started = this.clock.now();
    const known = this.pushed !== null && state.boot === this.boot && state.upstreams === this.pushed.size;
    if (!known) {
      if (this.pushed !== null) {
        this.opts.logger.warn({ boot: state.boot, upstreams: state.upstreams, expected: this.pushed.size }, 'nginx endpoint dict lost or changed: full push');
      }
      this.pushed = null; // readiness: not ready until the full push below is confirmed
      const after = await this.opts.admin.push(fullBody(desired), true);
      this.confirm(desired, after.boot, snapshot.position, 'full', started);
      return;
    }
    const delta = deltaBody(this.pushed!, desired);
    if (delta.lines > 0) {
      const after = await this.opts.admin.push(delta.body, false);
      if (after.boot !== this.boot) {
        // Nginx restarted between the state check and the write: the dict holds only this delta.
        this.pushed = null;
        throw new Error('Nginx restarted during a push');
      }
      this.confirm(desired, after.boot, snapshot.position, 'delta', started);
      return;
    }
    this.pushedPosition = snapshot.position;
  }

  private confirm(entries: DictEntries, boot: string, position: number, mode: 'full' | 'delta', started: number): void {
    this.pushed = entries;
    this.boot = boot;
    this.pushedPosition = position;
    this.metrics.pushes.inc({ mode });
    this.metrics.duration.observe({ mode }, (this.clock.now() - started) / 1000);
    this.metrics.upstreams.set(entries.size);
  }
}

function pusherMetrics(registry: Registry) {
  const registers = [registry];
  return {
    pushes: new Counter({
      name: 'berth_nginx_lua_pushes_total',
      help: 'Endpoint pushes into the Nginx Lua dict by mode (full, delta)',
      labelNames: ['mode'],
      registers,
    }),
    failures: new Counter({
      name: 'berth_nginx_lua_push_failures_total',
      help: 'Endpoint push runs that failed (admin unreachable, refused or timed out)',
      registers,
    }),
    duration: new Histogram({
      name: 'berth_nginx_lua_push_duration_seconds',
      help: 'Time to write endpoints into the Nginx Lua dict, by mode',
      labelNames: ['mode'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    upstreams: new Gauge({ name: 'berth_nginx_lua_upstreams', help: 'Upstreams whose endpoints berth keeps in the Nginx Lua dict', registers }),
  };
}
