/** The readiness rules for Marathon and Nginx, on fake state and time. */
import { marathonReadiness, type MarathonRuntime } from '../../src/runtime/marathon';
import { nginxReadiness } from '../../src/runtime/nginx';
import type { SyncRun } from '../../src/nginx/store';
import type { SyncStatusView } from '../../src/nginx/sync-run';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function marathon(o: { synced?: boolean; ageSeconds?: number; failures?: number; lastSuccessAt?: number | null; lastError?: string | null }) {
  return {
    startedAt: T0,
    stream: { ageSeconds: () => o.ageSeconds ?? 1 },
    sync: {
      hasSynced: () => o.synced ?? true,
      status: () => ({
        lastSuccessAt: o.lastSuccessAt ? new Date(o.lastSuccessAt).toISOString() : null,
        lastError: o.lastError ?? null,
        consecutiveFailures: o.failures ?? 0,
      }),
    },
  } as unknown as Pick<MarathonRuntime, 'sync' | 'stream' | 'startedAt'>;
}

describe('marathon readiness', () => {
  const check = (runtime: ReturnType<typeof marathon> | undefined, now: number, leader = true) =>
    marathonReadiness(
      () => (leader ? { runtime } : null),
      60_000,
      () => now,
    ).check();

  it('passes on a standby, which does not talk to Marathon', async () => {
    expect(await check(undefined, T0, false)).toEqual({ ok: true, detail: { role: 'standby' } });
  });

  it('fails before the first snapshot and while the stream is silent', async () => {
    expect(await check(undefined, T0)).toMatchObject({ ok: false, detail: { reason: 'no Marathon snapshot applied yet' } });
    expect(await check(marathon({ ageSeconds: 31 }), T0)).toMatchObject({ ok: false, detail: { reason: expect.stringContaining('silent') } });
  });

  it('fails once snapshots have failed without a success for longer than the bound, naming the last error', async () => {
    const r = marathon({ failures: 5, lastSuccessAt: T0, lastError: 'HTTP 503' });
    expect(await check(r, T0 + 60_000)).toMatchObject({ ok: true, detail: { failingSeconds: 60 } });
    expect(await check(r, T0 + 60_001)).toMatchObject({ ok: false, detail: { lastError: 'HTTP 503', reason: expect.stringContaining('HTTP 503') } });
    // One success resets the streak.
    expect(await check(marathon({ failures: 0, lastSuccessAt: T0 + 70_000 }), T0 + 70_001)).toMatchObject({ ok: true });
  });
});

describe('nginx readiness', () => {
  const run = (status: SyncRun['status']): SyncRun => ({
    id: 7,
    startedAt: '',
    finishedAt: '',
    trigger: 'interval',
    status,
    position: 3,
    filesWritten: 0,
    filesRemoved: 0,
    reloaded: false,
    testOutput: null,
    heldReason: null,
    error: status === 'failed' ? 'nginx -t failed' : null,
    offenders: [],
  });
  const check = (s: Partial<SyncStatusView>) =>
    nginxReadiness({
      status: () => ({ held: null, lastRun: null, lastReloadAt: null, appliedPosition: null, excluded: [], generation: null, unconfirmed: null, ...s }),
    }).check();

  it('fails until a run applied a loaded registry', async () => {
    expect(await check({})).toMatchObject({ ok: false, detail: { reason: 'no Nginx sync run has finished yet' } });
    expect(await check({ lastRun: run('unchanged') })).toMatchObject({ ok: false, detail: { reason: expect.stringContaining('not loaded') } });
    expect(await check({ lastRun: run('unchanged'), appliedPosition: 3 })).toMatchObject({ ok: true });
    expect(await check({ lastRun: run('applied'), appliedPosition: 3 })).toMatchObject({ ok: true });
  });

  it('fails while the latest run failed or was held, naming the run', async () => {
    expect(await check({ lastRun: run('failed'), appliedPosition: 2 })).toMatchObject({
      ok: false,
      detail: { reason: 'the latest Nginx sync run failed', lastRun: { id: 7, error: 'nginx -t failed' } },
    });
    expect(await check({ lastRun: run('held'), appliedPosition: 2 })).toMatchObject({ ok: false, detail: { reason: 'the latest Nginx sync run held' } });
  });

  it('names a reload Nginx did not confirm as the problem NGINX_RELOAD_UNCONFIRMED, with the likely cause', async () => {
    const unconfirmed = { generation: 'abc', reason: 'Nginx still serves generation def', since: '2026-01-01T00:00:00.000Z' };
    expect(await check({ lastRun: run('failed'), appliedPosition: 2, unconfirmed })).toMatchObject({
      ok: false,
      detail: { problem: { code: 'NGINX_RELOAD_UNCONFIRMED', generation: 'abc', message: 'Nginx still serves generation def' } },
    });
    expect((await check({ lastRun: run('applied'), appliedPosition: 2 })).detail).not.toHaveProperty('problem');
  });
});
