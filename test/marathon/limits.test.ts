/**
 * Byte limits on Marathon answers and events, against loopback servers that never stop talking:
 * reading stops at the limit with a named failure, memory stays flat, the stream carries on.
 */
import http from 'node:http';
import type net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Registry } from 'prom-client';
import { MarathonClient } from '../../src/marathon/client';
import { MarathonError } from '../../src/marathon/errors';
import { createMarathonMetrics } from '../../src/marathon/metrics';
import { EventStream } from '../../src/marathon/stream';
import type { MarathonEvent } from '../../src/marathon/types';
import { startSimulator } from '../../src/sim';
import { waitFor } from '../support/wait';

jest.setTimeout(60_000);

interface Endless {
  url: string;
  sent(): number;
  closedByClient(): boolean;
  requests: string[];
  close(): Promise<void>;
}

/** Answers `/v2/apps` with `{"apps":[` and then apps with 10 kB of env, forever (until the client hangs up). */
async function endlessApps(contentLength?: number): Promise<Endless> {
  let sent = 0;
  let hungUp = false;
  const requests: string[] = [];
  const app = (i: number) => `${i ? ',' : ''}{"id":"/endless/a${i}","labels":{"berth.domain":"a${i}.x"},"env":{"PAD":"${'p'.repeat(10_000)}"}}`;
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    res.writeHead(200, { 'Content-Type': 'application/json', ...(contentLength ? { 'Content-Length': contentLength } : {}) });
    let i = 0;
    const pump = () => {
      while (!res.destroyed) {
        const s = i === 0 ? `{"apps":[${app(i++)}` : app(i++);
        sent += s.length;
        if (!res.write(s)) return void res.once('drain', pump);
      }
    };
    res.on('close', () => {
      hungUp = true;
    });
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    sent: () => sent,
    closedByClient: () => hungUp,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A full collection, then what is still reachable: the JS heap plus Buffers and other ArrayBuffers. */
const collect = ((): (() => void) => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();
function liveBytes(): number {
  collect();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function failure(p: Promise<unknown>): Promise<MarathonError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(MarathonError);
  return e as MarathonError;
}

describe('REST answers over BERTH_MARATHON_MAX_RESPONSE_BYTES', () => {
  it('an endless /v2/apps is cut at the limit, named, counted, not retried elsewhere, with flat memory', async () => {
    const endless = await endlessApps();
    const other = await endlessApps();
    const registry = new Registry();
    const metrics = createMarathonMetrics(registry);
    const limit = 64 * 1024 * 1024;
    try {
      const client = new MarathonClient({ urls: [endless.url, other.url], maxResponseBytes: limit, timeoutMs: 30_000, metrics });
      // Live memory (after a full collection), not RSS: RSS also holds garbage not yet collected,
      // which depends on load and on what ran earlier in this worker, not on what the reader keeps.
      const before = liveBytes();
      let peak = before;
      let samples = 0;
      // Each sample is a full collection, which takes long in a worker whose heap holds earlier
      // test files: the next sample waits three times the last one's length, so collections take
      // at most a quarter of the time and the reader is never starved (a fixed 100 ms interval ran
      // collections back to back in a full CI run and the test timed out).
      let sampler: NodeJS.Timeout | undefined;
      const sample = () => {
        const t0 = performance.now();
        samples++;
        peak = Math.max(peak, liveBytes());
        sampler = setTimeout(sample, Math.max(100, 3 * (performance.now() - t0)));
      };
      sampler = setTimeout(sample, 100);
      const e = await failure(client.getApps()).finally(() => clearTimeout(sampler));
      peak = Math.max(peak, liveBytes());
      expect(e.kind).toBe('too_large');
      expect(e.message).toMatch(new RegExp(`^MARATHON_ANSWER_TOO_LARGE: the answer is larger than ${limit} bytes \\(BERTH_MARATHON_MAX_RESPONSE_BYTES\\)`));
      // The raw answer never sits in memory: a reader that kept what it read would hold most of
      // the 64 MiB before the cut; this one holds the projected apps (a few MB) at most.
      process.stderr.write(
        `live memory growth ${((peak - before) / 1048576).toFixed(1)} MB (${samples} samples, ${(endless.sent() / 1048576).toFixed(1)} MB sent)\n`,
      );
      expect(peak - before).toBeLessThan(limit / 4);
      await waitFor(() => endless.closedByClient(), 5000);
      // Socket buffers only: the server could not push much past the limit before berth hung up.
      expect(endless.sent()).toBeLessThan(limit + 16 * 1024 * 1024);
      expect(other.requests).toEqual([]);
      const text = await registry.metrics();
      expect(text).toMatch(/berth_marathon_requests_total\{endpoint="apps",outcome="too_large"\} 1/);
      expect(text).toMatch(/berth_marathon_oversized_total\{what="answer"\} 1/);
    } finally {
      await endless.close();
      await other.close();
    }
  });

  it('a Content-Length over the limit is refused before the body is read', async () => {
    const endless = await endlessApps(500 * 1024 * 1024);
    try {
      const e = await failure(new MarathonClient({ urls: [endless.url], maxResponseBytes: 1024 * 1024 }).getApps());
      expect([e.kind, e.message]).toEqual(['too_large', expect.stringContaining('Content-Length 524288000')]);
      await waitFor(() => endless.closedByClient(), 5000);
    } finally {
      await endless.close();
    }
  });

  it('one app over the limit (GET /v2/apps/{id}) fails the same way', async () => {
    const sim = await startSimulator();
    try {
      await sim.control.deploy({ id: '/big', cmd: 'sleep 1000', instances: 0, env: { PAD: 'x'.repeat(200_000) }, labels: { 'berth.domain': 'big.x' } });
      const e = await failure(new MarathonClient({ urls: [sim.url], maxResponseBytes: 100_000 }).getApp('/big'));
      expect([e.kind, e.message]).toEqual(['too_large', expect.stringMatching(/^MARATHON_ANSWER_TOO_LARGE/)]);
      expect((await new MarathonClient({ urls: [sim.url], maxResponseBytes: 300_000, labelPrefix: 'berth.' }).getApp('/big')).labels).toEqual({
        'berth.domain': 'big.x',
      });
    } finally {
      await sim.close();
    }
  });
});

describe('deadlines while an answer is read', () => {
  /** Writes `{"apps":[`, then one small app every `everyMs` for `count` apps (then `]}`, unless `stall`). */
  async function trickle(count: number, everyMs: number, stall: boolean) {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"apps":[');
      let i = 0;
      const t = setInterval(() => {
        if (res.destroyed) return clearInterval(t);
        if (i === count) {
          clearInterval(t);
          if (!stall) res.end(']}');
          return;
        }
        res.write(`${i ? ',' : ''}{"id":"/t/a${i++}"}`);
      }, everyMs);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: async () => {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      },
    };
  }

  it('an answer that keeps coming may take longer than timeoutMs; one that stalls is cut', async () => {
    const steady = await trickle(30, 100, false);
    const stalled = await trickle(2, 100, true);
    try {
      // 30 apps, one every 100 ms: 3 s in all, never 2 s without a byte. (2 s, not less: on a
      // loaded machine the answer's headers alone took over 400 ms.)
      expect(await new MarathonClient({ urls: [steady.url], timeoutMs: 2000 }).getApps()).toHaveLength(30);
      const stall = () => failure(new MarathonClient({ urls: [stalled.url], timeoutMs: 2000 }).getApps());
      // The server answers at once, so a 'connect' failure means this process itself stood still
      // for 2 s before the answer began (a full collection in a busy worker, a loaded machine):
      // that attempt says nothing about the read deadline, so it is made once more.
      let e = await stall();
      if (e.kind === 'connect') e = await stall();
      expect([e.kind, e.message]).toEqual(['timeout', 'no byte for 2000 ms while reading the answer']);
    } finally {
      await steady.close();
      await stalled.close();
    }
  });
});

describe('events over BERTH_MARATHON_MAX_EVENT_BYTES', () => {
  it('is dropped unread and counted; the stream reconnects (a full snapshot follows) and carries on', async () => {
    const sim = await startSimulator({ keepaliveMs: 50 });
    const registry = new Registry();
    const metrics = createMarathonMetrics(registry);
    const stream = new EventStream({
      urls: [sim.url],
      eventTypes: ['app_terminated_event'],
      idleTimeoutMs: 2000,
      backoff: { initialMs: 10, maxMs: 100 },
      maxEventBytes: 16 * 1024,
      metrics,
    });
    const events: MarathonEvent[] = [];
    const drops: string[] = [];
    let connects = 0;
    stream.on('event', (e) => {
      if (e.eventType === 'app_terminated_event') events.push(e);
    });
    stream.on('connected', () => connects++);
    stream.on('disconnected', ({ reason }) => drops.push(reason));
    stream.on('error', () => undefined);
    const state = () => JSON.stringify({ drops, connects, stats: stream.stats, events: events.map((e) => (e as { appId: string }).appId) });
    const ev = (appId: string, pad: number) =>
      JSON.stringify({ eventType: 'app_terminated_event', appId, timestamp: new Date().toISOString(), pad: 'x'.repeat(pad) });
    const publish = (appId: string, pad: number) => sim.control.publishRaw(`event: app_terminated_event\r\ndata: ${ev(appId, pad)}\r\n\r\n`);
    /** Waits for connection `n` to carry events: small markers are published until one arrives. */
    const onConnection = async (n: number) => {
      let k = 0;
      await waitFor(
        () => {
          if (connects === n && events.some((e) => (e as { appId: string }).appId.startsWith(`/marker-${n}-`))) return true;
          if (connects === n) publish(`/marker-${n}-${k++}`, 10);
          return false;
        },
        10_000,
        state,
      );
    };
    try {
      stream.start();
      await onConnection(1);
      publish('/small', 100);
      // Over the limit in one line, and over it across several data lines of one event.
      publish('/huge', 40_000);
      await onConnection(2);
      const lines = Array.from({ length: 10 }, () => `data: ${'y'.repeat(2000)}\r\n`).join('');
      sim.control.publishRaw(`event: app_terminated_event\r\n${lines}\r\n`);
      await onConnection(3);
      publish('/after', 15_000);
      await waitFor(() => events.some((e) => (e as { appId: string }).appId === '/after'), 10_000, state);
      expect(events.map((e) => (e as { appId: string }).appId).filter((id) => !id.startsWith('/marker'))).toEqual(['/small', '/after']);
      expect(drops).toEqual(['event_too_large', 'event_too_large']);
      expect(stream.stats.oversizedEvents).toBe(2);
      expect(stream.stats.badEvents).toBe(0);
      expect(await registry.metrics()).toMatch(/berth_marathon_oversized_total\{what="event"\} 2/);
    } finally {
      stream.stop();
      await sim.close();
    }
  });

  it('an endless line is cut at the limit, not buffered', async () => {
    let written = 0;
    let hungUp = 0;
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.on('close', () => {
        hungUp++;
      });
      res.write('event: app_terminated_event\r\ndata: ');
      const pump = () => {
        while (!res.destroyed) {
          written += 65536;
          if (!res.write('z'.repeat(65536))) return void res.once('drain', pump);
        }
      };
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    const stream = new EventStream({
      urls: [`http://127.0.0.1:${port}`],
      idleTimeoutMs: 5000,
      backoff: { initialMs: 5000, maxMs: 5000 },
      maxEventBytes: 1024 * 1024,
    });
    const drops: string[] = [];
    stream.on('disconnected', ({ reason }) => drops.push(reason));
    stream.on('error', () => undefined);
    try {
      stream.start();
      await waitFor(() => drops.length === 1 && hungUp === 1, 10_000);
      expect(drops).toEqual(['event_too_large']);
      expect(written).toBeLessThan(16 * 1024 * 1024);
    } finally {
      stream.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
