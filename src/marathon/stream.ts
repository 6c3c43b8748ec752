/**
 * Marathon's `/v2/events` as a resilient stream (docs/reliability.md, rule 2):
 * eventsource@4 parses SSE; this class owns the connection policy. Each connection attempt is one
 * EventSource (its own retry is switched off by closing it on any error) so that reconnects use
 * jittered exponential backoff and rotate through the configured URLs. An idle watchdog, reset by
 * every byte including the bare-CRLF keepalives, catches stalled streams. Every (re)connect emits
 * `connected`: the caller must take a full snapshot then, since Marathon has no replay.
 *
 * Events (typed in `EventStreamEvents`): `connected`, `event`, `disconnected`, `resync`, and
 * `error` (only emitted when someone listens, so an unhandled 'error' never crashes the daemon).
 */
import { EventEmitter } from 'node:events';
import { EventSource } from 'eventsource';
import type { Logger } from 'pino';
import { type Clock, systemClock } from '../clock';
import { silentLogger } from '../log';
import { Backoff, type BackoffOptions } from './backoff';
import { type MarathonAuth, authorizationHeader, normalizeBaseUrls } from './auth';
import { MarathonError, TOO_LARGE_CODES } from './errors';
import { parseEvent } from './event-parse';
import { DEFAULT_MAX_EVENT_BYTES } from './limits';
import type { MarathonEvent } from './types';
import type { MarathonMetrics } from './metrics';
import { tapFetch } from './stream-fetch';

export interface EventStreamOptions extends MarathonAuth {
  urls: string[];
  /** Server-side filter (`event_type=` repeated). Empty: every event. */
  eventTypes?: string[];
  /** Ask for light deployment plans (1.5.9+; ignored by 1.4 and 1.8+). Default true. */
  lightPlans?: boolean;
  /** No byte for this long → reconnect. Must exceed Marathon's 10 s keepalive. Default 30 000 ms. */
  idleTimeoutMs?: number;
  backoff?: BackoffOptions;
  /**
   * Emit `resync` this long after the last (re)connect or resync, so a consumer snapshots
   * periodically even when the stream looks healthy (BERTH_RESYNC_INTERVAL_MS). 0/absent: never.
   */
  resyncIntervalMs?: number;
  /**
   * Largest event (BERTH_MARATHON_MAX_EVENT_BYTES). A larger one is dropped before it is buffered
   * and the stream reconnects, so the snapshot every connect brings catches up what it said.
   */
  maxEventBytes?: number;
  logger?: Logger;
  metrics?: MarathonMetrics;
  clock?: Clock;
  random?: () => number;
}

export type { BackoffOptions };

/** What an EventStream emits (typed listeners). */
export interface EventStreamEvents {
  /** A stream is open (first connect or reconnect): take a full snapshot now. */
  connected: [{ url: string }];
  event: [MarathonEvent];
  disconnected: [{ reason: string; detail: string; status?: number }];
  /** Only emitted when at least one listener is attached. */
  error: [MarathonError];
  /** The periodic safety resync is due (`resyncIntervalMs` after the last connect or resync). */
  resync: [];
}

/** Counters a caller (readiness, tests) can read without a metrics registry. */
export interface StreamStats {
  connects: number;
  reconnects: number;
  events: number;
  badEvents: number;
  oversizedEvents: number;
  bytes: number;
}

/** Tap on every dispatched SSE message, whatever its event name (eventsource only dispatches by name). */
class TapEventSource extends EventSource {
  tap?: (type: string, data: string) => void;
  override dispatchEvent(event: Event): boolean {
    if (event.type !== 'open' && event.type !== 'error' && 'data' in event) this.tap?.(event.type, String((event as MessageEvent).data));
    return super.dispatchEvent(event);
  }
}

/** The `/v2/events` consumer: start(), listen, stop(). */
export class EventStream extends EventEmitter<EventStreamEvents> {
  readonly stats: StreamStats = { connects: 0, reconnects: 0, events: 0, badEvents: 0, oversizedEvents: 0, bytes: 0 };
  private readonly bases: string[];
  private readonly auth?: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly idleMs: number;
  private readonly backoff: Backoff;
  private idx = 0;
  private attempt = 0;
  private es?: TapEventSource;
  private watchdog: unknown;
  private retryTimer: unknown;
  private resyncTimer: unknown;
  private running = false;
  private open = false;
  private gotBytes = false;
  private lastByteAt: number;
  private readonly logged = new Set<string>();
  /** The attempt whose body was ended for an oversized event (its end is then reported as such). */
  private oversizedAttempt = -1;
  /** URL that answered the current connection (after redirects). */
  connectedUrl: string | null = null;

  constructor(private readonly opts: EventStreamOptions) {
    super();
    this.bases = normalizeBaseUrls(opts.urls);
    this.auth = authorizationHeader(opts);
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.idleMs = opts.idleTimeoutMs ?? 30_000;
    this.backoff = new Backoff(opts.backoff, opts.random);
    this.lastByteAt = this.clock.now();
    opts.metrics?.setStreamAgeSource(() => this.ageSeconds());
  }

  /** Seconds since the last byte (event or keepalive), or since start() if none came yet. */
  ageSeconds(): number {
    return Math.max(0, (this.clock.now() - this.lastByteAt) / 1000);
  }

  get connected(): boolean {
    return this.open;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastByteAt = this.clock.now();
    this.connect();
  }

  stop(): void {
    this.running = false;
    this.attempt++;
    this.clock.clearTimeout(this.watchdog);
    this.clock.clearTimeout(this.retryTimer);
    this.clock.clearTimeout(this.resyncTimer);
    this.es?.close();
    this.es = undefined;
    this.setOpen(false);
  }

  private url(): string {
    const q = new URLSearchParams();
    for (const t of this.opts.eventTypes ?? []) q.append('event_type', t);
    if (this.opts.lightPlans !== false) q.append('plan-format', 'light');
    const qs = q.toString();
    return `${this.bases[this.idx]}/v2/events${qs ? `?${qs}` : ''}`;
  }

  private setOpen(open: boolean): void {
    this.open = open;
    this.opts.metrics?.streamConnected.set(open ? 1 : 0);
  }

  private connect(): void {
    const attempt = ++this.attempt;
    const url = this.url();
    this.gotBytes = false;
    const es = new TapEventSource(url, {
      fetch: tapFetch({
        auth: this.auth,
        bases: this.bases,
        onBytes: (n) => this.onBytes(attempt, n),
        onResponse: (u) => {
          if (attempt === this.attempt) this.connectedUrl = u;
        },
        maxEventBytes: this.opts.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES,
        onOversize: () => this.onOversize(attempt),
      }),
    });
    this.es = es;
    es.tap = (type, data) => {
      if (attempt === this.attempt) this.onMessage(type, data);
    };
    es.addEventListener('open', () => {
      if (attempt !== this.attempt) return;
      this.stats.connects++;
      this.setOpen(true);
      this.log.info({ url: this.connectedUrl ?? url }, 'marathon event stream connected');
      this.emit('connected', { url: this.connectedUrl ?? url });
      this.armResync();
    });
    es.addEventListener('error', (e) => {
      const code = (e as { code?: number }).code;
      if (this.oversizedAttempt === attempt) return this.fail(attempt, 'event_too_large', `${TOO_LARGE_CODES.event}: event dropped`);
      const reason = code ? `http_${code}` : this.open ? 'closed' : 'connect';
      this.fail(attempt, reason, (e as { message?: string }).message ?? '', code);
    });
    this.armWatchdog(attempt);
  }

  /** A connect is a full snapshot already, so the periodic one counts from there. */
  private armResync(): void {
    const every = this.opts.resyncIntervalMs ?? 0;
    if (every <= 0) return;
    this.clock.clearTimeout(this.resyncTimer);
    this.resyncTimer = this.clock.setTimeout(() => {
      if (!this.running) return;
      this.emit('resync');
      this.armResync();
    }, every);
  }

  private onBytes(attempt: number, n: number): void {
    if (attempt !== this.attempt) return;
    this.stats.bytes += n;
    this.lastByteAt = this.clock.now();
    if (!this.gotBytes) {
      // Data flowing means the node is really serving: start the next outage's backoff afresh.
      this.gotBytes = true;
      this.backoff.reset();
    }
    this.armWatchdog(attempt);
  }

  private armWatchdog(attempt: number): void {
    this.clock.clearTimeout(this.watchdog);
    // Also bounds connecting: a node that accepts and never answers trips it too.
    this.watchdog = this.clock.setTimeout(() => this.fail(attempt, 'idle', `no byte for ${this.idleMs} ms`), this.idleMs);
  }

  private onMessage(type: string, data: string): void {
    const r = parseEvent(type, data);
    if (!r.ok) {
      this.stats.badEvents++;
      this.opts.metrics?.badEvents.inc({ reason: r.reason });
      const key = `${r.reason}:${type}`;
      if (!this.logged.has(key)) {
        this.logged.add(key);
        this.log.warn({ reason: r.reason, type, detail: r.detail }, 'skipping marathon event (logged once per type and reason)');
      }
      return;
    }
    this.stats.events++;
    this.opts.metrics?.events.inc({ type });
    this.emit('event', r.event);
  }

  /**
   * An event over the limit: dropped unparsed. The body ends after the events before it; that
   * end is the reconnect (reason `event_too_large`), and every connect brings a full snapshot, so
   * what the dropped event said is not lost.
   */
  private onOversize(attempt: number): void {
    if (attempt !== this.attempt || !this.running) return;
    const limit = this.opts.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.oversizedAttempt = attempt;
    this.stats.oversizedEvents++;
    this.opts.metrics?.oversized.inc({ what: 'event' });
    this.log.warn(
      { code: TOO_LARGE_CODES.event, limit },
      `${TOO_LARGE_CODES.event}: an event is larger than ${limit} bytes (BERTH_MARATHON_MAX_EVENT_BYTES); dropped, reconnecting for a full snapshot`,
    );
  }

  private fail(attempt: number, reason: string, detail: string, status?: number): void {
    if (attempt !== this.attempt || !this.running) return;
    this.attempt++; // late callbacks of this attempt are ignored from now on
    this.clock.clearTimeout(this.watchdog);
    // Closed after the current dispatch: eventsource arms its own 3 s retry timer right after
    // firing `error`, and only close() clears it.
    const es = this.es;
    queueMicrotask(() => es?.close());
    this.es = undefined;
    const wasOpen = this.open;
    this.setOpen(false);
    this.stats.reconnects++;
    this.opts.metrics?.reconnects.inc({ reason });
    const delay = this.backoff.next();
    const from = this.bases[this.idx];
    // Rotate: the next attempt goes to the next configured node (a standby 302s us to the leader).
    this.idx = (this.idx + 1) % this.bases.length;
    this.log.warn({ url: from, reason, detail, status, wasOpen, retryInMs: Math.round(delay) }, 'marathon event stream lost; reconnecting');
    this.emit('disconnected', { reason, detail, status });
    if (this.listenerCount('error') > 0) {
      const kind =
        status === 401 || status === 403
          ? 'unauthorized'
          : status && status >= 500
            ? 'server_error'
            : reason === 'idle'
              ? 'timeout'
              : reason === 'event_too_large'
                ? 'too_large'
                : status
                  ? 'http_status'
                  : 'connect';
      this.emit('error', new MarathonError(kind, `event stream ${reason}: ${detail}`, from, status));
    }
    this.retryTimer = this.clock.setTimeout(() => {
      if (this.running) this.connect();
    }, delay);
  }
}
