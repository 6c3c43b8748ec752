/** Index rebuilds: coalesced, rate-limited, skipped when nothing moved, and a failed read keeps the old index. */
import { IndexBuilder, type DnsIndex } from '../../src/dns/build';
import { IndexReloader } from '../../src/dns/reloader';
import { silentLogger } from '../../src/log';
import type { Clock } from '../../src/clock';
import type { RegistrySnapshot, RegistryView } from '../../src/registry/view';
import { aService } from './helpers';

/** A clock whose timers run only when the test advances it. */
class ManualClock implements Clock {
  t = 0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private next = 1;
  now(): number { return this.t; }
  setTimeout(fn: () => void, ms: number) { const id = this.next++; this.timers.push({ at: this.t + ms, fn, id }); return id as unknown as NodeJS.Timeout; }
  clearTimeout(h: unknown): void { this.timers = this.timers.filter((x) => x.id !== h); }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.t = due.at;
      this.timers = this.timers.filter((x) => x !== due);
      due.fn();
    }
    this.t = end;
    await settle();
  }
}
/** Lets promise chains and setImmediate slices run. */
const settle = async () => { for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r)); };

/** A registry view the test controls, including failures. */
class ScriptedView implements RegistryView {
  snap: RegistrySnapshot = { position: 0, loaded: false, services: [] };
  fail = false;
  reads = 0;
  listeners = new Set<(p: number) => void>();
  async snapshot() { this.reads++; if (this.fail) throw new Error('database unavailable'); return this.snap; }
  async position() { if (this.fail) throw new Error('database unavailable'); return this.snap.position; }
  onChange(l: (p: number) => void) { this.listeners.add(l); return () => this.listeners.delete(l); }
  change(n: number) { this.snap = { position: this.snap.position + 1, loaded: true, services: [aService({ domains: [`s${n}.berth.internal`] })] }; for (const l of this.listeners) l(this.snap.position); }
}

function setup() {
  const clock = new ManualClock();
  const view = new ScriptedView();
  let current: DnsIndex = { loaded: false, position: -1 } as DnsIndex;
  const builds: number[] = [];
  const builder = new IndexBuilder({ zones: ['berth.internal'], reverseNetworks: [], ttl: 10, environments: {}, defaultEnv: 'default' });
  let failures = 0;
  const r = new IndexReloader({
    view, clock, logger: silentLogger, minIntervalMs: 100, pollMs: 5000, retryMs: 1000,
    current: () => current,
    build: (snap) => { builds.push(snap.position); return builder.build(snap.services, { ...snap, serial: 1 }); },
    swap: (idx) => { current = idx; },
    failed: () => { failures++; },
  });
  return { clock, view, r, builds, get current() { return current; }, get failures() { return failures; } };
}

it('builds once at start, then coalesces a burst of changes into at most one build per interval', async () => {
  const t = setup();
  t.r.start();
  await t.clock.advance(0);
  expect(t.builds).toEqual([0]);
  for (let i = 1; i <= 50; i++) t.view.change(i);
  await t.clock.advance(99);
  expect(t.builds).toEqual([0]);
  await t.clock.advance(1);
  expect(t.builds).toEqual([0, 50]); // latest wins
  expect(t.current.position).toBe(50);
  await t.r.stop();
});

it('skips the build when the journal did not move (periodic poll)', async () => {
  const t = setup();
  t.r.start();
  t.view.change(1);
  await t.clock.advance(200);
  const n = t.builds.length;
  await t.clock.advance(20_000); // four polls
  expect(t.builds.length).toBe(n);
  await t.r.stop();
});

it('keeps serving the previous index when the registry cannot be read, and recovers by itself', async () => {
  const t = setup();
  t.r.start();
  t.view.change(1);
  await t.clock.advance(200);
  const before = t.current;
  expect(before.loaded).toBe(true);
  t.view.fail = true;
  t.view.change(2);
  await t.clock.advance(200);
  expect(t.current).toBe(before);
  expect(t.failures).toBeGreaterThan(0);
  t.view.fail = false;
  await t.clock.advance(1000); // retry interval
  expect(t.current.position).toBe(2);
  await t.r.stop();
});

it('does nothing after stop', async () => {
  const t = setup();
  t.r.start();
  await t.clock.advance(0);
  await t.r.stop();
  t.view.change(1);
  await t.clock.advance(10_000);
  expect(t.builds).toEqual([0]);
});
