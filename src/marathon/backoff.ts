/** Jittered exponential backoff for reconnects: initial × factor^n, capped, minus up to `jitter` of it. */

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** Fraction of each delay that is randomised away (0..1); spreads a herd of reconnecting daemons. */
  jitter?: number;
}

export class Backoff {
  private failures = 0;

  constructor(
    private readonly opts: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    const initial = this.opts.initialMs ?? 500;
    const base = Math.min(this.opts.maxMs ?? 30_000, initial * (this.opts.factor ?? 2) ** this.failures);
    this.failures++;
    return base * (1 - (this.opts.jitter ?? 0.5) * this.random());
  }

  reset(): void {
    this.failures = 0;
  }
}
