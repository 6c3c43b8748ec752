/**
 * TLS termination through a real Nginx: the certificate chosen per SNI (exact and wildcard), the 308
 * redirect, HSTS on HTTPS only, a bad pair costing its app HTTPS (a problem, plain HTTP kept, no
 * redirect) and a renewed pair served after the next sync without any registry change.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { Service } from '../../src/model/types';
import { InMemoryProblemSink } from '../../src/nginx/store';
import { describeWithTools } from '../support/tools';
import { aService, anEndpoint, RecordingStore, tmpDir, waitFor, withEndpoints } from './helpers';
import { freePort, stagedSync, startBackend, startNginx } from './nginx-harness';
import { makePair } from './tls-fixtures';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(port: number, host: string, path: string, secure: boolean): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const opts = { host: '127.0.0.1', port, path, headers: { host }, agent: false, timeout: 5000 };
    const done = (res: http.IncomingMessage) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    };
    const req = secure ? https.request({ ...opts, servername: host, rejectUnauthorized: false }, done) : http.request(opts, done);
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** The certificate Nginx presents for `servername`. */
function peer(port: number, servername: string): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] }, () => {
      const cert = s.getPeerCertificate();
      s.end();
      resolve(cert);
    });
    s.on('error', reject);
  });
}

describeWithTools(['nginx', 'openssl'], 'TLS termination with a real Nginx', () => {
  let httpPort: number;
  let httpsPort: number;
  let certs: string;
  let problems: InMemoryProblemSink;
  let store: RecordingStore;

  beforeAll(async () => {
    const nginx = await startNginx();
    cleanups.push(() => nginx.stop());
    const backend = await startBackend('app');
    cleanups.push(() => backend.close());
    httpPort = nginx.httpPort;
    httpsPort = await freePort();
    certs = tmpDir('berth-tls-dir-');
    makePair(certs, 'exact.example.test', ['exact.example.test']);
    makePair(certs, '_.wild.test', ['*.wild.test']);
    makePair(certs, 'badkey.example.test', ['badkey.example.test']);
    fs.copyFileSync(`${certs}/exact.example.test.key`, `${certs}/badkey.example.test.key`);
    makePair(certs, 'badname.example.test', ['someone-else.test']);
    const ep = (id: string) => withEndpoints(anEndpoint('127.0.0.1', backend.port, `task.${id}`));
    const services: Service[] = [
      aService({ appId: '/exact', domains: ['exact.example.test'], tls: 'on', hsts: 600 }, ep('exact')),
      aService({ appId: '/wild', domains: ['app.wild.test'], tls: 'redirect' }, ep('wild')),
      aService({ appId: '/badkey', domains: ['badkey.example.test'], tls: 'on' }, ep('badkey')),
      aService({ appId: '/badname', domains: ['badname.example.test'], tls: 'redirect' }, ep('badname')),
      aService({ appId: '/plain', domains: ['plain.example.test'] }, ep('plain')),
    ];
    const staged = stagedSync(nginx, services, { httpsListen: `127.0.0.1:${httpsPort}`, tlsDir: certs });
    ({ store, problems } = staged);
    const sync = staged.sync;
    cleanups.push(() => sync.stop());
    await sync.start();
    await waitFor(() => store.all.some((r) => r.status === 'applied'), 'the first sync to be applied', 30_000);
    expect(store.all.find((r) => r.status === 'applied')?.offenders).toEqual([]);
  }, 60_000);

  it('serves the exact certificate and the wildcard one per SNI', async () => {
    expect((await peer(httpsPort, 'exact.example.test')).subject.CN).toBe('exact.example.test');
    expect((await peer(httpsPort, 'app.wild.test')).subject.CN).toBe('*.wild.test');
    const a = await get(httpsPort, 'exact.example.test', '/', true);
    expect(a).toMatchObject({ status: 200, body: 'app' });
  });

  it('sends HSTS on HTTPS only', async () => {
    expect((await get(httpsPort, 'exact.example.test', '/', true)).headers['strict-transport-security']).toBe('max-age=600');
    const plain = await get(httpPort, 'exact.example.test', '/', false);
    expect(plain.status).toBe(200);
    expect(plain.headers['strict-transport-security']).toBeUndefined();
  });

  it('redirect answers 308 to HTTPS with the same host and path, and the port when not 443', async () => {
    const r = await get(httpPort, 'app.wild.test', '/some/path?q=1', false);
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe(`https://app.wild.test:${httpsPort}/some/path?q=1`);
    expect(await get(httpsPort, 'app.wild.test', '/some/path?q=1', true)).toMatchObject({ status: 200, body: 'app' });
  });

  it('a bad pair is a problem for its app only, which keeps plain HTTP (and does not redirect)', async () => {
    const byApp = (id: string) => [...problems.problems.values()].filter((p) => p.appId === id);
    expect(byApp('/badkey')).toEqual([expect.objectContaining({ code: 'TLS_CERT_INVALID', message: expect.stringMatching(/does not match/) })]);
    expect(byApp('/badname')).toEqual([expect.objectContaining({ code: 'TLS_CERT_INVALID', message: expect.stringMatching(/no redirect/) })]);
    expect(byApp('/exact')).toEqual([]);
    expect(await get(httpPort, 'badkey.example.test', '/', false)).toMatchObject({ status: 200, body: 'app' });
    expect(await get(httpPort, 'badname.example.test', '/x', false)).toMatchObject({ status: 200, body: 'app' });
    expect(await get(httpPort, 'plain.example.test', '/', false)).toMatchObject({ status: 200, body: 'app' });
    // Nginx never got a server for the bad names on HTTPS: they fall to another certificate.
    expect((await peer(httpsPort, 'badkey.example.test')).subject.CN).not.toBe('badkey.example.test');
  });

  it('a renewed pair is served after the next sync, without a registry change', async () => {
    const before = await peer(httpsPort, 'exact.example.test');
    const runs = store.all.length;
    makePair(certs, 'exact.example.test', ['exact.example.test']);
    await waitFor(() => store.all.slice(runs).some((r) => r.status === 'applied' && r.reloaded), 'a sync that reloads the renewed certificate', 15_000);
    const after = await peer(httpsPort, 'exact.example.test');
    expect(after.subject.CN).toBe('exact.example.test');
    expect(after.fingerprint256).not.toBe(before.fingerprint256);
    expect(after.serialNumber).not.toBe(before.serialNumber);
  }, 30_000);
});
