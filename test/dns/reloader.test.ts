/** Index updates: coalesced, rate-limited, skipped when nothing moved, a failed read keeps the old index; patches when the registry says what changed. */
import { IndexBuilder, type DnsIndex } from '../../src/dns/build';
import { IndexReloader, type UpdateKind } from '../../src/dns/reloader';
import { respond } from '../../src/dns/respond';
import { TYPE } from '../../src/dns/wire';
import { silentLogger } from '../../src/log';
import type { Clock } from '../../src/clock';
import { InMemoryRegistryView, type RegistrySnapshot, type RegistryView } from '../../src/registry/view';
import { aService, query } from './helpers';

/** A clock whose timers run only when the test advances it. */
class ManualClock implements Clock {
  t = 0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private next = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const id = this.next++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id as unknown as NodeJS.Timeout;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
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
const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

/** A registry view the test controls, including failures. */
class ScriptedView implements RegistryView {
  snap: RegistrySnapshot = { position: 0, loaded: false, services: [] };
  fail = false;
  reads = 0;
  listeners = new Set<(p: number) => void>();
  async snapshot() {
    this.reads++;
    if (this.fail) throw new Error('database unavailable');
    return this.snap;
  }
  async position() {
    if (this.fail) throw new Error('database unavailable');
    return this.snap.position;
  }
  onChange(l: (p: number) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  change(n: number) {
    this.snap = { position: this.snap.position + 1, loaded: true, services: [aService({ domains: [`s${n}.berth.internal`] })] };
    for (const l of this.listeners) l(this.snap.position);
  }
}

function setup() {
  const clock = new ManualClock();
  const view = new ScriptedView();
  let current: DnsIndex = { loaded: false, position: -1 } as DnsIndex;
  const builds: number[] = [];
  const builder = new IndexBuilder({ zones: ['berth.internal'], reverseNetworks: [], ttl: 10, environments: {}, defaultEnv: 'default' });
  let failures = 0;
  const r = new IndexReloader({
    view,
    clock,
    logger: silentLogger,
    minIntervalMs: 100,
    pollMs: 5000,
    retryMs: 1000,
    current: () => current,
    build: (snap) => {
      builds.push(snap.position);
      return builder.build(snap.services, { ...snap, serial: 1 });
    },
    swap: (idx) => {
      current = idx;
    },
    failed: () => {
      failures++;
    },
  });
  return {
    clock,
    view,
    r,
    builds,
    get current() {
      return current;
    },
    get failures() {
      return failures;
    },
  };
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

describe('following changes instead of snapshots', () => {
  function patching() {
    const clock = new ManualClock();
    const view = new InMemoryRegistryView();
    let lose = false;
    // Drops notifications on demand: the poll must catch up on its own.
    const lossy: RegistryView = {
      snapshot: () => view.snapshot(),
      position: () => view.position(),
      changesSince: (p) => view.changesSince(p),
      onChange: (l) =>
        view.onChange((p) => {
          if (!lose) l(p);
        }),
    };
    const builder = new IndexBuilder({ zones: ['berth.internal'], reverseNetworks: [], ttl: 10, environments: {}, defaultEnv: 'default' });
    let current: DnsIndex = { loaded: false, position: -1 } as DnsIndex;
    const kinds: UpdateKind[] = [];
    const r = new IndexReloader({
      view: lossy,
      clock,
      logger: silentLogger,
      minIntervalMs: 20,
      pollMs: 5000,
      retryMs: 1000,
      fullEveryMs: 600_000,
      current: () => current,
      build: (snap, reassemble) => builder.build(snap.services, { ...snap, serial: 1 }, reassemble),
      patch: (ch) => builder.patch(ch.changed, { loaded: ch.loaded, position: ch.position, now: clock.now() }),
      canPatch: (idx) => builder.serves(idx),
      swap: (idx, _s, kind) => {
        current = idx;
        kinds.push(kind);
      },
      failed: () => undefined,
    });
    const has = (name: string) => respond(query(name, TYPE.A), current, 'default', true, false).reply![3] === 0 && current.loaded;
    return {
      clock,
      view,
      r,
      kinds,
      has,
      lose: (v: boolean) => {
        lose = v;
      },
      get current() {
        return current;
      },
    };
  }
  const svc = (n: number) => aService({ domains: [`s${n}.berth.internal`] });

  it('builds whole once, then patches just the apps that changed', async () => {
    const t = patching();
    t.view.set([svc(1), svc(2)]);
    t.r.start();
    await t.clock.advance(0);
    t.view.update([svc(3)], ['/s1']);
    await t.clock.advance(20);
    expect(t.kinds).toEqual(['build', 'patch']);
    expect([t.has('s1.berth.internal'), t.has('s2.berth.internal'), t.has('s3.berth.internal')]).toEqual([false, true, true]);
    expect(t.current.position).toBe(2);
    await t.r.stop();
  });

  it('catches up a lost change notification at the next poll, with a patch', async () => {
    const t = patching();
    t.view.set([svc(1)]);
    t.r.start();
    await t.clock.advance(0);
    t.lose(true);
    t.view.update([svc(2)]);
    await t.clock.advance(1000);
    expect(t.has('s2.berth.internal')).toBe(false); // nobody told the reloader yet
    await t.clock.advance(4000); // the journal poll
    expect(t.has('s2.berth.internal')).toBe(true);
    expect(t.kinds).toEqual(['build', 'patch']);
    await t.r.stop();
  });

  it('rebuilds whole when the registry cannot say what changed since the served index', async () => {
    const t = patching();
    t.view.set([svc(1)]);
    t.r.start();
    await t.clock.advance(0);
    t.view.update([svc(2)]);
    t.view.forgetChanges(); // e.g. a standby that reloaded from the database
    await t.clock.advance(20);
    expect(t.kinds).toEqual(['build', 'build']);
    expect(t.has('s2.berth.internal')).toBe(true);
    await t.r.stop();
  });

  it('rebuilds whole periodically as a safety net, and raises a held-back serial on time', async () => {
    const t = patching();
    t.view.set([svc(1)]);
    t.r.start();
    await t.clock.advance(0);
    t.view.update([svc(2)]);
    await t.clock.advance(20);
    t.view.update([svc(3)]);
    await t.clock.advance(20); // within the same second: the serial increase is held back
    expect(t.current.serialDue).toBeGreaterThan(0);
    const serial = t.current.serial;
    await t.clock.advance(1000);
    expect(t.current.serial).toBe(serial + 1);
    expect(t.current.serialDue).toBe(0);
    await t.clock.advance(600_000);
    expect(t.kinds.filter((k) => k === 'build')).toHaveLength(2);
    await t.r.stop();
  });
});
