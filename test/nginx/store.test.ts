import { KnexSyncRunStore } from '../../src/nginx/knex-store';
import type { SyncRun } from '../../src/nginx/store';
import { describeEachEngine } from '../support/db';

const run = (over: Partial<SyncRun> = {}): SyncRun => ({
  startedAt: '2026-11-23T08:00:00.000Z',
  finishedAt: '2026-11-23T08:00:00.250Z',
  trigger: 'interval',
  status: 'applied',
  position: 7,
  filesWritten: 3,
  filesRemoved: 1,
  reloaded: true,
  testOutput: null,
  heldReason: null,
  error: null,
  offenders: [],
  ...over,
});

describeEachEngine('KnexSyncRunStore', (db) => {
  it('records runs and lists them newest first, with paging', async () => {
    const store = new KnexSyncRunStore(db().knex);
    const a = await store.record(run());
    const b = await store.record(
      run({
        status: 'failed',
        reloaded: false,
        testOutput: 'nginx: [emerg] unknown directive',
        error: 'test command failed',
        offenders: [{ env: 'default', appId: '/bad' }],
      }),
    );
    const c = await store.record(run({ status: 'held', heldReason: 'would remove 4 of 5 upstream servers', reloaded: false, position: 9007199254740 }));
    expect(a.id).toBeLessThan(b.id!);
    const all = await store.list({ limit: 10 });
    expect(all.map((r) => r.id)).toEqual([c.id, b.id, a.id]);
    expect(all[1]).toEqual({ ...run(), ...b });
    expect(all[1].offenders).toEqual([{ env: 'default', appId: '/bad' }]);
    expect(all[0]).toMatchObject({ status: 'held', heldReason: 'would remove 4 of 5 upstream servers', position: 9007199254740 });
    expect(all[2].startedAt).toBe('2026-11-23T08:00:00.000Z');
    expect((await store.list({ limit: 1, beforeId: c.id })).map((r) => r.id)).toEqual([b.id]);
    expect(await store.prune(1)).toBe(2);
    expect((await store.list({ limit: 10 })).map((r) => r.id)).toEqual([c.id]);
  });

  it('refuses an unknown status', async () => {
    const store = new KnexSyncRunStore(db().knex);
    await expect(store.record(run({ status: 'bogus' as never }))).rejects.toThrow();
  });
});
