/**
 * Allocation churn against a whole berth on real PostgreSQL (issue 16: the audit table grew by
 * 122k rows in 3 minutes, without bound): with BERTH_AUDIT_MAX_ROWS the leader keeps the trail
 * bounded while allocations go on, newest events kept, and says so in a metric.
 */
import { createPgDatabase } from '../support/db';
import { waitFor } from '../support/wait';
import { FaultLog } from './record';
import { startStack, type Stack } from './stack';

jest.setTimeout(180_000);
const log = new FaultLog('audit-retention');
let s: Stack;
let pg: { url: string; drop: () => Promise<void> };
const MAX_ROWS = 400;

beforeAll(async () => {
  pg = await createPgDatabase();
  s = await startStack({ env: { BERTH_DATABASE_URL: pg.url, BERTH_AUDIT_MAX_ROWS: String(MAX_ROWS), BERTH_AUDIT_PRUNE_INTERVAL_MS: '1000' } });
  expect((await s.api('POST', '/v1/pools', { name: 'churn', cidr: '10.35.0.0/24', quarantineSeconds: 0 })).status).toBe(201);
}, 60_000);

afterAll(async () => {
  log.flush();
  await s?.stop();
  await pg?.drop();
});

const rows = async () => Number((await s.berth.db.knex.raw('select count(*) as n from ipam_event')).rows[0].n);

it('allocation churn: the audit trail stays bounded by BERTH_AUDIT_MAX_ROWS while every allocation succeeds', async () => {
  const t0 = Date.now();
  let written = 0;
  let peak = 0;
  const failures: unknown[] = [];
  // 8 workers allocate and release: two audit rows per cycle, 1,600 rows in all (4 × the limit).
  await Promise.all(
    Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; i < 100; i++) {
        const app = `/churn/w${w}-${i % 10}`;
        const a = await s.api('POST', '/v1/pools/churn/allocations', { appId: app });
        const r = await s.api('DELETE', `/v1/pools/churn/allocations/${encodeURIComponent(app)}`);
        if (a.status !== 201 || r.status !== 204) failures.push({ app, alloc: a.status, release: r.status });
        written += 2;
        if (i % 20 === 0) peak = Math.max(peak, await rows());
      }
    }),
  );
  const churnMs = Date.now() - t0;
  expect(failures).toEqual([]);
  const t1 = Date.now();
  await waitFor(
    async () => (await rows()) <= MAX_ROWS,
    20_000,
    () => 'audit trail still above BERTH_AUDIT_MAX_ROWS',
  );
  const boundedMs = Date.now() - t1;
  // The newest events are the ones kept: the rows left are one unbroken run ending at the last event.
  const newest = (await s.api<{ events: Array<{ id: number; action: string }> }>('GET', '/v1/pools/churn/events?limit=1')).body.events[0];
  expect(newest.action).toBe('release');
  const kept = (await s.berth.db.knex.raw('select min(id)::int as lo, max(id)::int as hi, count(*)::int as n from ipam_event')).rows[0];
  expect(kept.hi).toBe(newest.id);
  expect(kept.hi - kept.lo + 1).toBe(kept.n);
  const metrics = (await s.api<string>('GET', '/metrics')).body;
  const pruned = Number(/berth_ipam_audit_pruned_rows_total\{reason="rows"\} (\d+)/.exec(metrics)?.[1] ?? 0);
  expect(pruned).toBeGreaterThanOrEqual(written - MAX_ROWS);
  // Allocations keep working after pruning.
  expect((await s.api('POST', '/v1/pools/churn/allocations', { appId: '/churn/after' })).status).toBe(201);
  log.add({
    fault: `allocation churn: ${written} audit rows in ${(churnMs / 1000).toFixed(1)} s (8 clients allocating and releasing) with BERTH_AUDIT_MAX_ROWS=${MAX_ROWS}, pruning every 1 s`,
    during: `every allocation and release succeeded; the trail peaked at ${peak} rows while the leader pruned in batches`,
    after: `trail at most ${MAX_ROWS} rows ${boundedMs} ms after the churn, the newest events kept; berth_ipam_audit_pruned_rows_total{reason="rows"} ${pruned}`,
    recoveryMs: boundedMs,
    recoveryFrom: 'end of churn → trail within BERTH_AUDIT_MAX_ROWS',
  });
});
