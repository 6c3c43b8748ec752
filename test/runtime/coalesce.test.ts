import { systemClock } from '../../src/clock';
import { coalesce, type CoalesceOptions, type RunReason } from '../../src/runtime/coalesce';

/** A scheduler whose runs are recorded (time and reason) and can be held open by the test. */
function harness(opts: Partial<CoalesceOptions> = {}) {
  const runs: Array<{ at: number; reason: RunReason }> = [];
  const errors: unknown[] = [];
  let gate: Promise<void> | null = null;
  let open: (() => void) | null = null;
  let failNext = false;
  const t0 = Date.now();
  const c = coalesce({
    clock: systemClock,
    run: async (reason) => {
      runs.push({ at: Date.now() - t0, reason });
      if (gate) await gate;
      if (failNext) {
        failNext = false;
        throw new Error('boom');
      }
    },
    onError: (err) => errors.push(err),
    ...opts,
  });
  return {
    c,
    runs,
    errors,
    hold: () => {
      gate = new Promise<void>((r) => (open = r));
    },
    release: () => {
      gate = null;
      open?.();
    },
    failOnce: () => {
      failNext = true;
    },
  };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test('a burst of requests within the delay costs one run', async () => {
  const h = harness({ delayMs: 100 });
  h.c.request();
  await jest.advanceTimersByTimeAsync(50);
  h.c.request();
  h.c.request();
  expect(h.runs).toEqual([]);
  await jest.advanceTimersByTimeAsync(50);
  expect(h.runs).toEqual([{ at: 100, reason: 'request' }]);
  await jest.advanceTimersByTimeAsync(1000);
  expect(h.runs).toHaveLength(1);
  await h.c.stop();
});

test('runs never overlap: requests during a run queue exactly one more run', async () => {
  const h = harness();
  h.hold();
  h.c.request();
  await jest.advanceTimersByTimeAsync(0);
  expect(h.c.running).toBe(true);
  for (let i = 0; i < 5; i++) h.c.request();
  await jest.advanceTimersByTimeAsync(100);
  expect(h.runs).toHaveLength(1);
  h.release();
  await jest.advanceTimersByTimeAsync(0);
  await jest.advanceTimersByTimeAsync(0);
  expect(h.runs).toHaveLength(2);
  await jest.advanceTimersByTimeAsync(1000);
  expect(h.runs).toHaveLength(2);
  await h.c.stop();
});

test('the minimum interval spaces run starts; immediate skips it', async () => {
  const h = harness({ minIntervalMs: 100 });
  h.c.request();
  await jest.advanceTimersByTimeAsync(0);
  h.c.request();
  await jest.advanceTimersByTimeAsync(99);
  expect(h.runs.map((r) => r.at)).toEqual([0]);
  await jest.advanceTimersByTimeAsync(1);
  expect(h.runs.map((r) => r.at)).toEqual([0, 100]);
  h.c.request({ immediate: true });
  await jest.advanceTimersByTimeAsync(0);
  expect(h.runs.map((r) => r.at)).toEqual([0, 100, 100]);
  await h.c.stop();
});

test('an earlier request replaces a later one; a later one keeps the earlier', async () => {
  const h = harness();
  h.c.request({ delayMs: 500 });
  h.c.request({ delayMs: 100 });
  h.c.request({ delayMs: 300 });
  expect(h.c.dueAt).toBe(Date.now() + 100);
  await jest.advanceTimersByTimeAsync(600);
  expect(h.runs.map((r) => r.at)).toEqual([100]);
  await h.c.stop();
});

test('polls every everyMs while idle; a request replaces the pending poll, even a later one', async () => {
  const h = harness({ everyMs: 1000, delayMs: 2000 });
  h.c.request({ immediate: true });
  await jest.advanceTimersByTimeAsync(3000);
  expect(h.runs).toEqual([
    { at: 0, reason: 'request' },
    { at: 1000, reason: 'poll' },
    { at: 2000, reason: 'poll' },
    { at: 3000, reason: 'poll' },
  ]);
  // The batching window of a request starts at the request, replacing the poll due at 4000.
  h.c.request();
  await jest.advanceTimersByTimeAsync(1999);
  expect(h.runs).toHaveLength(4);
  await jest.advanceTimersByTimeAsync(1);
  expect(h.runs[4]).toEqual({ at: 5000, reason: 'request' });
  await h.c.stop();
});

test('everyMs as a function is asked after each run', async () => {
  const delays = [10, 20, 30];
  const h = harness({ everyMs: () => delays.shift() ?? 1000 });
  h.c.request();
  await jest.advanceTimersByTimeAsync(60);
  expect(h.runs.map((r) => r.at)).toEqual([0, 10, 30, 60]);
  await h.c.stop();
});

test('an error goes to onError and the loop keeps going', async () => {
  const h = harness({ everyMs: 100 });
  h.failOnce();
  h.c.request();
  await jest.advanceTimersByTimeAsync(0);
  expect(h.errors).toEqual([new Error('boom')]);
  await jest.advanceTimersByTimeAsync(100);
  expect(h.runs).toHaveLength(2);
  expect(h.errors).toHaveLength(1);
  await h.c.stop();
});

test('a synchronous throw is reported too', async () => {
  const errors: unknown[] = [];
  const c = coalesce({
    run: () => {
      throw new Error('sync');
    },
    onError: (e) => errors.push(e),
  });
  c.request({ immediate: true });
  await jest.advanceTimersByTimeAsync(0);
  expect(errors).toEqual([new Error('sync')]);
  await c.stop();
});

test('flush waits for a run that started after the call, not the one in flight', async () => {
  const h = harness({ delayMs: 10_000 });
  h.hold();
  h.c.request({ immediate: true });
  let flushed = false;
  const f = h.c.flush().then(() => (flushed = true));
  await jest.advanceTimersByTimeAsync(0);
  expect(h.runs).toHaveLength(1);
  h.release();
  await jest.advanceTimersByTimeAsync(0);
  // The first run ended; flush is still waiting for the second (immediate despite delayMs).
  expect(h.runs).toHaveLength(2);
  await f;
  expect(flushed).toBe(true);
  await h.c.stop();
});

test('idle resolves once nothing is in flight or requested; a pending poll does not count', async () => {
  const h = harness({ delayMs: 50, everyMs: 10_000 });
  h.c.request();
  let idle = false;
  const p = h.c.idle().then(() => (idle = true));
  await jest.advanceTimersByTimeAsync(49);
  expect(idle).toBe(false);
  await jest.advanceTimersByTimeAsync(1);
  await p;
  expect(h.runs).toHaveLength(1);
  expect(h.c.dueAt).not.toBeNull(); // the poll
  await expect(h.c.idle()).resolves.toBeUndefined();
  await h.c.stop();
});

test('stop cancels what is pending, waits for the run in flight and ignores later requests', async () => {
  const h = harness({ everyMs: 100 });
  h.hold();
  h.c.request({ immediate: true });
  h.c.request();
  let stopped = false;
  const s = h.c.stop().then(() => (stopped = true));
  await jest.advanceTimersByTimeAsync(0);
  expect(stopped).toBe(false);
  h.release();
  await s;
  h.c.request({ immediate: true });
  await expect(h.c.flush()).resolves.toBeUndefined();
  await jest.advanceTimersByTimeAsync(1000);
  expect(h.runs).toHaveLength(1);
  expect(h.c.dueAt).toBeNull();
});

test('a request made during a run is due its delay after the request, not after the run', async () => {
  const h = harness({ delayMs: 100 });
  h.hold();
  h.c.request({ immediate: true });
  await jest.advanceTimersByTimeAsync(10);
  h.c.request();
  await jest.advanceTimersByTimeAsync(200);
  expect(h.runs).toHaveLength(1); // still held: at most one run in flight
  h.release();
  await jest.advanceTimersByTimeAsync(0);
  // Its delay ran out while the first run was in flight: it starts as soon as that one ends.
  expect(h.runs.map((r) => r.at)).toEqual([0, 210]);
  await h.c.stop();
});
