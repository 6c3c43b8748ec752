/**
 * Keyset paging of the list endpoints: a walk through a list that changes under it returns every
 * item that existed for the whole walk exactly once, on PGlite and on PostgreSQL.
 */
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { registerIpamRoutes } from '../../src/http/routes/ipam';
import { registerServicesRoutes, type RegistryApi } from '../../src/http/routes/services';
import { createIpam } from '../../src/ipam';
import type { IpamService } from '../../src/ipam/service';
import { silentLogger } from '../../src/log';
import type { Service } from '../../src/model/types';
import type { StoredProblem } from '../../src/registry/store';
import { testApp } from '../support/app';
import { describeEachEngine } from '../support/db';

type Alloc = { pool: string; appId: string; ip: string };
const enc = encodeURIComponent;

describeEachEngine('list paging', (get) => {
  let app: FastifyInstance;
  let ipam: IpamService;
  beforeAll(async () => {
    const metricsRegistry = new Registry();
    ipam = createIpam({ knex: get().knex, logger: silentLogger, metricsRegistry }).service;
    app = await testApp((a) => registerIpamRoutes(a, { ipam }), { metricsRegistry });
    await ipam.createPool({ name: 'walk', cidr: '10.61.0.0/20', quarantineSeconds: 0 });
    // 1,000 allocations at known addresses 10.61.0.10 … 10.61.3.241, leaving gaps to insert into.
    const ips = Array.from({ length: 1000 }, (_, i) => 10 + i * 3).map((n) => `10.61.${n >> 8}.${n & 255}`);
    for (let i = 0; i < ips.length; i += 50) await Promise.all(ips.slice(i, i + 50).map((ip, j) => ipam.allocate('walk', `/walk/app-${i + j}`, { ip })));
  }, 240_000);
  afterAll(() => app?.close());

  it('walks 1,000 allocations with inserts and deletes during the walk: nothing repeated, nothing that stayed skipped', async () => {
    const before = (await ipam.findAllocations({ pool: 'walk', limit: 10_000 })).map((a) => a.appId);
    expect(before).toHaveLength(1000);
    const seen: Alloc[] = [];
    const deleted = new Set<string>();
    let url: string | null = '/v1/pools/walk/allocations?limit=64';
    let pages = 0;
    let inserted = 0;
    while (url) {
      const res = await app.inject({ url });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { allocations: Alloc[]; next: string | null };
      // The Link header and the body name the same next page.
      expect(res.headers.link ?? null).toBe(body.next && `<${body.next}>; rel="next"`);
      seen.push(...body.allocations);
      url = body.next;
      pages++;
      // Between pages: two new allocations (one before the cursor, one after it, in the gaps), and
      // on the fifth page one already seen and one not yet seen are released.
      const last = body.allocations.at(-1)!;
      const lastN = Number(last.ip.split('.')[2]) * 256 + Number(last.ip.split('.')[3]);
      for (const n of [lastN - 1, lastN + 4]) {
        if (n < 3000) await ipam.allocate('walk', `/walk/new-${inserted++}`, { ip: `10.61.${n >> 8}.${n & 255}` });
      }
      if (pages === 5) {
        for (const victim of [body.allocations[0].appId, before[900]]) {
          await ipam.release('walk', victim);
          deleted.add(victim);
        }
      }
    }
    expect(pages).toBeGreaterThan(15);
    expect(inserted).toBeGreaterThanOrEqual(30);
    const ids = seen.map((a) => a.appId);
    expect(new Set(ids).size).toBe(ids.length); // nothing twice
    const stayed = before.filter((id) => !deleted.has(id));
    const missing = stayed.filter((id) => !ids.includes(id));
    expect(missing).toEqual([]); // nothing that existed for the whole walk skipped
    expect(ids).not.toContain(before[900]); // released ahead of the cursor: gone
    // In address order, as documented.
    const order = seen.map((a) => a.ip.split('.').reduce((n, o) => n * 256 + Number(o), 0));
    expect(order).toEqual([...order].sort((a, b) => a - b));
  }, 240_000);

  it('pages /v1/allocations and the audit trail the same way; the last page has no next', async () => {
    const first = await app.inject({ url: '/v1/allocations?limit=2' });
    expect(first.json().allocations).toHaveLength(2);
    const second = await app.inject({ url: first.json().next });
    expect(second.json().allocations[0].ip).not.toBe(first.json().allocations[1].ip);
    const events: number[] = [];
    let url: string | null = `/v1/pools/walk/events?limit=400&appId=${enc('/walk/app-7')}`;
    while (url) {
      const body = (await app.inject({ url })).json() as { events: Array<{ id: number }>; next: string | null };
      events.push(...body.events.map((e) => e.id));
      url = body.next;
    }
    expect(events.length).toBeGreaterThan(0);
    const all = (await app.inject({ url: '/v1/pools/walk/events?limit=1000' })).json();
    const big = await app.inject({ url: '/v1/pools/walk/events?limit=1000' });
    expect(big.headers.link).toMatch(/^<\/v1\/pools\/walk\/events\?limit=1000&cursor=[\w-]+>; rel="next"$/);
    expect(all.events).toHaveLength(1000);
    const last = await app.inject({ url: '/v1/pools?limit=1000' });
    expect(last.json().next).toBeNull();
    expect(last.headers.link).toBeUndefined();
  });

  it('refuses a cursor of another list or other filters, and a forged one, with 400', async () => {
    const { next } = (await app.inject({ url: '/v1/pools/walk/allocations?limit=1&q=walk' })).json();
    expect(next).toContain('q=walk');
    const other = await app.inject({ url: next.replace('q=walk', 'q=app') });
    expect(other.statusCode).toBe(400);
    expect(other.json().message).toMatch(/invalid cursor/);
    const elsewhere = await app.inject({ url: `/v1/allocations?${new URL(next, 'http://x').searchParams}`.replace('q=walk&', '') });
    expect(elsewhere.statusCode).toBe(400);
    for (const cursor of ['nonsense', Buffer.from('["x",[1]]').toString('base64url')]) {
      expect((await app.inject({ url: `/v1/pools/walk/allocations?cursor=${cursor}` })).statusCode).toBe(400);
    }
    const both = await app.inject({ url: `${next}&offset=5` });
    expect(both.statusCode).toBe(400);
  });
});

describe('registry list paging', () => {
  it('pages services and problems by their unique sort keys while the registry changes; without limit the whole list', async () => {
    const svc = (env: string, i: number): Service =>
      ({
        env,
        appId: `/s/${String(i).padStart(3, '0')}`,
        domains: [`s${i}.example`],
        proxy: 'http',
        listen: null,
        dns: 'direct',
        portName: null,
        servicePort: 80,
        fixedIp: null,
        endpoints: [],
        version: 'v',
      }) as Service;
    let services = [...Array.from({ length: 150 }, (_, i) => svc('a', i)), ...Array.from({ length: 150 }, (_, i) => svc('b', i))];
    const problems: StoredProblem[] = [{ code: 'X', appId: '/p', env: null, message: 'm', since: new Date(0).toISOString(), source: 'model' }];
    const registry: RegistryApi = {
      current: () => ({ position: 1, loaded: true }),
      listServices: (env) => services.filter((s) => !env || s.env === env),
      findService: () => undefined,
      listProblems: () => problems,
      status: () => ({}) as ReturnType<RegistryApi['status']>,
      release: async () => null,
    };
    const app = await testApp((a) => registerServicesRoutes(a, { registry }));
    try {
      expect((await app.inject({ url: '/v1/services' })).json().services).toHaveLength(300);
      const seen: string[] = [];
      let url: string | null = '/v1/services?limit=40';
      let pages = 0;
      while (url) {
        const body = (await app.inject({ url })).json() as { services: Service[]; next: string | null };
        seen.push(...body.services.map((s) => `${s.env} ${s.appId}`));
        url = body.next;
        if (++pages === 2) services = services.filter((s) => !(s.env === 'a' && s.appId === '/s/000')); // seen already
        // After the cursor: appears once. (The registry's list is sorted by env, then app id.)
        if (pages === 3) services = [svc('a', 999), ...services].sort((x, y) => (x.env === y.env ? (x.appId < y.appId ? -1 : 1) : x.env < y.env ? -1 : 1));
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toHaveLength(301);
      const p = (await app.inject({ url: '/v1/problems?limit=1' })).json();
      expect(p).toEqual({ problems: [expect.objectContaining({ code: 'X' })], next: null });
    } finally {
      await app.close();
    }
  });
});
