/** src/slices.ts: long work gives the event loop turns, stops when told, and stops at the first error. */
import { inSlices, runSliced, SLICE_MS, Slices } from '../../src/slices';

/** Busy for `ms` of wall time (the work a slice measures). */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** 40 steps of 1 ms each, counting how many ran before a callback queued at the start. */
function* work(log: string[]): Generator<void, string> {
  for (let i = 0; i < 40; i++) {
    busy(1);
    log.push('step');
    yield;
  }
  return 'done';
}

describe('slices', () => {
  it('runSliced lets queued I/O and timers run between slices, not only at the end', async () => {
    const log: string[] = [];
    setImmediate(() => log.push('turn'));
    expect(await runSliced(work(log))).toBe('done');
    const turn = log.indexOf('turn');
    // The first turn comes once a slice is used up: after a few steps, long before the 40th.
    expect(turn).toBeGreaterThan(0);
    expect(turn).toBeLessThanOrEqual(SLICE_MS + 1);
  });

  it('runSliced gives up with null when stopped, without running the rest', async () => {
    const log: string[] = [];
    expect(await runSliced(work(log), () => true)).toBeNull();
    expect(log.length).toBeLessThan(40);
  });

  it('inSlices visits every item in order, turns the loop, and stops at the first error', async () => {
    const seen: number[] = [];
    let turned = false;
    setImmediate(() => (turned = true));
    await inSlices([...Array(20).keys()], (i) => {
      busy(1);
      seen.push(i);
    });
    expect(seen).toEqual([...Array(20).keys()]);
    expect(turned).toBe(true);
    const after: number[] = [];
    await expect(
      inSlices([1, 2, 3], (i) => {
        if (i === 2) throw new Error('disk full');
        after.push(i);
      }),
    ).rejects.toThrow('disk full');
    expect(after).toEqual([1]);
  });

  it('Slices asks for a turn of the loop once its slice is used up', async () => {
    // (That it answers null within a slice is not asserted: a collection pause between two
    // statements can use a 5 ms slice up on a busy machine.)
    const s = new Slices();
    busy(SLICE_MS + 1);
    let turned = false;
    setImmediate(() => (turned = true));
    const turn = s.turnIfDue();
    expect(turn).toBeInstanceOf(Promise);
    await turn;
    expect(turned).toBe(true);
  });
});
