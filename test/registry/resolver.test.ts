import { CachingHostResolver } from '../../src/registry/resolver';
import { ManualClock } from './helpers';

describe('caching host resolver', () => {
  test('resolves once per TTL, retries failures after the negative TTL, keeps the last good address', async () => {
    const clock = new ManualClock();
    const answers: Record<string, string | Error> = { 'agent-1': '10.0.0.1' };
    const calls: string[] = [];
    const r = new CachingHostResolver({
      clock,
      ttlMs: 1000,
      negativeTtlMs: 100,
      resolve: async (h) => {
        calls.push(h);
        const a = answers[h];
        if (a === undefined || a instanceof Error) throw a ?? new Error('ENOTFOUND');
        return a;
      },
    });
    await r.prime(['agent-1', 'agent-1', 'ghost']);
    expect(r.lookup('agent-1')).toBe('10.0.0.1');
    expect(r.lookup('ghost')).toBeUndefined();
    await r.prime(['agent-1', 'ghost']);
    expect(calls).toEqual(['agent-1', 'ghost']);
    clock.advance(150);
    await r.prime(['agent-1', 'ghost']);
    expect(calls).toEqual(['agent-1', 'ghost', 'ghost']);
    answers['agent-1'] = new Error('SERVFAIL');
    clock.advance(1000);
    await r.prime(['agent-1']);
    expect(r.lookup('agent-1')).toBe('10.0.0.1');
  });

  test('bounded concurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    const r = new CachingHostResolver({
      concurrency: 3,
      resolve: async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((res) => setImmediate(res));
        inFlight--;
        return '10.0.0.1';
      },
    });
    await r.prime(Array.from({ length: 20 }, (_, i) => `h${i}`));
    expect(peak).toBe(3);
    expect(r.lookup('h19')).toBe('10.0.0.1');
  });
});
