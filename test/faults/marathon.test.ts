/**
 * Marathon faults against a whole berth: stream cut, stall without keepalive, standby 302, leader
 * switch, 5xx burst, slow Marathon, empty app list, garbage JSON. During each: DNS keeps answering
 * the last good state and the API says what is wrong; after: berth converges to Marathon's state.
 */
import { startSimulator, type Simulator } from '../../src/sim';
import { waitFor } from '../support/wait';
import { FaultLog } from './record';
import { startStack, watch, webApp, ZONE, type Stack } from './stack';

jest.setTimeout(90_000);
const log = new FaultLog('marathon');
let s: Stack;
let standby: Simulator;
const a = `a.${ZONE}`;
const b = `b.${ZONE}`;
const h = `h.${ZONE}`;
const healthChecks = [{ protocol: 'HTTP', path: '/health', portIndex: 0, gracePeriodSeconds: 5, intervalSeconds: 10, maxConsecutiveFailures: 3 }];
const eventRequests = () => s.sim.control.requestCount('GET /v2/events') + standby.control.requestCount('GET /v2/events');
/** A REST fault on both nodes (berth rotates through its URLs, so one bad node is not enough). */
const both = (f: Parameters<Simulator['control']['fault']>[0]) => [s.sim, standby].map((n) => n.control.fault(f));
/** The node currently leading (the standby after the leader switch). */
let leader: () => Simulator;

beforeAll(async () => {
  s = await startStack({
    urls: async (sim) => {
      standby = await startSimulator({ cluster: sim.cluster, keepaliveMs: 500 });
      // The standby first: berth must follow its 302 to the leader.
      return [standby.url, sim.url];
    },
  });
  leader = () => s.sim;
  await s.sim.control.deploy(webApp('a', 3));
  await s.sim.control.deploy(webApp('b', 2));
  await s.sim.control.deploy(webApp('h', 2, { healthChecks }));
  await waitFor(async () => (await s.srv(a)) === 3 && (await s.srv(b)) === 2 && (await s.srv(h)) === 2, 30_000);
  await waitFor(() => s.files().length === 3, 30_000);
}, 60_000);

afterAll(async () => {
  log.flush();
  await standby?.close();
  await s?.stop();
});

it('standby 302: the stream is redirected to the leader and events flow', async () => {
  expect(standby.control.requestCount('GET /v2/events')).toBeGreaterThan(0);
  expect(s.sim.control.streamCount()).toBeGreaterThanOrEqual(1);
  const t0 = Date.now();
  await s.sim.control.scale('/faults/b', 3);
  await waitFor(async () => (await s.srv(b)) === 3, 10_000);
  log.add({
    fault: 'standby answers 302 on /v2/events',
    during: 'berth follows the redirect to the leader; nothing visible to users',
    after: 'events from the leader reach DNS',
    recoveryMs: Date.now() - t0,
    recoveryFrom: 'scale on the leader → DNS',
  });
});

it('event stream cut: DNS keeps answering, the change made meanwhile arrives after the reconnect', async () => {
  const t0 = Date.now();
  expect(s.sim.control.cutStreams()).toBeGreaterThan(0);
  expect(await s.srv(a)).toBe(3);
  await s.sim.control.scale('/faults/a', 1);
  await waitFor(async () => (await s.srv(a)) === 1, 20_000);
  const recovery = Date.now() - t0;
  expect((await s.api<{ services: unknown[] }>('GET', '/v1/services')).body.services).toHaveLength(3);
  log.add({
    fault: 'event stream cut',
    during: 'DNS and Nginx keep the last state; API answers',
    after: 'reconnect + full snapshot; the change made while cut is published',
    recoveryMs: recovery,
    recoveryFrom: 'cut → change visible in DNS',
  });
});

it('stream stalled without keepalive: the watchdog reconnects, nothing is lost', async () => {
  // Start from one settled stream on the leader, so the reconnect counted below is the watchdog's.
  await waitFor(() => s.sim.control.streamCount() === 1, 30_000);
  const was = await s.srv(a);
  const next = was === 2 ? 3 : 2;
  const t0 = Date.now();
  const before = eventRequests();
  s.sim.control.stallStreams(true);
  standby.control.stallStreams(true);
  await s.sim.control.scale('/faults/a', next);
  const seen = watch(async () => ({ at: Date.now(), v: await s.srv(a) }), 200);
  await waitFor(() => eventRequests() > before, 60_000);
  const detected = Date.now() - t0;
  s.sim.control.stallStreams(false);
  standby.control.stallStreams(false);
  await waitFor(async () => (await s.srv(a)) === next, 20_000);
  const recovery = Date.now() - t0;
  const values = await seen.stop();
  // The stalled stream delivered nothing: until the watchdog's reconnect DNS kept the last known
  // state (never nothing), and the change arrived only through the snapshot after it.
  expect(detected).toBeGreaterThanOrEqual(25_000);
  expect(values.every((x) => x.v === was || x.v === next)).toBe(true);
  expect(values.filter((x) => x.at < t0 + detected - 1000).every((x) => x.v === was)).toBe(true);
  log.add({
    fault: 'event stream stalled (no bytes, no keepalive)',
    during: `DNS keeps the last state; the idle watchdog reconnects after ${(detected / 1000).toFixed(1)} s (limit 30 s = 3 missed keepalives)`,
    after: 'reconnect + full snapshot; the change made during the stall is published',
    recoveryMs: recovery - detected,
    recoveryFrom: 'watchdog reconnect → change visible in DNS',
  });
});

it('leader switch: health results wiped on the new leader do not empty DNS; events flow from the new leader', async () => {
  const seen = watch(() => s.srv(h), 50);
  const t0 = Date.now();
  standby.control.becomeLeader();
  leader = () => standby;
  await standby.control.scale('/faults/b', 2);
  await waitFor(async () => (await s.srv(b)) === 2, 30_000);
  const recovery = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 500)); // let the watcher see the settled state once more
  const values = await seen.stop();
  expect(Math.min(...values.map((v) => v ?? -1))).toBe(2);
  log.add({
    fault: 'Marathon leader switch (health results wiped)',
    during: 'the health-checked app keeps both endpoints in DNS (min seen: 2 of 2)',
    after: 'stream follows the new leader; a change made there is published',
    recoveryMs: recovery,
    recoveryFrom: 'switch → change on new leader visible in DNS',
  });
});

it('5xx burst: DNS and the API keep serving, the status says why, berth converges once Marathon answers', async () => {
  const removers = [s.sim, standby].map((n) => n.control.fault({ kind: 'status', status: 503 }));
  const failuresBefore = Number((await s.api<{ marathon: { consecutiveFailures: number } }>('GET', '/v1/registry/status')).body.marathon.consecutiveFailures);
  s.sim.control.cutStreams();
  standby.control.cutStreams();
  const sync = await s.api<{ result: string; error?: string }>('POST', '/v1/sync', {});
  expect(sync.body.result).toBe('failed');
  const status = await s.api<{ marathon: { lastError: string | null; consecutiveFailures: number } }>('GET', '/v1/registry/status');
  expect(status.body.marathon.lastError).toBeTruthy();
  expect(status.body.marathon.consecutiveFailures).toBeGreaterThan(failuresBefore);
  await leader().control.scale('/faults/b', 1);
  expect(await s.srv(b)).toBe(2);
  expect(await s.srv(a)).toBe(2);
  expect(s.files().length).toBe(3);
  const t0 = Date.now();
  removers.forEach((r) => r());
  await waitFor(async () => (await s.srv(b)) === 1, 60_000);
  log.add({
    fault: 'Marathon 5xx burst',
    during: `DNS and Nginx keep the last state; POST /v1/sync → result "failed"; GET /v1/registry/status shows lastError "${String(status.body.marathon.lastError).slice(0, 60)}"`,
    after: 'stream reconnects with backoff; the change made during the burst is published',
    recoveryMs: Date.now() - t0,
    recoveryFrom: 'Marathon healthy again → change visible in DNS',
  });
});

it('slow Marathon: a request that never answers times out; nothing changes meanwhile', async () => {
  const before = await s.srv(a);
  both({ kind: 'hang', path: '/v2/apps', times: 1 });
  const t0 = Date.now();
  const syncing = s.api<{ result: string; error?: string }>('POST', '/v1/sync', {});
  const during = await s.srv(a);
  const res = (await syncing) as { body: { result: string; error?: string; reason?: string } };
  const gaveUp = Date.now() - t0;
  expect(during).toBe(before);
  expect(['failed', 'held']).toContain(res.body.result);
  expect(gaveUp).toBeLessThan(30_000);
  const again = await s.api<{ result: string }>('POST', '/v1/sync', {});
  expect(['applied', 'unchanged']).toContain(again.body.result);
  log.add({
    fault: 'slow Marathon (request hangs)',
    during: `DNS keeps answering; POST /v1/sync answers "${res.body.result}" (${String(res.body.error ?? res.body.reason).slice(0, 60)}) after ${Math.round(gaveUp / 1000)} s`,
    after: 'next snapshot succeeds',
    recoveryMs: gaveUp,
    recoveryFrom: 'request sent → berth gives up (10 s per URL, both URLs tried)',
  });
});

it('empty app list: the snapshot is held and reported, DNS and files stay; release applies it on request', async () => {
  const before = await s.srv(a);
  both({ kind: 'emptyApps', path: '/v2/apps', times: 1 });
  const held = await s.api<{ result: string; reason?: string }>('POST', '/v1/sync', {});
  expect(held.body.result).toBe('held');
  const st = await s.api<{ held: { reason: string } | null }>('GET', '/v1/registry/status');
  expect(st.body.held?.reason).toBeTruthy();
  expect(await s.srv(a)).toBe(before);
  expect(s.files()).toHaveLength(3);
  // A good answer next time clears the hold by itself.
  const t0 = Date.now();
  const ok = await s.api<{ result: string }>('POST', '/v1/sync', {});
  expect(['applied', 'unchanged']).toContain(ok.body.result);
  let last: unknown;
  await waitFor(
    async () => (last = (await s.api<{ held: unknown }>('GET', '/v1/registry/status')).body).held === null,
    10_000,
    () => `status: ${JSON.stringify(last)} after sync ${JSON.stringify(ok.body)}`,
  );
  const cleared = Date.now() - t0;
  // An operator who means it releases the held snapshot through the API.
  both({ kind: 'emptyApps', path: '/v2/apps', times: 1 });
  expect((await s.api<{ result: string }>('POST', '/v1/sync', {})).body.result).toBe('held');
  const rel = await s.api<{ released: boolean }>('POST', '/v1/registry/release', {});
  expect(rel.body.released).toBe(true);
  await waitFor(
    async () => (await s.srv(a)) === 0,
    10_000,
    () => `release: ${JSON.stringify(rel.body)}`,
  );
  const t1 = Date.now();
  // Marathon keeps health results in memory only: after the leader switch above, h's tasks have
  // none until their checks run again, and berth rightly publishes no unproven task of a
  // health-checked app it forgot (the release). The checks pass again here.
  for (const t of leader().control.tasks('/faults/h')) leader().control.setHealth(t.id, true);
  await s.api('POST', '/v1/sync', {});
  await waitFor(async () => (await s.srv(a)) === before && (await s.srv(h)) === 2, 10_000);
  log.add({
    fault: 'Marathon answers an empty app list',
    during: `snapshot held (GET /v1/registry/status → held.reason "${st.body.held?.reason}"); DNS and Nginx files unchanged`,
    after: 'the next good snapshot clears the hold; POST /v1/registry/release applies a held snapshot on purpose',
    recoveryMs: cleared,
    recoveryFrom: 'good answer → hold cleared',
  });
  log.add({
    fault: 'held empty snapshot released by the operator',
    during: 'DNS empties, as asked',
    after: 'the next snapshot restores every service',
    recoveryMs: Date.now() - t1,
    recoveryFrom: 'POST /v1/sync → DNS restored',
  });
});

it('garbage JSON: a bad REST answer fails the snapshot, a bad event is skipped, the stream survives', async () => {
  const before = await s.srv(a);
  both({ kind: 'garbage', path: '/v2/apps', times: 1 });
  const bad = await s.api<{ result: string; error?: string; reason?: string }>('POST', '/v1/sync', {});
  expect(['failed', 'held']).toContain(bad.body.result);
  const st = await s.api<{ held: { reason: string; error?: string } | null; marathon: { lastError: string | null } }>('GET', '/v1/registry/status');
  const why = bad.body.error ?? bad.body.reason ?? st.body.held?.error ?? st.body.held?.reason ?? st.body.marathon.lastError;
  expect(await s.srv(a)).toBe(before);
  const streams = eventRequests();
  leader().control.publishRaw('event: status_update_event\r\ndata: {"eventType":"status_update_event", garbage\r\n\r\n');
  const t0 = Date.now();
  await leader().control.scale('/faults/a', before === 3 ? 2 : 3);
  await waitFor(async () => (await s.srv(a)) === (before === 3 ? 2 : 3), 15_000);
  expect(eventRequests()).toBe(streams);
  log.add({
    fault: 'garbage JSON from Marathon (REST and stream)',
    during: `POST /v1/sync → "${bad.body.result}" (${String(why).slice(0, 60)}); a malformed event is counted and skipped; DNS unchanged`,
    after: 'the same stream keeps delivering events (no reconnect needed)',
    recoveryMs: Date.now() - t0,
    recoveryFrom: 'next change after the bad event → DNS',
  });
});
