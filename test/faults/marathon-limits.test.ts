/**
 * Oversized Marathon answers and events against a whole berth (small limits so the simulator
 * can cross them): the answer is refused with a named failure and every service stays; the
 * event is dropped, counted, and the reconnect snapshot brings what it said.
 */
import { waitFor } from '../support/wait';
import { FaultLog } from './record';
import { startStack, webApp, ZONE, type Stack } from './stack';

// Starting a whole berth (PGlite, migrations) took 46 s on a shared 2-core box at load 18.
jest.setTimeout(120_000);
const log = new FaultLog('marathon-limits');
let s: Stack;
const a = `a.${ZONE}`;
const b = `b.${ZONE}`;
const metric = async (name: string) => {
  const text = (await s.api<string>('GET', '/metrics')).body;
  return Number(new RegExp(`^${name.replace(/[{}"=]/g, (c) => `\\${c}`)} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
};

beforeAll(async () => {
  s = await startStack({ env: { BERTH_MARATHON_MAX_RESPONSE_BYTES: '65536', BERTH_MARATHON_MAX_EVENT_BYTES: '8192' } });
  await s.sim.control.deploy(webApp('a', 3));
  await s.sim.control.deploy(webApp('b', 2));
  await waitFor(async () => (await s.srv(a)) === 3 && (await s.srv(b)) === 2 && s.files().length === 2, 30_000);
}, 120_000);

afterAll(async () => {
  log.flush();
  await s?.stop();
});

it('oversized Marathon answer: the snapshot fails with MARATHON_ANSWER_TOO_LARGE, every service stays, the next good answer applies', async () => {
  // 100 kB of env: the whole answer and the app alone cross 64 KiB; its api_post_event crosses 8 KiB.
  await s.sim.control.deploy({ ...webApp('big', 1), env: { PAD: 'x'.repeat(100_000) } });
  const sync = await s.api<{ result: string; error?: string }>('POST', '/v1/sync', {});
  expect(sync.body.result).toBe('failed');
  expect(sync.body.error).toMatch(/^MARATHON_ANSWER_TOO_LARGE: the answer is larger than 65536 bytes \(BERTH_MARATHON_MAX_RESPONSE_BYTES\)/);
  const st = await s.api<{ marathon: { lastError: string; consecutiveFailures: number } }>('GET', '/v1/registry/status');
  expect(st.body.marathon.lastError).toMatch(/^MARATHON_ANSWER_TOO_LARGE/);
  expect(await metric('berth_marathon_oversized_total{what="answer"}')).toBeGreaterThan(0);
  // Last good state: nothing removed, nothing half-applied.
  expect([await s.srv(a), await s.srv(b), s.files().length]).toEqual([3, 2, 2]);
  const t0 = Date.now();
  await s.sim.control.remove('/faults/big');
  await s.sim.control.scale('/faults/a', 2);
  let last: unknown;
  await waitFor(
    async () => (last = (await s.api<{ result: string }>('POST', '/v1/sync', {})).body as { result: string }).result !== 'failed',
    15_000,
    () => JSON.stringify(last),
  );
  await waitFor(async () => (await s.srv(a)) === 2, 15_000);
  const after = await s.api<{ marathon: { lastError: string | null } }>('GET', '/v1/registry/status');
  expect(after.body.marathon.lastError).toBeNull();
  log.add({
    fault: 'oversized Marathon answer (/v2/apps over BERTH_MARATHON_MAX_RESPONSE_BYTES)',
    during: `reading stops at the limit; POST /v1/sync → "failed" (${String(sync.body.error).slice(0, 60)}…); GET /v1/registry/status marathon.lastError names it; berth_marathon_oversized_total{what="answer"} counts it; DNS and Nginx files keep the last good state`,
    after: 'the next answer within the limit is applied, the change made meanwhile included',
    recoveryMs: Date.now() - t0,
    recoveryFrom: 'answer back under the limit → change visible in DNS',
  });
});

it('oversized Marathon event: dropped unread, counted, the stream reconnects and the snapshot brings its change', async () => {
  // The event dropped in the test above ended that stream: wait until its reconnect is open, or
  // the event below is published while berth is not listening and only the snapshot sees it.
  await waitFor(
    async () =>
      (await metric('berth_marathon_stream_connected')) === 1 &&
      (await metric('berth_marathon_stream_reconnects_total{reason="event_too_large"}')) >= (await metric('berth_marathon_oversized_total{what="event"}')),
    20_000,
  );
  const dropped = await metric('berth_marathon_oversized_total{what="event"}');
  const reconnects = s.sim.control.requestCount('GET /v2/events');
  const t0 = Date.now();
  // A 10 kB label: the api_post_event crosses 8 KiB; the answer (a few kB) does not cross 64 KiB.
  await s.sim.control.update('/faults/b', { labels: { 'berth.domain': `b2.${ZONE}`, note: 'n'.repeat(10_000) } });
  await waitFor(async () => (await s.srv(`b2.${ZONE}`)) === 2, 20_000);
  // Counted when its bytes arrived (polled: the snapshot publishing b2 may race the scrape's read).
  await waitFor(async () => (await metric('berth_marathon_oversized_total{what="event"}')) > dropped, 5000);
  expect(s.sim.control.requestCount('GET /v2/events')).toBeGreaterThan(reconnects);
  expect(await s.srv(a)).toBe(2);
  log.add({
    fault: 'oversized Marathon event (one /v2/events event over BERTH_MARATHON_MAX_EVENT_BYTES)',
    during:
      'the event is dropped before it is buffered, logged as MARATHON_EVENT_TOO_LARGE and counted (berth_marathon_oversized_total{what="event"}); the stream reconnects (reason event_too_large); DNS keeps answering',
    after: 'the snapshot taken on reconnect publishes what the dropped event announced',
    recoveryMs: Date.now() - t0,
    recoveryFrom: 'app changed in Marathon → new domain in DNS',
  });
});
