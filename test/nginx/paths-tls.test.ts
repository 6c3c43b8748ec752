/**
 * TLS on a domain shared by path prefix, through a real Nginx (docs/nginx.md "Path prefixes"): one
 * HTTPS server for the name carrying every app's prefixes, redirect and HSTS per app's locations.
 */
import http from 'node:http';
import https from 'node:https';
import { describeWithTools } from '../support/tools';
import { aService, anEndpoint, tmpDir, waitFor, withEndpoints } from './helpers';
import { freePort, stagedSync, startBackend, startNginx } from './nginx-harness';
import { makePair } from './tls-fixtures';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

const SHOP = 'shop.example.test';

function get(port: number, path: string, secure: boolean): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const opts = { host: '127.0.0.1', port, path, headers: { host: SHOP }, agent: false, timeout: 5000 };
    const done = (res: http.IncomingMessage) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    };
    const req = secure ? https.request({ ...opts, servername: SHOP, rejectUnauthorized: false }, done) : http.request(opts, done);
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

describeWithTools(['nginx', 'openssl'], 'TLS on a domain shared by path with a real Nginx', () => {
  let httpPort: number;
  let httpsPort: number;

  beforeAll(async () => {
    const nginx = await startNginx();
    cleanups.push(() => nginx.stop());
    const backends = await Promise.all(['web', 'api', 'plain'].map(startBackend));
    cleanups.push(async () => void (await Promise.all(backends.map((b) => b.close()))));
    httpPort = nginx.httpPort;
    httpsPort = await freePort();
    const certs = tmpDir('berth-paths-tls-dir-');
    makePair(certs, SHOP, [SHOP]);
    const ep = (i: number) => withEndpoints(anEndpoint('127.0.0.1', backends[i].port, `task.${backends[i].name}`));
    const { store, sync } = stagedSync(
      nginx,
      [
        aService({ appId: '/web', domains: [SHOP], dns: 'proxy', tls: 'on', hsts: 600 }, ep(0)),
        aService({ appId: '/api', domains: [SHOP], dns: 'proxy', paths: ['/api'], pathStrip: true, tls: 'redirect' }, ep(1)),
        aService({ appId: '/plain', domains: [SHOP], dns: 'proxy', paths: ['/plain'] }, ep(2)),
      ],
      { httpsListen: `127.0.0.1:${httpsPort}`, tlsDir: certs },
    );
    cleanups.push(() => sync.stop());
    await sync.start();
    // Applied means confirmed: the new generation alone answers.
    await waitFor(() => store.all.some((r) => r.status === 'applied'), 'the first sync to be applied', 30_000);
    expect(store.all.find((r) => r.status === 'applied')?.offenders).toEqual([]);
  }, 60_000);

  it('HTTPS serves every prefix of the domain, with the HSTS of the app that owns the location', async () => {
    const root = await get(httpsPort, '/', true);
    expect(root).toMatchObject({ status: 200, body: 'web' });
    expect(root.headers['strict-transport-security']).toBe('max-age=600');
    const api = await get(httpsPort, '/api/x', true);
    expect(api).toMatchObject({ status: 200, body: 'api' });
    expect(api.headers['strict-transport-security']).toBeUndefined();
    expect(await get(httpsPort, '/plain/x', true)).toMatchObject({ status: 200, body: 'plain' });
  });

  it('plain HTTP redirects only the prefixes of the app with berth.tls=redirect, and sends no HSTS', async () => {
    const r = await get(httpPort, '/api/users?q=1', false);
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe(`https://${SHOP}:${httpsPort}/api/users?q=1`);
    const root = await get(httpPort, '/', false);
    expect(root).toMatchObject({ status: 200, body: 'web' });
    expect(root.headers['strict-transport-security']).toBeUndefined();
    expect(await get(httpPort, '/plain/x', false)).toMatchObject({ status: 200, body: 'plain' });
  });
});
