import { describeEachEngine } from '../support/db';
import { serviceFor } from './helpers';

// On PostgreSQL these run through a pool of 20 connections, so requests really overlap inside the
// database; PGlite has one connection and must still give the same answers.
describeEachEngine('IPAM under concurrency', (get) => {
  test('1,000 concurrent requests for 100 app ids yield exactly 100 allocations, all distinct', async () => {
    const svc = serviceFor(get());
    await svc.createPool({ name: 'race', cidr: '10.60.0.0/24', quarantineSeconds: 0 });
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => svc.allocate('race', `/team/app-${i % 100}`)));
    const byApp = new Map<string, Set<string>>();
    for (const r of results) byApp.set(r.allocation.appId, (byApp.get(r.allocation.appId) ?? new Set()).add(r.allocation.ip));
    expect(byApp.size).toBe(100);
    for (const ips of byApp.values()) expect(ips.size).toBe(1); // every answer for one app is the same IP
    expect(results.filter((r) => r.created)).toHaveLength(100);
    const distinct = new Set([...byApp.values()].map((s) => [...s][0]));
    expect(distinct.size).toBe(100);
    expect((await svc.getPool('race')).usage.allocated).toBe(100);
    const allocateEvents = (await svc.events('race', { limit: 1000 })).filter((e) => e.action === 'allocate');
    expect(allocateEvents).toHaveLength(100);
  });

  test('2,000 concurrent requests for distinct apps on a /21 yield 2,000 distinct addresses', async () => {
    const svc = serviceFor(get());
    await svc.createPool({ name: 'wide', cidr: '10.61.0.0/21' });
    const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => svc.allocate('wide', `/load/app-${i}`)));
    const ips = new Set(results.map((r) => r.allocation.ip));
    expect(ips.size).toBe(2000);
    expect(results.every((r) => r.created)).toBe(true);
    const { rows } = await get().knex.raw(
      `SELECT count(*) AS n, count(DISTINCT ip) AS d FROM ipam_address WHERE state = 'allocated' AND pool_id = (SELECT id FROM ipam_pool WHERE name = 'wide')`,
    );
    expect(Number(rows[0].n)).toBe(2000);
    expect(Number(rows[0].d)).toBe(2000);
  });

  test('concurrent allocate and release of the same apps never leaves an app with two addresses', async () => {
    const svc = serviceFor(get());
    await svc.createPool({ name: 'churn', cidr: '10.62.0.0/24', quarantineSeconds: 0 });
    const ops = Array.from({ length: 400 }, (_, i) => (i % 3 === 2 ? svc.release('churn', `/c/app-${i % 20}`) : svc.allocate('churn', `/c/app-${i % 20}`)));
    await Promise.all(ops);
    const { rows } = await get().knex.raw(`SELECT owner, count(*) AS n FROM ipam_address WHERE owner IS NOT NULL GROUP BY owner HAVING count(*) > 1`);
    expect(rows).toEqual([]);
  });
});
