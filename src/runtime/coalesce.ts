/**
 * The one coalescing scheduler every background loop uses (DNS index reloads, the Nginx batch
 * sync, the journal follower, the reverse-zone follower, Marathon refetches).
 *
 * Requests coalesce: however many arrive, at most one run is in flight and at most one is queued
 * behind it, and a run reads the latest state when it starts (latest wins). A request is due after
 * `delayMs` (a batching window: later requests ride on the pending run) and never sooner than
 * `minIntervalMs` after the previous run started. `immediate` skips both. With `everyMs`, a poll
 * run follows every run when nothing was requested (the safety net for lost notifications).
 * A run that throws is reported to `onError` and the loop keeps going. All timing goes through
 * the injected `Clock`, so tests drive it with fake time.
 */
import { systemClock, type Clock } from '../clock';

/** Why a run happens: asked for (`request`/`flush`) or the periodic poll. */
export type RunReason = 'request' | 'poll';

export interface CoalesceOptions {
  /** The work. Reads the latest state itself; runs never overlap. */
  run(reason: RunReason): Promise<void> | void;
  /** A run that threw or rejected; the scheduler carries on. */
  onError(err: unknown): void;
  clock?: Clock;
  /** Default wait between a request and its run; requests meanwhile ride on it (default 0). */
  delayMs?: number;
  /** Least time between the starts of two runs (default 0). */
  minIntervalMs?: number;
  /** Poll: run again this long after a run when nothing was requested; a function is asked each time. Absent: only on request. */
  everyMs?: number | (() => number);
}

export interface RequestOptions {
  /** Overrides `delayMs` for this request. */
  delayMs?: number;
  /** Run as soon as no run is in flight, ignoring the delay and the minimum interval. */
  immediate?: boolean;
}

export interface Coalescer {
  /** Asks for a run. A pending request due no later is kept; a pending poll is replaced. */
  request(opts?: RequestOptions): void;
  /** Asks for an immediate run; resolves once a run that started after this call has finished. */
  flush(): Promise<void>;
  /** Resolves once no run is in flight and none is requested (a pending poll does not count). */
  idle(): Promise<void>;
  /** Cancels what is pending and waits for a run in flight; later requests are ignored. */
  stop(): Promise<void>;
  /** A run is in flight. */
  readonly running: boolean;
  /** When the next run is due (clock ms), null when none is scheduled or queued. */
  readonly dueAt: number | null;
}

type Pending = { due: number; kind: RunReason };

export function coalesce(o: CoalesceOptions): Coalescer {
  const clock = o.clock ?? systemClock;
  let stopped = false;
  let timer: unknown = null;
  /** Scheduled (timer armed) or, while a run is in flight, queued behind it. */
  let pending: Pending | null = null;
  let inflight: Promise<void> | null = null;
  let lastStart = -Infinity;
  let started = 0;
  let finished = 0;
  let flushWaiters: Array<{ after: number; resolve: () => void }> = [];
  const idleWaiters: Array<() => void> = [];

  const isIdle = () => inflight === null && (pending === null || pending.kind === 'poll');
  const settle = () => {
    const done = flushWaiters.filter((w) => stopped || finished > w.after);
    flushWaiters = flushWaiters.filter((w) => !done.includes(w));
    for (const w of done) w.resolve();
    if (stopped || isIdle()) for (const r of idleWaiters.splice(0)) r();
  };

  const disarm = () => {
    if (timer !== null) clock.clearTimeout(timer);
    timer = null;
  };

  /** Armed even while a run is in flight, so a request's time counts from the request. */
  const arm = () => {
    disarm();
    if (stopped || !pending) return;
    const delay = Math.max(0, pending.due - clock.now());
    const handle = clock.setTimeout(() => {
      timer = null;
      startRun(); // no-op while a run is in flight: it starts when that one ends
    }, delay);
    (handle as { unref?: () => void }).unref?.();
    timer = handle;
  };

  const startRun = () => {
    if (stopped || inflight || !pending) return;
    const reason = pending.kind;
    pending = null;
    disarm();
    lastStart = clock.now();
    started++;
    inflight = (async () => {
      try {
        await o.run(reason);
      } catch (err) {
        try {
          o.onError(err);
        } catch {
          // A reporter that throws must not stop the loop.
        }
      }
    })().finally(() => {
      inflight = null;
      finished++;
      if (!stopped && !pending && o.everyMs !== undefined) {
        const every = typeof o.everyMs === 'function' ? o.everyMs() : o.everyMs;
        pending = { due: clock.now() + every, kind: 'poll' };
      }
      if (pending && pending.due <= clock.now()) startRun();
      else arm();
      settle();
    });
  };

  const request = (opts: RequestOptions = {}): void => {
    if (stopped) return;
    const now = clock.now();
    const due = opts.immediate ? now : Math.max(now + (opts.delayMs ?? o.delayMs ?? 0), lastStart + (o.minIntervalMs ?? 0));
    if (pending && pending.kind === 'request' && pending.due <= due) return;
    pending = { due, kind: 'request' };
    if (opts.immediate && !inflight) startRun();
    else arm();
  };

  return {
    request,
    flush: () => {
      if (stopped) return Promise.resolve();
      const after = started;
      const done = new Promise<void>((resolve) => flushWaiters.push({ after, resolve }));
      request({ immediate: true });
      return done;
    },
    idle: () => (stopped || isIdle() ? Promise.resolve() : new Promise<void>((r) => idleWaiters.push(r))),
    stop: async () => {
      stopped = true;
      pending = null;
      disarm();
      if (inflight) await inflight;
      settle();
    },
    get running() {
      return inflight !== null;
    },
    get dueAt() {
      return pending?.due ?? null;
    },
  };
}
