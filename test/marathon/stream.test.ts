import { Registry } from 'prom-client';
import { createMarathonMetrics } from '../../src/marathon/metrics';
import { EventStream, type EventStreamOptions } from '../../src/marathon/stream';
import type { MarathonEvent } from '../../src/marathon/types';
import { type Simulator, startSimulator } from '../../src/sim';
import { HTTP_HEALTH, bridgeApp } from '../sim/helpers';
import { waitFor } from '../support/wait';
import { deadUrl, silentServer } from './helpers';

/** An EventStream with test-sized timings, recording what it emits. */
function openStream(opts: EventStreamOptions) {
  // A generous idle timeout by default (keepalives come every 50 ms) so a busy CI box does not
  // trip it; the watchdog tests set their own.
  const stream = new EventStream({ idleTimeoutMs: 1500, backoff: { initialMs: 10, maxMs: 100 }, ...opts });
  const events: MarathonEvent[] = [];
  const connects: string[] = [];
  const drops: string[] = [];
  stream.on('event', (e: MarathonEvent) => events.push(e));
  stream.on('connected', ({ url }: { url: string }) => connects.push(url));
  stream.on('disconnected', ({ reason }: { reason: string }) => drops.push(reason));
  stream.start();
  return { stream, events, connects, drops, types: () => events.map((e) => e.eventType) };
}

describe.each(['1.4', '1.10'] as const)('EventStream against the simulator (Marathon %s)', (flavour) => {
  let sim: Simulator;
  let s: ReturnType<typeof openStream> | undefined;
  beforeEach(async () => {
    sim = await startSimulator({ flavour, keepaliveMs: 50 });
  });
  afterEach(async () => {
    s?.stream.stop();
    s = undefined;
    await sim.close();
  });

  it('connects, filters server-side and emits typed events', async () => {
    s = openStream({ urls: [sim.url], eventTypes: ['status_update_event', 'health_status_changed_event'] });
    await waitFor(() => s!.connects.length === 1 && sim.control.streamCount() === 1);
    await sim.control.deploy(bridgeApp('/web', HTTP_HEALTH));
    await waitFor(() => s!.types().includes('health_status_changed_event'));
    expect(new Set(s.types())).toEqual(new Set(['status_update_event', 'health_status_changed_event']));
    const running = s.events.find((e) => e.eventType === 'status_update_event' && e.taskStatus === 'TASK_RUNNING');
    expect(running).toMatchObject({ appId: '/web', ports: [expect.any(Number)] });
    expect(sim.control.counts()['GET /v2/events']).toBe(1);
  });

  it('reconnects after the stream is cut and says so (caller re-snapshots)', async () => {
    s = openStream({ urls: [sim.url] });
    await waitFor(() => s!.types().includes('event_stream_attached'));
    sim.control.cutStreams();
    await waitFor(() => s!.connects.length === 2);
    expect(s.drops).toEqual(['closed']);
    expect(s.stream.stats.reconnects).toBe(1);
    await sim.control.deploy(bridgeApp('/after-cut'));
    await waitFor(() => s!.types().includes('deployment_success'));
  });

  it('keeps a quiet stream alive on keepalives alone', async () => {
    s = openStream({ urls: [sim.url], idleTimeoutMs: 250 });
    await waitFor(() => s!.types().includes('event_stream_attached'));
    const bytes = s.stream.stats.bytes;
    // 16 keepalives (2 bytes each) ≈ 800 ms: over three idle timeouts without a single event.
    await waitFor(() => s!.stream.stats.bytes >= bytes + 32, 5000);
    expect(s.drops).toEqual([]);
    expect(s.stream.ageSeconds()).toBeLessThan(0.25);
  });

  it('fires the watchdog on a stalled stream and reconnects', async () => {
    const registry = new Registry();
    const metrics = createMarathonMetrics(registry);
    s = openStream({ urls: [sim.url], idleTimeoutMs: 150, metrics });
    await waitFor(() => s!.connects.length === 1);
    sim.control.stallStreams();
    await waitFor(() => s!.drops.includes('idle'));
    expect(await registry.metrics()).toMatch(/berth_marathon_stream_reconnects_total\{reason="idle"\} [1-9]/);
    const attached = (): number => s!.types().filter((t) => t === 'event_stream_attached').length;
    const before = attached();
    sim.control.stallStreams(false);
    // A connection made while stalled may still be about to time out: drop it, and wait for one
    // opened after the stall (its own attached event gets through), which lives on keepalives.
    sim.control.cutStreams();
    await waitFor(() => attached() > before);
    await sim.control.deploy(bridgeApp('/after-stall'));
    await waitFor(() => s!.types().includes('deployment_success'));
    expect(await registry.metrics()).toMatch(/berth_marathon_stream_age_seconds \d/);
  });

  it('skips malformed JSON and unknown types, counting them, and keeps going', async () => {
    const registry = new Registry();
    s = openStream({ urls: [sim.url], metrics: createMarathonMetrics(registry) });
    await waitFor(() => s!.types().includes('event_stream_attached'));
    sim.control.publishRaw('event: status_update_event\r\ndata: {"taskId": \r\n\r\n');
    sim.control.publish({ eventType: 'brand_new_event', timestamp: new Date().toISOString() });
    sim.control.publishRaw('event: status_update_event\r\ndata: {"eventType":"status_update_event","taskId":5}\r\n\r\n');
    await sim.control.deploy(bridgeApp('/still-works'));
    await waitFor(() => s!.types().includes('deployment_success'));
    expect(s.stream.stats.badEvents).toBe(3);
    const text = await registry.metrics();
    expect(text).toMatch(/berth_marathon_bad_events_total\{reason="malformed_json"\} 1/);
    expect(text).toMatch(/berth_marathon_bad_events_total\{reason="unknown_type"\} 1/);
    expect(text).toMatch(/berth_marathon_bad_events_total\{reason="wrong_shape"\} 1/);
    expect(s.types()).not.toContain('brand_new_event');
  });

  it('sends Basic or DC/OS token credentials and survives 401 with backoff until they are accepted', async () => {
    sim.control.requireAuth({ username: 'berth', password: 'pw' });
    s = openStream({ urls: [sim.url], username: 'berth', password: 'pw' });
    await waitFor(() => s!.connects.length === 1);
    s.stream.stop();
    sim.control.requireAuth({ username: 'berth', password: 'changed' });
    s = openStream({ urls: [sim.url], username: 'berth', password: 'pw' });
    await waitFor(() => s!.drops.filter((d) => d === 'http_401').length >= 2);
    expect(s.connects).toEqual([]);
    sim.control.requireAuth({ username: 'berth', password: 'pw' });
    await waitFor(() => s!.connects.length === 1, 5000);
    s.stream.stop();
    sim.control.requireAuth({ token: 'dcos-jwt' });
    s = openStream({ urls: [sim.url], token: 'dcos-jwt' });
    await waitFor(() => s!.connects.length === 1);
  });

  it('follows the leader through a leader switch (standby 302 in 1.10, proxy in 1.4)', async () => {
    const standby = await startSimulator({ flavour, cluster: sim.cluster, keepaliveMs: 50 });
    try {
      s = openStream({ urls: [standby.url, sim.url], username: 'u', password: 'p' });
      sim.control.requireAuth({ username: 'u', password: 'p' });
      standby.control.requireAuth({ username: 'u', password: 'p' });
      await waitFor(() => s!.connects.length === 1);
      // 1.10: the standby redirected to the leader, credentials kept; 1.4: the standby serves it.
      expect(s.connects[0].startsWith(flavour === '1.10' ? sim.url : standby.url)).toBe(true);
      standby.control.becomeLeader();
      await waitFor(() => s!.connects.length >= 2 && s!.stream.connected);
      await sim.control.deploy(bridgeApp('/after-switch'));
      await waitFor(() => s!.types().includes('deployment_success'));
      expect(s.drops[0]).toBe('closed');
    } finally {
      await standby.close();
    }
  });
});

describe('EventStream failure handling', () => {
  it('rotates past a dead node and a silent node to the one that streams', async () => {
    const silent = await silentServer();
    const sim = await startSimulator({ keepaliveMs: 50 });
    const s = openStream({ urls: [await deadUrl(), silent.url, sim.url], idleTimeoutMs: 150, random: () => 0 });
    try {
      await waitFor(() => s.connects.length === 1);
      expect(s.connects[0].startsWith(sim.url)).toBe(true);
      expect(s.drops).toEqual(['connect', 'idle']);
    } finally {
      s.stream.stop();
      await silent.close();
      await sim.close();
    }
  });

  it('asks for a periodic resync, counted from the last connect', async () => {
    const sim = await startSimulator({ keepaliveMs: 50 });
    const s = openStream({ urls: [sim.url], resyncIntervalMs: 100 });
    let resyncs = 0;
    s.stream.on('resync', () => {
      resyncs++;
    });
    try {
      await waitFor(() => resyncs >= 2);
      expect(s.connects).toHaveLength(1);
    } finally {
      s.stream.stop();
      await sim.close();
    }
  });

  it('reports stream age since the last byte', async () => {
    let now = 1_000;
    const timers: (() => void)[] = [];
    const clock = {
      now: () => now,
      setTimeout: (fn: () => void) => {
        timers.push(fn);
        return {};
      },
      clearTimeout: () => undefined,
    };
    const stream = new EventStream({ urls: ['http://127.0.0.1:9'], clock });
    expect(stream.ageSeconds()).toBe(0);
    now += 2_500;
    expect(stream.ageSeconds()).toBe(2.5);
  });
});

describe('EventStream backoff', () => {
  it('grows exponentially with jitter, capped, and resets once data flows again', async () => {
    const delays: number[] = [];
    const clock = {
      now: () => Date.now(),
      setTimeout: (fn: () => void, ms: number) => {
        if (ms !== 60_000) {
          delays.push(ms);
          setImmediate(fn);
        } // retry timers fire at once; watchdog never
        return {};
      },
      clearTimeout: () => undefined,
    };
    const dead = await deadUrl();
    const stream = new EventStream({
      urls: [dead],
      idleTimeoutMs: 60_000,
      backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 },
      random: () => 1,
      clock,
    });
    stream.start();
    await waitFor(() => delays.length >= 6);
    stream.stop();
    // random() = 1 takes the full jitter off: half of 100, 200, 400, 800, 1000 (cap), 1000.
    expect(delays.slice(0, 6)).toEqual([50, 100, 200, 400, 500, 500]);
  });
});
