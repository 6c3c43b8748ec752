/**
 * The dashboard's server side against a real database (both engines): the static page and its
 * headers, token discovery and verification, the live stream (a change arrives as a notice; the
 * stream is bounded and never holds up shutdown), DNS status, and allocation search and paging.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry as PromRegistry } from 'prom-client';
import { createIpam } from '../../src/ipam';
import { silentLogger } from '../../src/log';
import { registerIpamRoutes } from '../../src/http/routes/ipam';
import { LiveHub } from '../../src/live/hub';
import { registerDashboardRoutes } from '../../src/http/routes/ui';
import { RateSampler } from '../../src/http/routes/dns-status';
import type { SyncStatusView } from '../../src/nginx/sync-run';
import type { RegistryStatus } from '../../src/registry/types';
import { describeEachEngine } from '../support/db';
import { testApp } from '../support/app';
import { waitFor } from '../support/wait';

function fakeRegistry() {
  const listeners = new Set<(p: number) => void>();
  const st: RegistryStatus = { loaded: true, position: 1, services: 0, endpoints: 0, problems: 0, held: null, lastSnapshot: null };
  return {
    st,
    status: () => st,
    onChange(l: (p: number) => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    move() {
      st.position += 1;
      for (const l of listeners) l(st.position);
    },
    listeners,
  };
}

const nginxStatus: SyncStatusView = { held: null, lastRun: null, lastReloadAt: null, appliedPosition: null, excluded: [], generation: null, unconfirmed: null };

/** A minimal SSE reader: collects `event:`/`data:` pairs. */
function openStream(url: string): Promise<{ events: Array<{ event: string; data: string }>; status: number; close(): void; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      const events: Array<{ event: string; data: string }> = [];
      let buf = '';
      const ended = new Promise<void>((r) => res.on('close', () => r()));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event) events.push({ event, data: data ?? '' });
        }
      });
      resolve({ events, status: res.statusCode ?? 0, close: () => req.destroy(), ended });
    });
    req.on('error', reject);
  });
}

describeEachEngine('dashboard routes', (db) => {
  let app: FastifyInstance;
  let base: string;
  let uiDir: string;
  const registry = fakeRegistry();

  beforeAll(async () => {
    uiDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-ui-'));
    fs.writeFileSync(path.join(uiDir, 'index.html'), '<!doctype html><title>berth</title>');
    fs.writeFileSync(path.join(uiDir, 'main-ABCDEFGH.js'), 'export {};');
    fs.writeFileSync(path.join(uiDir, 'notes.txt'), 'not served: unknown type');
    const metricsRegistry = new PromRegistry();
    const ipam = createIpam({ knex: db().knex, logger: silentLogger, metricsRegistry });
    app = await testApp(
      (a) => {
        registerIpamRoutes(a, { ipam: ipam.service });
        registerDashboardRoutes(a, {
          tokensRequired: true,
          labelPrefix: 'acme.',
          live: { registry, nginx: { status: () => nginxStatus }, knex: db().knex },
          dns: { currentIndex: () => ({ loaded: true, position: 7, serial: 1765000000, names: 12 }) },
          metricsRegistry,
          uiDir,
        });
      },
      { apiTokens: ['s3cret'], metricsRegistry },
    );
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const auth = { authorization: 'Bearer s3cret' };
    await app.inject({ method: 'POST', url: '/v1/pools', headers: auth, payload: { name: 'ui', cidr: '10.60.0.0/24' } });
    for (const id of ['/shop/api', '/shop/web', '/team/a.b', '/team/ab', '/team/other']) {
      await app.inject({ method: 'PUT', url: `/v1/pools/ui/allocations/${encodeURIComponent(id)}`, headers: auth, payload: {} });
    }
  });
  afterAll(async () => {
    await app?.close();
    fs.rmSync(uiDir, { recursive: true, force: true });
  });

  it('serves the page under /ui/ with a strict CSP; hashed assets are cached, the page is revalidated', async () => {
    const page = await app.inject({ url: '/ui/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const js = await app.inject({ url: '/ui/main-ABCDEFGH.js' });
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toContain('immutable');
    expect((await app.inject({ url: '/ui' })).headers.location).toBe('/ui/');
    expect((await app.inject({ url: '/' })).headers.location).toBe('/ui/');
  });

  it('serves nothing outside the built files', async () => {
    for (const url of ['/ui/notes.txt', '/ui/..%2Fpackage.json', '/ui/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/ui/missing.js', `/ui/${'a'.repeat(900)}.js`]) {
      const r = await app.inject({ url });
      expect([r.statusCode, r.json().code]).toEqual([404, 'NOT_FOUND']);
    }
  });

  it('tells the page a token is needed and checks one without changing anything', async () => {
    expect((await app.inject({ url: '/v1/ui/config' })).json()).toEqual({ tokensRequired: true, live: '/v1/live', labelPrefix: 'acme.' });
    expect((await app.inject({ method: 'POST', url: '/v1/ui/verify' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/v1/ui/verify', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    const ok = await app.inject({ method: 'POST', url: '/v1/ui/verify', headers: { authorization: 'Bearer s3cret' } });
    expect([ok.statusCode, ok.json()]).toEqual([200, { ok: true }]);
  });

  it('reports the DNS index and a query rate once two samples exist', async () => {
    const r = (await app.inject({ url: '/v1/dns/status' })).json();
    expect(r).toMatchObject({ loaded: true, position: 7, serial: 1765000000, names: 12, queriesTotal: 0 });
    const s = new RateSampler(60_000);
    expect(s.add(0, 100)).toBeNull();
    expect(s.add(2000, 300)).toBe(100);
    // A counter reset (restart) starts the window afresh instead of a negative rate.
    expect(s.add(3000, 10)).toBeNull();
  });

  it('searches allocations by app id or address, literally, and pages them', async () => {
    const list = async (qs: string) => (await app.inject({ url: `/v1/pools/ui/allocations?${qs}` })).json().allocations.map((a: { appId: string }) => a.appId);
    expect(await list('q=SHOP')).toEqual(['/shop/api', '/shop/web']);
    // The text is literal: `%` and `_` are no wildcards, `.` is a dot.
    expect(await list(`q=${encodeURIComponent('%')}`)).toEqual([]);
    expect(await list(`q=${encodeURIComponent('a_b')}`)).toEqual([]);
    expect(await list('q=a.b')).toEqual(['/team/a.b']);
    expect(await list('q=10.60.0.')).toHaveLength(5);
    const all = await list('limit=1000');
    expect([...(await list('limit=2')), ...(await list('limit=2&offset=2')), ...(await list('limit=2&offset=4'))]).toEqual(all);
    expect(await list('limit=2&offset=5')).toEqual([]);
    expect((await app.inject({ url: '/v1/pools/ui/allocations?offset=-1' })).statusCode).toBe(400);
    expect((await app.inject({ url: `/v1/pools/ui/allocations?q=${'x'.repeat(201)}` })).statusCode).toBe(400);
  });

  it('streams a "changed" notice when pools or the registry move, and ends streams on close', async () => {
    const s = await openStream(`${base}/v1/live`);
    expect(s.status).toBe(200);
    await waitFor(() => s.events.some((e) => e.event === 'hello'), 5000);
    // Let the first look record the fingerprint, then change IPAM.
    await waitFor(() => registry.listeners.size > 0, 5000);
    const r = await app.inject({
      method: 'PUT',
      url: `/v1/pools/ui/allocations/${encodeURIComponent('/live/new')}`,
      headers: { authorization: 'Bearer s3cret' },
      payload: {},
    });
    expect(r.statusCode).toBe(201);
    await waitFor(
      () => s.events.some((e) => e.event === 'changed' && JSON.parse(e.data).topics.includes('pools')),
      5000,
      () => JSON.stringify(s.events),
    );
    registry.move();
    await waitFor(
      () => s.events.some((e) => e.event === 'changed' && JSON.parse(e.data).topics.includes('registry')),
      5000,
      () => JSON.stringify(s.events),
    );
    s.close();
    await s.ended;
    // The last client gone, the hub stops listening to the registry.
    await waitFor(() => registry.listeners.size === 0, 5000);
  });
});

describe('live stream limits', () => {
  it('refuses clients beyond the bound and never holds up close()', async () => {
    const registry = fakeRegistry();
    const hub = new LiveHub({
      sources: { registry, nginx: { status: () => nginxStatus }, poolsVersion: async () => '0' },
      logger: silentLogger,
      maxClients: 2,
      heartbeatMs: 50,
    });
    const app = await testApp((a) => {
      a.addHook('preClose', async () => hub.close());
      a.get('/live', async (_req, reply) => {
        if (!hub.canAccept()) return reply.status(503).send({ code: 'NOT_READY' });
        reply.hijack();
        hub.attach(reply.raw);
      });
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/live`;
    const a = await openStream(url);
    const b = await openStream(url);
    await waitFor(() => hub.size() === 2, 5000);
    const c = await openStream(url);
    expect([a.status, b.status, c.status]).toEqual([200, 200, 503]);
    const t0 = Date.now();
    await app.close();
    await Promise.all([a.ended, b.ended]);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(hub.canAccept()).toBe(false);
  });

  it('a burst of registry changes costs a few looks and one notice, not one each', async () => {
    const registry = fakeRegistry();
    let looks = 0;
    const hub = new LiveHub({
      sources: { registry, nginx: { status: () => nginxStatus }, poolsVersion: async () => String(++looks && 0) },
      logger: silentLogger,
      pollMs: 60_000,
    });
    const app = await testApp((a) => {
      a.addHook('preClose', async () => hub.close());
      a.get('/live', async (_req, reply) => {
        reply.hijack();
        hub.attach(reply.raw);
      });
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const s = await openStream(`http://127.0.0.1:${(app.server.address() as { port: number }).port}/live`);
      await waitFor(() => looks >= 1, 5000);
      for (let i = 0; i < 1000; i++) registry.move();
      await waitFor(() => s.events.some((e) => e.event === 'changed'), 5000);
      expect(s.events.filter((e) => e.event === 'changed')).toEqual([{ event: 'changed', data: JSON.stringify({ topics: ['registry'] }) }]);
      expect(looks).toBeLessThanOrEqual(3);
    } finally {
      await app.close();
    }
  });
});
