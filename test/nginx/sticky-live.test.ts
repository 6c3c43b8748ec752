/**
 * berth.sticky with a real Nginx in both modes (BERTH_NGINX_DYNAMIC=off: `hash … consistent` in the
 * files; lua: the balancer's rendezvous hashing), driven by the sync (and in lua mode the pusher)
 * from an in-memory registry. Backends answer their own name, so every answer says which endpoint
 * served it. `cookie`: a client with a cookie jar stays put, fresh clients spread, and when an
 * endpoint leaves only its own clients move (a new one takes only clients that move to it).
 * `ip`: distinct loopback source addresses (all of 127/8 is loopback on Linux) do the same.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log';
import type { Service } from '../../src/model/types';
import { commandControl, type NginxControl } from '../../src/nginx/command';
import { httpLuaAdmin } from '../../src/nginx/lua/client';
import { LuaPusher } from '../../src/nginx/lua/pusher';
import { InMemoryProblemSink } from '../../src/nginx/store';
import { NginxSync } from '../../src/nginx/sync';
import { InMemoryRegistryView } from '../../src/registry/view';
import { describeWithTools } from '../support/tools';
import { aService, anEndpoint, RecordingStore, tmpDir, waitFor, withEndpoints } from './helpers';
import { makePair } from './tls-fixtures';
import { freePort, stagedSyncOptions, startEcho, startNginx } from './nginx-harness';
import { startLuaNginx } from './lua-harness';

jest.setTimeout(120_000);

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

type Mode = 'off' | 'lua';

interface Harness {
  httpPort: number;
  view: InMemoryRegistryView;
  store: RecordingStore;
  counts: { reloads: number };
  /** Lua mode: the pusher has written the current catalog into the dict (always true in file mode). */
  pushed(): Promise<boolean>;
  reconfigurations(): number;
}

/** berth's file sync (and, in lua mode, its pusher) against a real Nginx; returns once the first run is applied and confirmed. */
async function harness(mode: Mode, services: Service[], tls?: { dir: string; port: number }): Promise<Harness> {
  const nginx = mode === 'lua' ? await startLuaNginx({ berthHttpConf: true }) : await startNginx();
  cleanups.push(() => nginx.stop());
  const testCmd = 'candidateTestCmd' in nginx ? nginx.candidateTestCmd : nginx.testCmd;
  const adminListen = 'adminListen' in nginx ? nginx.adminListen : `127.0.0.1:${nginx.adminPort}`;
  const real = commandControl({ testCmd, reloadCmd: nginx.reloadCmd, timeoutMs: 10000 });
  const counts = { reloads: 0 };
  const control: NginxControl = { test: (target) => real.test(target), reload: () => (counts.reloads++, real.reload()) };
  const view = new InMemoryRegistryView();
  view.set(services);
  const metrics = new Registry();
  const store = new RecordingStore();
  let pusher: LuaPusher | null = null;
  if (mode === 'lua') {
    pusher = new LuaPusher({ admin: httpLuaAdmin(`http://${adminListen}`, 2000), view, logger: silentLogger, metricsRegistry: metrics });
    const p = pusher;
    cleanups.push(async () => p.stop());
    pusher.start();
  }
  const sync = new NginxSync(
    stagedSyncOptions(nginx, {
      view,
      store,
      problems: new InMemoryProblemSink(),
      control,
      ...(tls ? { httpsListen: `127.0.0.1:${tls.port}`, tlsDir: tls.dir } : {}),
      testCmd,
      adminListen,
      intervalMs: 300,
      maxRemovalRatio: 0.5,
      metricsRegistry: metrics,
      dynamic: mode,
      ...(pusher ? { beforeApply: () => pusher.flush() } : {}),
    }),
  );
  cleanups.push(() => sync.stop());
  await sync.start();
  // Traffic may route before the run is recorded: it ends with the reload's confirmation, after
  // which only the new generation answers. Probing earlier could reach an old worker.
  await waitFor(() => store.all.some((r) => r.status === 'applied'), 'the first sync run to be applied and confirmed', 60_000);
  const pushed = async () => pusher === null || pusher.status().pushedPosition === (await view.position());
  // In lua mode the admin locations arrive with the first reload: the dict is filled after it.
  await waitFor(pushed, 'the endpoints to be pushed', 30_000);
  return { httpPort: nginx.httpPort, view, store, counts, pushed, reconfigurations: () => nginx.reconfigurations() };
}

/** Changes the catalog; returns once a run applied it and Nginx confirmed it (file mode) or the dict holds it (lua mode). */
async function change(h: Harness, mode: Mode, services: Service[]): Promise<void> {
  const before = h.store.all.length;
  h.view.set(services);
  if (mode === 'off') await waitFor(() => h.store.all.slice(before).some((r) => r.status === 'applied'), 'the change to be applied and confirmed', 60_000);
  else await waitFor(h.pushed, 'the change to be pushed', 30_000);
}

interface Backend {
  name: string;
  port: number;
  /** TCP connections accepted so far. */
  connections(): number;
}

/** HTTP backends answering their own name (`s0`, `s1`, …; with `echo`, then the path they received), counting the connections they accept. */
async function backends(count: number, prefix = 's', echo = false): Promise<Backend[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      let accepted = 0;
      const name = `${prefix}${i}`;
      const server = http.createServer((req, res) => res.end(echo ? `${name} ${req.url}` : name));
      server.on('connection', () => accepted++);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      cleanups.push(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
      return { name, port: (server.address() as net.AddressInfo).port, connections: () => accepted };
    }),
  );
}

const service = (appId: string, domain: string, sticky: 'cookie' | 'ip', bs: Array<{ name: string; port: number }>) =>
  aService({ appId, domains: [domain], options: { sticky } }, withEndpoints(...bs.map((b) => anEndpoint('127.0.0.1', b.port, `task.${b.name}`))));

interface Answer {
  status: number;
  body: string;
  setCookie: string | null;
}

/** One request on a fresh connection (HTTPS with `tls`, by SNI `host`, the test certificate accepted). */
function get(
  port: number,
  host: string,
  opts: { cookie?: string; localAddress?: string; tls?: boolean; path?: string } = {},
): Promise<Answer & { hsts?: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host };
    if (opts.cookie !== undefined) headers.cookie = opts.cookie;
    const base = { host: '127.0.0.1', port, path: opts.path ?? '/', headers, agent: false, timeout: 5000, localAddress: opts.localAddress };
    const onResponse = (res: http.IncomingMessage) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        const sc = res.headers['set-cookie'];
        const hsts = res.headers['strict-transport-security'];
        resolve({ status: res.statusCode ?? 0, body, setCookie: sc && sc.length > 0 ? sc.join('\n') : null, ...(hsts ? { hsts } : {}) });
      });
    };
    const req = opts.tls ? https.request({ ...base, servername: host, rejectUnauthorized: false }, onResponse) : http.request(base, onResponse);
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** A browser-like client: keeps the cookies the proxy sets (one per name, every one `Path=/`) and sends them all back. */
class Client {
  readonly jar = new Map<string, string>();
  readonly setCookies: string[] = [];
  constructor(
    private readonly port: number,
    private readonly host: string,
    private readonly tls = false,
  ) {}
  async get(path = '/'): Promise<string> {
    const cookie = this.jar.size > 0 ? [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') : undefined;
    const r = await get(this.port, this.host, { cookie, tls: this.tls, path });
    expect(r.status).toBe(200);
    if (r.setCookie) {
      this.setCookies.push(r.setCookie);
      const [name, value] = r.setCookie.split(';')[0].split('=');
      this.jar.set(name, value);
    }
    return r.body;
  }
  /** `n` requests; throws unless every one was served by the same endpoint, which it returns. */
  async same(n: number, path = '/'): Promise<string> {
    const first = await this.get(path);
    for (let i = 1; i < n; i++) expect(await this.get(path)).toBe(first);
    return first;
  }
}

const COOKIE = /^(berth_[0-9a-f]{16})=([0-9a-f]{32}); Path=\/; HttpOnly; SameSite=Lax$/;

for (const mode of ['off', 'lua'] as const) {
  describeWithTools(mode === 'lua' ? ['nginx-lua'] : ['nginx'], `berth.sticky with a real Nginx (BERTH_NGINX_DYNAMIC=${mode})`, () => {
    it('cookie: a client stays on one endpoint; clients spread; an endpoint leaving or joining moves only the clients it must', async () => {
      const pool = await backends(4);
      const [s0, s1, s2, s3] = pool;
      const domain = 'c.sticky.test';
      const h = await harness(mode, [service('/c', domain, 'cookie', [s0, s1, s2])]);
      const reloads = h.counts.reloads;
      const generations = h.reconfigurations();

      // One client, 50 requests: one endpoint, the cookie set once, connections to it kept alive.
      const one = new Client(h.httpPort, domain);
      const connectionsBefore = pool.reduce((n, b) => n + b.connections(), 0);
      const home = await one.same(50);
      expect(one.setCookies).toHaveLength(1);
      expect(one.setCookies[0]).toMatch(COOKIE);
      expect(pool.reduce((n, b) => n + b.connections(), 0) - connectionsBefore).toBeLessThanOrEqual(4);
      expect(['s0', 's1', 's2']).toContain(home);

      // Fresh clients: each sticks, and together they use more than one endpoint.
      const clients = Array.from({ length: 30 }, () => new Client(h.httpPort, domain));
      const before = new Map<Client, string>();
      for (const c of clients) before.set(c, await c.same(5));
      const used = new Set(before.values());
      expect(used.size).toBeGreaterThanOrEqual(2);
      expect(clients.every((c) => c.setCookies.length === 1)).toBe(true);
      console.log(
        `sticky cookie (${mode}): 30 clients over 3 endpoints: ${[...used].sort().map((n) => `${n} ${[...before.values()].filter((v) => v === n).length}`)}`,
      );

      // The endpoint of the first fresh client leaves (its backend keeps running: only the
      // catalog changes). Its clients move to live endpoints; every other client stays.
      const gone = before.get(clients[0])!;
      const left = [s0, s1, s2].filter((b) => b.name !== gone);
      await change(h, mode, [service('/c', domain, 'cookie', left)]);
      await waitFor(async () => (await clients[0].get()) !== gone, 'the removed endpoint to stop serving');
      const afterRemoval = new Map<Client, string>();
      for (const c of clients) afterRemoval.set(c, await c.same(3));
      for (const c of clients) {
        if (before.get(c) === gone) expect(left.map((b) => b.name)).toContain(afterRemoval.get(c));
        else expect(afterRemoval.get(c)).toBe(before.get(c));
      }

      // A new endpoint joins: a client either stays or moves to the new one, never between old ones.
      await change(h, mode, [service('/c', domain, 'cookie', [...left, s3])]);
      await waitFor(async () => {
        for (const c of clients) if ((await c.get()) === 's3') return true;
        return false;
      }, 'the new endpoint to take clients');
      let moved = 0;
      for (const c of clients) {
        const now = await c.same(3);
        if (now === 's3') moved++;
        else expect(now).toBe(afterRemoval.get(c));
      }
      // A fair share is a third of the clients (10 of 30); all of them moving would be round robin.
      console.log(`sticky cookie (${mode}): a third endpoint joining moved ${moved} of 30 clients`);
      expect(moved).toBeGreaterThanOrEqual(1);
      expect(moved).toBeLessThanOrEqual(20);
      // Cookies were only ever set on a client's first request.
      expect(clients.every((c) => c.setCookies.length === 1)).toBe(true);

      if (mode === 'lua') {
        // Endpoint changes went to the dict: no file changed, Nginx never reloaded.
        expect(h.counts.reloads).toBe(reloads);
        expect(h.reconfigurations()).toBe(generations);
      }
    });

    it('cookie: a malformed or hostile cookie is replaced, never used; a dead endpoint is retried on the next one', async () => {
      const [s0, s1] = await backends(2);
      const deadPort = await freePort(); // nothing listens there
      const dead = { name: 'dead', port: deadPort };
      const domain = 'r.sticky.test';
      const h = await harness(mode, [service('/r', domain, 'cookie', [dead, s0, s1])]);
      const first = await get(h.httpPort, domain);
      expect(first.status).toBe(200);
      const name = COOKIE.exec(first.setCookie ?? '')?.[1];
      expect(name).toBeDefined();
      for (const value of ['', 'x', 'A'.repeat(32), `${'a'.repeat(32)}0`, '../../etc/passwd', '"; Path=/x', 'a'.repeat(4000)]) {
        const r = await get(h.httpPort, domain, { cookie: `${name}=${value}` });
        expect(r.status).toBe(200);
        expect(r.setCookie).toMatch(COOKIE);
        expect(COOKIE.exec(r.setCookie!)![2]).not.toBe(value);
      }
      // Clients whose best endpoint is dead are served by their next best, and stay there.
      for (let i = 0; i < 15; i++) expect(['s0', 's1']).toContain(await new Client(h.httpPort, domain).same(3));
    });

    it('cookie over HTTPS (berth.tls=on): marked Secure there, not on plain HTTP; HSTS still sent; clients stick', async () => {
      const bs = await backends(3);
      const domain = 'tls.sticky.test';
      const certs = tmpDir('berth-sticky-certs-');
      makePair(certs, domain, [domain]);
      const httpsPort = await freePort();
      const svc = aService(
        { appId: '/tls', domains: [domain], tls: 'on', hsts: 600, options: { sticky: 'cookie' } },
        withEndpoints(...bs.map((b) => anEndpoint('127.0.0.1', b.port, `task.${b.name}`))),
      );
      const h = await harness(mode, [svc], { dir: certs, port: httpsPort });
      const secure = await get(httpsPort, domain, { tls: true });
      expect(secure.status).toBe(200);
      expect(secure.hsts).toBe('max-age=600');
      expect(secure.setCookie).toMatch(/^berth_[0-9a-f]{16}=[0-9a-f]{32}; Path=\/; HttpOnly; SameSite=Lax; Secure$/);
      expect((await get(h.httpPort, domain)).setCookie).toMatch(COOKIE);
      const seen = new Set<string>();
      for (let i = 0; i < 15; i++) seen.add(await new Client(httpsPort, domain, true).same(5));
      expect(seen.size).toBeGreaterThanOrEqual(2);
    });

    it('cookie on two apps sharing one domain by path (berth.path), plain and HTTPS: each app sticks by its own cookie; HSTS kept', async () => {
      const web = await backends(3, 'w');
      const api = await backends(3, 'a', true);
      const domain = 'shop.sticky.test';
      const certs = tmpDir('berth-sticky-paths-certs-');
      makePair(certs, domain, [domain]);
      const httpsPort = await freePort();
      const eps = (bs: Backend[]) => withEndpoints(...bs.map((b) => anEndpoint('127.0.0.1', b.port, `task.${b.name}`)));
      const h = await harness(
        mode,
        [
          aService({ appId: '/web', domains: [domain], tls: 'on', options: { sticky: 'cookie' } }, eps(web)),
          aService({ appId: '/api', domains: [domain], paths: ['/api'], pathStrip: true, tls: 'on', hsts: 600, options: { sticky: 'cookie' } }, eps(api)),
        ],
        { dir: certs, port: httpsPort },
      );
      for (const [port, tls] of [
        [h.httpPort, false],
        [httpsPort, true],
      ] as const) {
        const toWeb = await get(port, domain, { tls, path: '/page' });
        const toApi = await get(port, domain, { tls, path: '/api/users' });
        expect(toWeb.body).toMatch(/^w\d$/);
        expect(toApi.body).toMatch(/^a\d \/users$/);
        const secure = tls ? '; Secure' : '';
        expect(toWeb.setCookie).toMatch(new RegExp(`^berth_[0-9a-f]{16}=[0-9a-f]{32}; Path=/; HttpOnly; SameSite=Lax${secure}$`));
        expect(toApi.setCookie).toMatch(new RegExp(`^berth_[0-9a-f]{16}=[0-9a-f]{32}; Path=/; HttpOnly; SameSite=Lax${secure}$`));
        // One cookie per app: the two names differ, so one browser holds both.
        expect(toWeb.setCookie!.split('=')[0]).not.toBe(toApi.setCookie!.split('=')[0]);
        // The member's own add_header (HSTS) does not drop its Set-Cookie, nor the reverse.
        expect(toApi.hsts).toBe(tls ? 'max-age=600' : undefined);
        expect(toWeb.hsts).toBeUndefined();
        // Browser-like clients visit both apps with one jar: each app keeps each client on one endpoint, and clients spread.
        const seenWeb = new Set<string>();
        const seenApi = new Set<string>();
        for (let i = 0; i < 15; i++) {
          const c = new Client(port, domain, tls);
          const w = await c.same(3, '/page');
          // With the cookie the request runs in the location's `if`: the prefix is still stripped there.
          const a = await c.same(3, '/api/x');
          expect(a).toMatch(/^a\d \/x$/);
          expect(await c.same(2, '/')).toBe(w);
          expect(await c.same(2, '/api/x')).toBe(a);
          expect(c.jar.size).toBe(2);
          expect(c.setCookies).toHaveLength(2);
          seenWeb.add(w);
          seenApi.add(a);
        }
        expect(seenWeb.size).toBeGreaterThanOrEqual(2);
        expect(seenApi.size).toBeGreaterThanOrEqual(2);
      }
    });

    it('ip: the same source address sticks; different addresses spread; a leaving endpoint moves only its own', async () => {
      const [s0, s1, s2] = await backends(3);
      const domain = 'i.sticky.test';
      const h = await harness(mode, [service('/i', domain, 'ip', [s0, s1, s2])]);
      const addresses = Array.from({ length: 30 }, (_, i) => `127.0.0.${i + 2}`);
      const from = async (localAddress: string, n: number) => {
        const first = await get(h.httpPort, domain, { localAddress });
        expect(first.status).toBe(200);
        expect(first.setCookie).toBeNull();
        for (let i = 1; i < n; i++) expect((await get(h.httpPort, domain, { localAddress })).body).toBe(first.body);
        return first.body;
      };
      const before = new Map<string, string>();
      for (const a of addresses) before.set(a, await from(a, 5));
      expect(new Set(before.values()).size).toBeGreaterThanOrEqual(2);

      const gone = before.get(addresses[0])!;
      const left = [s0, s1, s2].filter((b) => b.name !== gone);
      await change(h, mode, [service('/i', domain, 'ip', left)]);
      await waitFor(async () => (await get(h.httpPort, domain, { localAddress: addresses[0] })).body !== gone, 'the removed endpoint to stop serving');
      for (const a of addresses) {
        const now = await from(a, 3);
        if (before.get(a) === gone) expect(left.map((b) => b.name)).toContain(now);
        else expect(now).toBe(before.get(a));
      }
    });

    if (mode === 'off') {
      it('ip on a tcp service: the stream upstream keeps each source address on one endpoint', async () => {
        const echoes = await Promise.all(['e0', 'e1', 'e2'].map((p) => startEcho(`${p}:`)));
        cleanups.push(async () => void (await Promise.all(echoes.map((e) => e.close()))));
        const listen = await freePort();
        const tcp = aService(
          { appId: '/t', domains: ['t.sticky.test'], proxy: 'tcp', listen, options: { sticky: 'ip' } },
          withEndpoints(...echoes.map((e, i) => anEndpoint('127.0.0.1', e.port, `task.e${i}`))),
        );
        await harness(mode, [tcp]);
        const hello = (localAddress: string) =>
          new Promise<string>((resolve, reject) => {
            const s = net.connect({ host: '127.0.0.1', port: listen, localAddress }, () => s.write('hi'));
            s.setTimeout(5000, () => s.destroy(new Error('tcp timed out')));
            s.once('data', (d) => (resolve(d.toString().split(':')[0]), s.destroy()));
            s.once('error', reject);
          });
        const seen = new Set<string>();
        for (let i = 0; i < 20; i++) {
          const a = `127.0.1.${i + 2}`;
          const first = await hello(a);
          for (let k = 0; k < 3; k++) expect(await hello(a)).toBe(first);
          seen.add(first);
        }
        expect(seen.size).toBeGreaterThanOrEqual(2);
      });
    }
  });
}
