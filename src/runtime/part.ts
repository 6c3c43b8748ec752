import type { ReadinessCheck } from '../http/app';
import type { Logger } from '../log';

/**
 * One piece of a running berth, all with the same small shape so the composition root is a list:
 * `start()` brings it up and resolves to what the next parts need, `stop()` tears it down, and
 * `readiness()` names the `/readyz` checks it answers for (asked once, when the part is added;
 * the checks read live state, so they are valid before `start()` finished too).
 */
export interface Part<T = void> {
  readonly name: string;
  start(): Promise<T>;
  stop(): Promise<void>;
  readiness?(): ReadinessCheck[];
}

/** Starts parts in order and stops the started ones in reverse; collects their readiness checks. */
export class Parts {
  private readonly started: Array<Part<unknown>> = [];
  /** Live list: checks of parts added later appear in it (the API is built before the last parts start). */
  readonly readiness: ReadinessCheck[] = [];
  private stopping: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  async start<T>(part: Part<T>): Promise<T> {
    this.readiness.push(...(part.readiness?.() ?? []));
    this.started.push(part);
    return part.start();
  }

  /** Stops every started part in reverse order, once; an error in one is logged and the rest still stop. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const part of this.started.splice(0).reverse()) {
        await part.stop().catch((err: unknown) => this.logger.error({ err, part: part.name }, 'error during shutdown'));
      }
    })();
    return this.stopping;
  }
}
