/**
 * Long computations over a whole catalog are written as generators that yield after each unit of
 * work (one app, one service), so a caller can run them in slices and give the event loop a turn
 * in between (DNS answers queries while a 10,000-app snapshot is planned). `drain` runs one to its
 * end at once, for callers with little to do or none to let through.
 */
export type Steps<T> = Generator<void, T, void>;

/** Runs `steps` to completion synchronously and returns its result. */
export function drain<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}
