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

/** Collects items and flushes them as one batch on the queue; every caller of a batch gets its result. */
export class Batcher<I, O> {
  private items: I[] = [];
  private flush: Promise<O> | null = null;

  constructor(
    private readonly queue: SerialQueue,
    private readonly handle: (batch: I[]) => Promise<O>,
  ) {}

  add(item: I): Promise<O> {
    this.items.push(item);
    if (!this.flush) {
      this.flush = this.queue.run(async () => {
        const batch = this.items;
        this.items = [];
        this.flush = null;
        return this.handle(batch);
      });
    }
    return this.flush;
  }

  get pending(): number {
    return this.items.length;
  }
}
