/**
 * One writer at a time, and batching: items that arrive while a write runs are handed over
 * together to the next one (200 status events/s become a few transactions, not 200).
 */

/** Runs async jobs strictly one after another; a failed job does not stop later ones. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn, fn);
    this.tail = p.catch(() => undefined);
    return p;
  }

  /** Resolves once no job is queued or running. */
  async idle(): Promise<void> {
    for (;;) {
      const t = this.tail;
      await t;
      if (t === this.tail) return;
    }
  }
}

/**
 * Collects items and flushes them as one batch on the queue; every caller of a batch gets its result.
 * Batches start at most once per `minIntervalMs`: an item arriving soon after the previous batch
 * started waits for the rest of that interval, gathering the items that arrive meanwhile (200 status
 * events/s become a few transactions per 100 ms instead of one or two events each); an item arriving
 * after a quiet spell is flushed at once. Real time on purpose: it bounds work, not behaviour.
 * `flushNow` queues a waiting batch at once, for a caller about to queue work that must not
 * overtake these items.
 */
export class Batcher<I, O> {
  private items: I[] = [];
  private flush: Promise<O> | null = null;
  private release: (() => void) | null = null;
  private lastStart = -Infinity;

  constructor(
    private readonly queue: SerialQueue,
    private readonly handle: (batch: I[]) => Promise<O>,
    private readonly minIntervalMs = 0,
  ) {}

  add(item: I): Promise<O> {
    this.items.push(item);
    if (this.flush) return this.flush;
    const wait = this.lastStart + this.minIntervalMs - performance.now();
    if (wait <= 0) return (this.flush = this.queue.run(this.job));
    let settle!: (p: Promise<O>) => void;
    this.flush = new Promise<O>((resolve) => {
      settle = resolve;
    });
    const timer = setTimeout(() => this.release?.(), wait);
    this.release = () => {
      clearTimeout(timer);
      this.release = null;
      settle(this.queue.run(this.job)); // queued synchronously: nothing queued after this overtakes it
    };
    return this.flush;
  }

  /** Queues a batch that is waiting for its interval now. */
  flushNow(): void {
    this.release?.();
  }

  get pending(): number {
    return this.items.length;
  }

  /** Resolves once every item added so far has been handled. */
  async drained(): Promise<void> {
    while (this.flush) await this.flush.catch(() => undefined);
  }

  private readonly job = async (): Promise<O> => {
    this.lastStart = performance.now();
    const batch = this.items;
    this.items = [];
    this.flush = null;
    return this.handle(batch);
  };
}
