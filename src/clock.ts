/** Time source, injectable so timing logic is testable with fake time. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { unref?: () => void } | NodeJS.Timeout;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
